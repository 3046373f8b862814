"""What a run deletes: a concept, made of one or more poles. A pole is a colour, the label source that
marks its samples, and the latent dim (and direction) its anchor pins; the concept's dims are the ones
an ablation deletes. Red is one pole (redness, +dim 0); warmth is an axis, red at +dim 0 and cyan at
-dim 0; a concept may also spread its poles over several dims.

`ConceptConfig` is the `concept/` group's schema; `resolve` turns it into the `Concept` every other part
reads (regularizers, labels, ablation, evaluation, metric names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from omegaconf import MISSING

from excolor.core.colors import NAMED_COLORS

LIKENESS = "likeness"
"""The label source of a colour given by value: similarity (hue, saturation, value) to the pole's colour."""


@dataclass
class PoleConfig:
    """One colour of a concept."""

    rgb: list[float] = MISSING  # the colour: evaluation's target set is the colours similar to it
    source: Optional[str] = None  # label source (excolor/core/labels.py); null: likeness to `rgb`
    dim: int = 0  # the latent dim its anchor pins ...
    sign: float = 1.0  # ... and the direction along it


@dataclass
class ConceptConfig:
    """The `concept/` group: `name` names the metrics (`<name>_mse`), `poles` say what the concept is.
    `rgb` (e.g. concept.rgb=[1,0.5,0]) makes any colour the concept: one pole of that colour on dim 0,
    labelled by likeness, named `rgb_ff8000`."""

    name: str = MISSING
    poles: dict[str, PoleConfig] = MISSING
    rgb: Optional[list[float]] = None


@dataclass(frozen=True)
class Pole:
    name: str
    rgb: tuple[float, float, float]
    source: str
    dim: int
    sign: float

    @property
    def named_colour(self) -> str:
        """The named colour nearest this pole (its `named_<colour>_before/after` metrics)."""
        return nearest_named(self.rgb)


@dataclass(frozen=True)
class Concept:
    name: str
    poles: tuple[Pole, ...] = field(default_factory=tuple)

    @property
    def dims(self) -> list[int]:
        """The latent dims the concept's poles pin: what a zeroing or pruning ablation deletes."""
        return sorted({p.dim for p in self.poles})

    @property
    def metric(self) -> str:
        """The name of the error on the concept's colours after ablation (`red_mse` for red)."""
        return concept_metric(self.name)

    @property
    def named_colours(self) -> list[str]:
        return list(dict.fromkeys(p.named_colour for p in self.poles))


def concept_metric(name: str) -> str:
    return f"{name}_mse"


def nearest_named(rgb: tuple[float, ...] | list[float]) -> str:
    """The name of the NAMED_COLORS entry closest to `rgb` (Euclidean in RGB)."""
    return min(NAMED_COLORS, key=lambda n: sum((a - float(b)) ** 2 for a, b in zip(NAMED_COLORS[n], rgb)))


def hex_name(rgb: list[float]) -> str:
    """[1, 0.5, 0] -> `rgb_ff8000`."""
    return "rgb_" + "".join(f"{round(float(c) * 255):02x}" for c in rgb)


def check_rgb(rgb: list[float], key: str) -> None:
    if len(rgb) != 3 or not all(0.0 <= float(c) <= 1.0 for c in rgb):
        raise ValueError(f"{key}={list(rgb)} must be 3 values in [0, 1] (red, green, blue)")


def resolve(config: ConceptConfig, k_bottleneck: int) -> Concept:
    """The concept a config describes, checked against the bottleneck; ValueError names the key."""
    if config.rgb is not None:
        check_rgb(config.rgb, "concept.rgb")
        name = hex_name(config.rgb)
        return Concept(name, (Pole(name, tuple(float(c) for c in config.rgb), LIKENESS, 0, 1.0),))
    if not config.poles:
        raise ValueError(f"concept {config.name!r} has no poles: give concept.poles, or concept.rgb=[r,g,b]")
    poles = []
    for name, pole in config.poles.items():
        check_rgb(pole.rgb, f"concept.poles.{name}.rgb")
        if not 0 <= pole.dim < k_bottleneck:
            raise ValueError(f"concept.poles.{name}.dim={pole.dim} is outside the bottleneck: model.k_bottleneck="
                             f"{k_bottleneck} allows dims 0..{k_bottleneck - 1}")
        if pole.sign == 0:
            raise ValueError(f"concept.poles.{name}.sign=0 gives its anchor no direction; use 1 or -1")
        poles.append(Pole(name, tuple(float(c) for c in pole.rgb), pole.source or LIKENESS, pole.dim, pole.sign))
    concept = Concept(config.name, tuple(poles))
    if len(concept.dims) >= k_bottleneck:
        raise ValueError(f"concept {config.name!r} pins dims {concept.dims}, every dim of a {k_bottleneck}-D "
                         "bottleneck: nothing would be left after deleting it (choose a larger model.k_bottleneck)")
    return concept
