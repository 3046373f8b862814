"""The six latent regularizers of SPEC, each a per-sample loss z[M,B,K] -> [M,B].

A regularizer watches one layer (`encoder` or `bottleneck`) and optionally applies only to labelled
samples: with label affinities the batch loss is sum(loss_i * w_i) / sum(w_i), where
w_i = clamp(sum_label affinity * label_i, 0, 1), and a member whose batch has no labelled sample
skips the term. Without affinities the batch loss is the mean. The step weight
(`weight` multiplier times the schedule's value) is applied by the training module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Optional

import torch

torch.set_flush_denormal(True)  # ((cos+1)/2)**100 underflows: denormals would make CPU steps ~50x slower
from torch import Tensor
from torch.nn import functional as F

from excolor.core.concepts import Concept
from excolor.core.model import LAYERS


@dataclass
class RegularizerConfig:
    """Fields shared by every regularizer; subclasses add their own parameters.

    These dataclasses are the one place a default is set: they are the schemas Hydra composes each
    conf/regularizers/*.yaml onto (registered in excolor/run/config.py), and what each class is built from.
    """

    _target_: str = ""
    weight: float = 1.0  # multiplier of the schedule's weight track: the trainer applies it, not the class
    layer: str = "bottleneck"
    labels: Optional[dict[str, float]] = None


@dataclass
class UnitarityConfig(RegularizerConfig):
    _target_: str = "excolor.core.regularizers.Unitarity"


@dataclass
class AnchorConfig(RegularizerConfig):
    """Where the anchor points: with `axis` and `vector` null, at each pole of the concept (its dim, its
    sign, times `sign`), every pole with its own samples when `pole_labels` gives their affinity."""

    _target_: str = "excolor.core.regularizers.Anchor"
    axis: Optional[int] = None  # a fixed direction: sign * one-hot(axis) ...
    sign: float = 1.0
    vector: Optional[list[float]] = None  # ... or an explicit K-vector
    pole_labels: Optional[float] = None  # affinity to each pole's own label (concept poles only)


@dataclass
class AngularAnchorConfig(AnchorConfig):
    _target_: str = "excolor.core.regularizers.AngularAnchor"


@dataclass
class AntiAnchorConfig(AnchorConfig):
    _target_: str = "excolor.core.regularizers.AntiAnchor"
    sign: float = -1.0
    form: str = "hemisphere"  # hemisphere: max(cos, 0) | full: (cos + 1) / 2


@dataclass
class SeparateConfig(RegularizerConfig):
    _target_: str = "excolor.core.regularizers.Separate"
    power: float = 100.0
    duplicate_cosine: float = 1.0 - 1e-6  # pairs at least this close count as one point, not a pair


@dataclass
class AxisAlignedSubspaceConfig(RegularizerConfig):
    _target_: str = "excolor.core.regularizers.AxisAlignedSubspace"
    dims: Optional[list[int]] = None  # null: the concept's dims
    invert: bool = False


@dataclass
class PlacementConfig(RegularizerConfig):
    """Every sample's cosine with the concept's axis pulled toward its similarity to the concept, raised to
    `power`: (cos(z, a) - s ** power) ** 2, s read from the soft label `label` (labels.concepts.<label>,
    e.g. source likeness with the concept's colour and hard false)."""

    _target_: str = "excolor.core.regularizers.Placement"
    label: str = "similarity"
    power: float = 1.5


@dataclass(frozen=True)
class Context:
    """What a regularizer is built for, besides its own settings: the bottleneck it watches and the
    concept the run deletes (its poles' dims, directions and label names)."""

    k_bottleneck: int
    concept: Optional[Concept] = None

    def needs_concept(self, what: str) -> Concept:
        if self.concept is None:
            raise ValueError(f"{what} follows the concept, but none was given")
        return self.concept


class Regularizer:
    """Base: layer + label affinities + the batch-weighting rule.

    `Regularizer(config, context)`: `config` is an instance of the class's `Config` schema (the checked
    settings of its YAML; its `weight` is the training schedule's multiplier, which the trainer applies,
    not the regularizer), `context` the model it watches. A subclass computes `per_sample`.
    """

    Config: ClassVar[type[RegularizerConfig]] = RegularizerConfig

    def __init__(self, config: RegularizerConfig, context: Context) -> None:
        if not isinstance(config, self.Config):
            raise TypeError(f"{type(self).__name__} takes a {self.Config.__name__}, not a {type(config).__name__}")
        if config.layer not in LAYERS:
            raise ValueError(f"layer={config.layer!r} is not addressable; allowed: {list(LAYERS)}")
        self.config = config
        self.context = context
        self.layer = config.layer
        self.labels = dict(config.labels) if config.labels else None

    @classmethod
    def of(cls, k_bottleneck: int, concept: Optional[Concept] = None, **settings: Any) -> "Regularizer":
        """Built from keyword settings (the schema's defaults fill in the rest), for a bottleneck of K dims."""
        return cls(cls.Config(**settings), Context(k_bottleneck, concept))

    def per_sample(self, z: Tensor) -> Tensor:
        """Loss of every sample: [M,B,K] -> [M,B]."""
        raise NotImplementedError

    def batch_loss(self, z: Tensor, labels: dict[str, Tensor]) -> Tensor:
        """One loss per member [M], following the label-affinity weighting rule."""
        return weighted(self.per_sample(z), labels, self.labels)


def weighted(loss: Tensor, labels: dict[str, Tensor], affinities: dict[str, float] | None) -> Tensor:
    """Per-sample losses [M,B] -> [M]: the batch mean; with label affinities, sum(loss_i * w_i) / sum(w_i)
    with w_i = clamp(sum_label affinity * label_i, 0, 1), and 0 for a member with no labelled sample."""
    if affinities is None:
        return loss.mean(dim=-1)
    w = sum(affinity * labels[name] for name, affinity in affinities.items())
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

    Config = UnitarityConfig

    def per_sample(self, z: Tensor) -> Tensor:
        return (z.norm(dim=-1) - 1.0) ** 2


class Anchor(Regularizer):
    """|z - a|^2: Euclidean pull towards a fixed point, or towards each pole of the concept."""

    Config = AnchorConfig

    def __init__(self, config: AnchorConfig, context: Context) -> None:
        super().__init__(config, context)
        k = context.k_bottleneck
        if config.axis is None and config.vector is None:  # the concept's poles, each with its own samples
            concept = context.needs_concept(f"{type(self).__name__} with axis=null")
            self.parts = [(_direction(k, pole.dim, config.sign * pole.sign, None), self._pole_labels(pole.name))
                          for pole in concept.poles]
        else:
            self.parts = [(_direction(k, config.axis or 0, config.sign, config.vector), self.labels)]
        self.point = self.parts[0][0]

    def _pole_labels(self, pole: str) -> dict[str, float] | None:
        """A pole's affinities: the configured ones plus `pole_labels` for the pole's own label."""
        if self.config.pole_labels is None:
            return self.labels
        return {**(self.labels or {}), pole: float(self.config.pole_labels)}

    def loss(self, z: Tensor, point: Tensor) -> Tensor:
        """Per-sample loss towards `point`: [M,B,K] -> [M,B]."""
        return ((z - point) ** 2).sum(dim=-1)

    def per_sample(self, z: Tensor) -> Tensor:
        return self.loss(z, self.point)

    def batch_loss(self, z: Tensor, labels: dict[str, Tensor]) -> Tensor:
        """The sum over the anchor's points (one per pole), each weighted by its own samples."""
        losses = [weighted(self.loss(z, point), labels, affinities) for point, affinities in self.parts]
        return losses[0] if len(losses) == 1 else torch.stack(losses).sum(dim=0)


class AngularAnchor(Anchor):
    """1 - cos(z, a): angular pull towards a fixed direction."""

    Config = AngularAnchorConfig

    def loss(self, z: Tensor, point: Tensor) -> Tensor:
        return 1.0 - F.cosine_similarity(z, point.expand_as(z), dim=-1)


class AntiAnchor(Anchor):
    """Repulsion from a direction: max(cos, 0) (hemisphere) or (cos + 1) / 2 (full)."""

    Config = AntiAnchorConfig
    FORMS = ("hemisphere", "full")

    def __init__(self, config: AntiAnchorConfig, context: Context) -> None:
        super().__init__(config, context)
        self.form = config.form
        if self.form not in self.FORMS:
            raise ValueError(f"form={self.form!r} is unknown; allowed: {list(self.FORMS)}")

    def loss(self, z: Tensor, point: Tensor) -> Tensor:
        cos = F.cosine_similarity(z, point.expand_as(z), dim=-1)
        return cos.clamp_min(0.0) if self.form == "hemisphere" else (cos + 1.0) / 2.0


class Separate(Regularizer):
    """sum_j ((cos(z_i, z_j) + 1) / 2) ** power over the other samples of the batch."""

    Config = SeparateConfig

    def __init__(self, config: SeparateConfig, context: Context) -> None:
        super().__init__(config, context)
        self.power = config.power
        self.duplicate_cosine = config.duplicate_cosine

    def per_sample(self, z: Tensor) -> Tensor:
        unit = F.normalize(z, dim=-1)
        cos = unit @ unit.transpose(1, 2)
        pressure = ((cos + 1.0) / 2.0) ** self.power
        return torch.where(cos < self.duplicate_cosine, pressure, 0.0).sum(dim=-1)


class AxisAlignedSubspace(Regularizer):
    """sum of z_d^2 over the dims not kept; `invert` penalises the listed dims instead."""

    Config = AxisAlignedSubspaceConfig

    def __init__(self, config: AxisAlignedSubspaceConfig, context: Context) -> None:
        super().__init__(config, context)
        k = context.k_bottleneck
        dims = list(config.dims) if config.dims is not None else context.needs_concept("dims=null").dims
        bad = [d for d in dims if not 0 <= d < k]
        if bad or len(set(dims)) != len(dims):
            raise ValueError(f"dims={dims} must be distinct dims of the bottleneck (0..{k - 1})")
        listed = torch.zeros(k, dtype=torch.bool)
        listed[dims] = True
        self.penalised = listed if config.invert else ~listed

    def per_sample(self, z: Tensor) -> Tensor:
        return (z[..., self.penalised] ** 2).sum(dim=-1)


class Placement(Regularizer):
    """Places every colour on the concept's axis by its similarity: the anchor pins the concept and the
    anti-subspace term empties the axis of everything else, but neither says where orange or pink belong.
    The deletion then damages each colour by how much of it lies on the axis: graded by similarity."""

    Config = PlacementConfig

    def __init__(self, config: PlacementConfig, context: Context) -> None:
        super().__init__(config, context)
        concept = context.needs_concept(type(self).__name__)
        if len(concept.poles) != 1:
            raise ValueError(f"Placement places colours along one axis; concept {concept.name!r} has "
                             f"{len(concept.poles)} poles")
        if config.power <= 0:
            raise ValueError(f"power={config.power} must be > 0")
        pole = concept.poles[0]
        self.axis = _direction(context.k_bottleneck, pole.dim, pole.sign, None)
        self.label, self.power = config.label, config.power

    def loss(self, z: Tensor, similarity: Tensor) -> Tensor:
        """Per-sample loss [M,B] for latents [M,B,K] of colours with these similarities [M,B]."""
        cos = F.cosine_similarity(z, self.axis.expand_as(z), dim=-1)
        return (cos - similarity.to(z.dtype).clamp(0.0, 1.0) ** self.power) ** 2

    def per_sample(self, z: Tensor) -> Tensor:
        """The loss of colours unlike the concept (similarity 0): off the axis."""
        return self.loss(z, z.new_zeros(z.shape[:-1]))

    def batch_loss(self, z: Tensor, labels: dict[str, Tensor]) -> Tensor:
        return self.loss(z, labels[self.label]).mean(dim=-1)


CLASSES: tuple[type[Regularizer], ...] = (Unitarity, Anchor, AngularAnchor, AntiAnchor, Separate, AxisAlignedSubspace,
                                          Placement)
SCHEMAS: dict[str, type[RegularizerConfig]] = {cls.Config._target_: cls.Config for cls in CLASSES}
"""Schema of each regularizer class, keyed by the `_target_` its YAML names."""
