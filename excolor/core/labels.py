"""Sparse, noisy concept labels generated from the colour: P(label) = scale * f(colour) ** power."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Callable

import torch
from torch import Tensor

from excolor.core import colors


class LabelSource(Enum):
    """Which colour feature a label is generated from."""

    redness = "redness"
    greenness = "greenness"
    blueness = "blueness"
    vibrancy = "vibrancy"
    desaturation = "desaturation"


SOURCE_FUNCTIONS: dict[LabelSource, Callable[[Tensor], Tensor]] = {
    LabelSource.redness: colors.redness,
    LabelSource.greenness: colors.greenness,
    LabelSource.blueness: colors.blueness,
    LabelSource.vibrancy: colors.vibrancy,
    LabelSource.desaturation: colors.desaturation,
}


@dataclass
class LabelSpec:
    source: LabelSource = LabelSource.redness
    scale: float = 0.5
    power: float = 10.0


@dataclass
class LabelsConfig:
    """`hard`: a Bernoulli draw per sample (sparse labels, as in real data); else the soft probability."""

    hard: bool = True
    concepts: dict[str, LabelSpec] = field(default_factory=dict)


def check_labels(config: LabelsConfig) -> None:
    """Probabilities must stay in [0,1]: scale in [0,1], power > 0."""
    for name, spec in config.concepts.items():
        if not 0.0 <= spec.scale <= 1.0:
            raise ValueError(f"labels.concepts.{name}.scale={spec.scale} must lie in [0, 1]")
        if spec.power <= 0:
            raise ValueError(f"labels.concepts.{name}.power={spec.power} must be > 0")


def label_probabilities(rgb: Tensor, config: LabelsConfig) -> Tensor:
    """P(label) for every colour and label: [N, L], labels in `config.concepts` order."""
    columns = [
        spec.scale * SOURCE_FUNCTIONS[LabelSource(spec.source)](rgb).clamp(0.0, 1.0) ** spec.power
        for spec in config.concepts.values()
    ]
    return torch.stack(columns, dim=-1) if columns else rgb.new_zeros(rgb.shape[0], 0)


def draw_labels(probabilities: Tensor, hard: bool, generator: torch.Generator) -> Tensor:
    """Labels for gathered samples [..., L]: Bernoulli draws (hard) or the probabilities (soft)."""
    if not hard:
        return probabilities
    uniform = torch.rand(probabilities.shape, generator=generator)
    return (uniform < probabilities).to(probabilities.dtype)
