"""Sparse, noisy concept labels generated from the colour: P(label) = scale * source(colour) ** power.

A label's source is a built-in colour feature (`SOURCES`), `likeness` (similarity to a colour given by
value), or a function of the user's own, `package.module.function` (rgb [N,3] -> [N] in [0, 1]), that
the run's `plugins` allow (excolor/run/checks.py checks that before training). The concept's poles are
labelled too: their labels are added by excolor/run/checks.py from the concept and `labels.poles`.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
from torch import Tensor

from excolor.core import colors
from excolor.core.concepts import LIKENESS

Source = Callable[[Tensor], Tensor]
SOURCES: dict[str, Source] = {
    "redness": colors.redness,
    "greenness": colors.greenness,
    "blueness": colors.blueness,
    "cyanness": colors.cyanness,
    "vibrancy": colors.vibrancy,
    "desaturation": colors.desaturation,
}
"""The built-in colour features a label can be generated from (besides `likeness`)."""


@dataclass
class LabelSpec:
    """One label. A field left null is filled from the concept's pole of the same name (its source and
    colour) and from `labels.poles` (scale, power)."""

    source: Optional[str] = None
    scale: Optional[float] = None
    power: Optional[float] = None
    rgb: Optional[list[float]] = None  # the colour a `likeness` label measures closeness to (null: the concept's)
    hard: Optional[bool] = None  # null: as `labels.hard`; false: the probability itself (e.g. a similarity)


@dataclass
class PoleLabels:
    """How every pole of the concept is labelled unless `labels.concepts.<pole>` says otherwise."""

    scale: Optional[float] = None
    power: Optional[float] = None


@dataclass
class LabelsConfig:
    """`hard`: a Bernoulli draw per sample (sparse labels, as in real data); else the soft probability.
    `concepts`: every label by name (the poles' first, once excolor/run/checks.py has added them)."""

    hard: bool = True
    poles: PoleLabels = field(default_factory=PoleLabels)
    concepts: dict[str, Any] = field(default_factory=dict)  # name -> LabelSpec (typed when the config is checked)


def is_builtin(source: str) -> bool:
    return source in SOURCES or source == LIKENESS


def check_labels(config: LabelsConfig) -> None:
    """Every label complete, its probabilities in [0,1]: scale in [0,1], power > 0."""
    for name, spec in config.concepts.items():
        for key in ("source", "scale", "power"):
            if getattr(spec, key) is None:
                raise ValueError(f"labels.concepts.{name}.{key} is not set, and {name!r} is no pole of the concept "
                                 "to take it from; give it, or choose a concept with that pole")
        if not 0.0 <= spec.scale <= 1.0:
            raise ValueError(f"labels.concepts.{name}.scale={spec.scale} must lie in [0, 1]")
        if spec.power <= 0:
            raise ValueError(f"labels.concepts.{name}.power={spec.power} must be > 0")
        if spec.source == LIKENESS and spec.rgb is None:
            raise ValueError(f"labels.concepts.{name}: source=likeness needs the colour: labels.concepts.{name}.rgb")


@functools.lru_cache(maxsize=None)
def imported(path: str) -> Source:
    """A function named by its dotted path, `package.module.function`."""
    module, _, name = path.rpartition(".")
    if not module:
        raise ImportError(f"{path!r} is not a dotted path package.module.function")
    return getattr(importlib.import_module(module), name)


def source_function(spec: LabelSpec) -> Source:
    """What a label is generated from: a built-in feature, likeness to its colour, or a plug-in function."""
    if spec.source == LIKENESS:
        return functools.partial(colors.likeness, to=torch.tensor([float(c) for c in spec.rgb]))
    return SOURCES.get(str(spec.source)) or imported(str(spec.source))


def label_probabilities(rgb: Tensor, config: LabelsConfig) -> Tensor:
    """P(label) for every colour and label: [N, L], labels in `config.concepts` order."""
    columns = [spec.scale * source_function(spec)(rgb).clamp(0.0, 1.0) ** spec.power
               for spec in config.concepts.values()]
    return torch.stack(columns, dim=-1) if columns else rgb.new_zeros(rgb.shape[0], 0)


def hard_labels(config: LabelsConfig) -> list[bool]:
    """Which labels are drawn (True) and which are their probability (False), in `config.concepts` order."""
    return [config.hard if spec.hard is None else bool(spec.hard) for spec in config.concepts.values()]


def draw_labels(probabilities: Tensor, hard: bool | list[bool], generator: torch.Generator) -> Tensor:
    """Labels for gathered samples [..., L]: Bernoulli draws (hard) or the probabilities (soft), for all
    labels or per label."""
    flags = [hard] * probabilities.shape[-1] if isinstance(hard, bool) else list(hard)
    if not any(flags):
        return probabilities
    uniform = torch.rand(probabilities.shape, generator=generator)  # drawn for every label: the same stream
    drawn = (uniform < probabilities).to(probabilities.dtype)
    return drawn if all(flags) else torch.where(torch.tensor(flags), drawn, probabilities)
