"""The six latent regularizers of SPEC, each a per-sample loss z[M,B,K] -> [M,B].

A regularizer watches one layer (`encoder` or `bottleneck`) and optionally applies only to labelled
samples: with label affinities the batch loss is sum(loss_i * w_i) / sum(w_i), where
w_i = clamp(sum_label affinity * label_i, 0, 1), and a member whose batch has no labelled sample
skips the term. Without affinities the batch loss is the mean. The step weight
(`weight` multiplier times the schedule's value) is applied by the training module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import torch

torch.set_flush_denormal(True)  # ((cos+1)/2)**100 underflows: denormals would make CPU steps ~50x slower
from torch import Tensor
from torch.nn import functional as F

from excolor.model import LAYERS


@dataclass
class RegularizerConfig:
    """Fields shared by every regularizer; subclasses add their own parameters."""

    _target_: str = ""
    weight: float = 1.0
    layer: str = "bottleneck"
    labels: Optional[dict[str, float]] = None


class Regularizer:
    """Base: layer + label affinities + the batch-weighting rule."""

    def __init__(self, k_bottleneck: int, weight: float = 1.0, layer: str = "bottleneck",
                 labels: dict[str, float] | None = None) -> None:
        if layer not in LAYERS:
            raise ValueError(f"layer={layer!r} is not addressable; allowed: {list(LAYERS)}")
        if weight < 0:
            raise ValueError(f"weight={weight} must be >= 0")
        self.k_bottleneck = k_bottleneck  # the per-step weight lives in the training schedule tables
        self.layer = layer
        self.labels = dict(labels) if labels else None

    def per_sample(self, z: Tensor) -> Tensor:
        """Loss of every sample: [M,B,K] -> [M,B]."""
        raise NotImplementedError

    def batch_loss(self, z: Tensor, labels: dict[str, Tensor]) -> Tensor:
        """One loss per member [M], following SPEC's label-affinity weighting rule."""
        loss = self.per_sample(z)
        if self.labels is None:
            return loss.mean(dim=-1)
        w = sum(affinity * labels[name] for name, affinity in self.labels.items())
        w = torch.clamp(w, 0.0, 1.0)
        total = w.sum(dim=-1)
        return torch.where(total > 0, (loss * w).sum(dim=-1) / total.clamp_min(1e-12), 0.0)


def _direction(k_bottleneck: int, axis: int, sign: float, vector: list[float] | None) -> Tensor:
    """The anchor point: `vector` if given (must have K entries), else sign * one-hot(axis)."""
    if vector is not None:
        if len(vector) != k_bottleneck:
            raise ValueError(
                f"vector={list(vector)} has {len(vector)} entries but model.k_bottleneck={k_bottleneck}; "
                f"give exactly {k_bottleneck} values or drop `vector` and use `axis`/`sign`"
            )
        return torch.tensor(list(vector), dtype=torch.float32)
    if not 0 <= axis < k_bottleneck:
        raise ValueError(f"axis={axis} is outside the bottleneck (0..{k_bottleneck - 1})")
    direction = torch.zeros(k_bottleneck)
    direction[axis] = sign
    return direction


class Unitarity(Regularizer):
    """(|z| - 1)^2: keeps the raw encoder output near the unit sphere."""

    def per_sample(self, z: Tensor) -> Tensor:
        return (z.norm(dim=-1) - 1.0) ** 2


class Anchor(Regularizer):
    """|z - a|^2: Euclidean pull towards a fixed point."""

    def __init__(self, axis: int = 0, sign: float = 1.0, vector: list[float] | None = None, **base: Any) -> None:
        super().__init__(**base)
        self.point = _direction(self.k_bottleneck, axis, sign, vector)

    def per_sample(self, z: Tensor) -> Tensor:
        return ((z - self.point) ** 2).sum(dim=-1)


class AngularAnchor(Anchor):
    """1 - cos(z, a): angular pull towards a fixed direction."""

    def per_sample(self, z: Tensor) -> Tensor:
        return 1.0 - F.cosine_similarity(z, self.point.expand_as(z), dim=-1)


class AntiAnchor(Anchor):
    """Repulsion from a direction: max(cos, 0) (hemisphere) or (cos + 1) / 2 (full)."""

    FORMS = ("hemisphere", "full")

    def __init__(self, form: str = "hemisphere", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if form not in self.FORMS:
            raise ValueError(f"form={form!r} is unknown; allowed: {list(self.FORMS)}")
        self.form = form

    def per_sample(self, z: Tensor) -> Tensor:
        cos = F.cosine_similarity(z, self.point.expand_as(z), dim=-1)
        return cos.clamp_min(0.0) if self.form == "hemisphere" else (cos + 1.0) / 2.0


class Separate(Regularizer):
    """sum_j ((cos(z_i, z_j) + 1) / 2) ** power over the other samples of the batch."""

    def __init__(self, power: float = 100.0, duplicate_cosine: float = 1.0 - 1e-6, **base: Any) -> None:
        super().__init__(**base)
        self.power = power
        self.duplicate_cosine = duplicate_cosine

    def per_sample(self, z: Tensor) -> Tensor:
        unit = F.normalize(z, dim=-1)
        cos = unit @ unit.transpose(1, 2)
        pressure = ((cos + 1.0) / 2.0) ** self.power
        return torch.where(cos < self.duplicate_cosine, pressure, 0.0).sum(dim=-1)


class AxisAlignedSubspace(Regularizer):
    """sum of z_d^2 over the dims not kept; `invert` penalises the listed dims instead."""

    def __init__(self, dims: Sequence[int] = (), invert: bool = False, **base: Any) -> None:
        super().__init__(**base)
        dims = list(dims)
        bad = [d for d in dims if not 0 <= d < self.k_bottleneck]
        if bad or len(set(dims)) != len(dims):
            raise ValueError(
                f"dims={dims} must be distinct dims of the bottleneck (0..{self.k_bottleneck - 1})"
            )
        listed = torch.zeros(self.k_bottleneck, dtype=torch.bool)
        listed[dims] = True
        self.penalised = listed if invert else ~listed

    def per_sample(self, z: Tensor) -> Tensor:
        return (z[..., self.penalised] ** 2).sum(dim=-1)


# Schemas: one per class, so a typo or a wrong type in a regularizer's YAML fails before training.
@dataclass
class UnitarityConfig(RegularizerConfig):
    _target_: str = "excolor.regularizers.Unitarity"


@dataclass
class AnchorConfig(RegularizerConfig):
    _target_: str = "excolor.regularizers.Anchor"
    axis: int = 0
    sign: float = 1.0
    vector: Optional[list[float]] = None


@dataclass
class AngularAnchorConfig(AnchorConfig):
    _target_: str = "excolor.regularizers.AngularAnchor"


@dataclass
class AntiAnchorConfig(AnchorConfig):
    _target_: str = "excolor.regularizers.AntiAnchor"
    sign: float = -1.0
    form: str = "hemisphere"


@dataclass
class SeparateConfig(RegularizerConfig):
    _target_: str = "excolor.regularizers.Separate"
    power: float = 100.0
    duplicate_cosine: float = 1.0 - 1e-6


@dataclass
class AxisAlignedSubspaceConfig(RegularizerConfig):
    _target_: str = "excolor.regularizers.AxisAlignedSubspace"
    dims: list[int] = field(default_factory=list)
    invert: bool = False


SCHEMAS: dict[str, type[RegularizerConfig]] = {
    schema._target_: schema
    for schema in (UnitarityConfig, AnchorConfig, AngularAnchorConfig, AntiAnchorConfig,
                   SeparateConfig, AxisAlignedSubspaceConfig)
}
"""Schema of each regularizer class, keyed by the `_target_` its YAML names."""
