"""How the chosen concept shapes a run's config: the poles' labels, the ablation's dims, the objectives'
names, the sweep parameters that follow the poles. Applied once to a typed config by
excolor/run/checks.py, so that every later reader sees an explicit config."""

from __future__ import annotations

import re

from excolor.core import concepts
from excolor.core.concepts import Concept, ConceptConfig, PoleConfig
from excolor.core.labels import LabelSpec
from excolor.core.metric_names import CONCEPT_PLACEHOLDER
from excolor.errors import ConfigError
from excolor.run.config import concept_of

POLE_PLACEHOLDER = "{pole}"
"""In a sweep parameter's key, stands for each pole of the concept in turn:
`labels.concepts.{pole}.scale` searches every pole's label rate."""
CONCEPT_NAME = re.compile(r"[a-z][a-z0-9_]*")
"""A concept's name names metrics (`<name>_mse`), study names and label keys."""
RESERVED_NAMES = ("concept",)  # `concept_mse` is every concept's shared metric name


def apply_concept(config) -> Concept:  # noqa: ANN001
    """Make the concept explicit in `config` (an ExcolorConfig, changed in place): its name and poles (a
    colour given by value becomes its pole), a label per pole first in `labels.concepts` (fields a label
    leaves null come from its pole and `labels.poles`), the ablation's dims where they are null, and
    `{concept}` in objective names."""
    concept = concept_of(config)
    if not CONCEPT_NAME.fullmatch(concept.name) or concept.name in RESERVED_NAMES:
        raise ConfigError(f"concept.name={concept.name!r} cannot name metrics; allowed: lower-case letters, digits "
                          f"and _, starting with a letter, not {', '.join(map(repr, RESERVED_NAMES))}")
    config.concept = ConceptConfig(name=concept.name, rgb=None, poles={
        p.name: PoleConfig(rgb=list(p.rgb), source=p.source, dim=p.dim, sign=p.sign) for p in concept.poles})
    others = {k: v for k, v in config.labels.concepts.items() if k not in config.concept.poles and not unset(v)}
    for spec in others.values():  # likeness with no colour: likeness to the concept (its first pole's colour)
        if spec.source == concepts.LIKENESS and spec.rgb is None:
            spec.rgb = list(concept.poles[0].rgb)
    config.labels.concepts = {**{p.name: pole_label(config.labels, p) for p in concept.poles}, **others}
    if config.ablation.dims is None:
        config.ablation.dims = concept.dims
    config.objectives = {name.replace(CONCEPT_PLACEHOLDER, concept.name): direction
                         for name, direction in config.objectives.items()}
    return concept


def unset(spec: LabelSpec) -> bool:
    """A label whose every field is left to its pole: a concept's placeholder (dropped when `concept.rgb`
    replaces that concept's poles)."""
    return spec.source is None and spec.scale is None and spec.power is None and spec.rgb is None


def pole_label(labels, pole: concepts.Pole) -> LabelSpec:  # noqa: ANN001 (a LabelsConfig)
    """A pole's label: what `labels.concepts.<pole>` gives, the rest from the pole and `labels.poles`."""
    given = labels.concepts.get(pole.name) or LabelSpec()
    source = given.source or pole.source
    return LabelSpec(source=source,
                     scale=labels.poles.scale if given.scale is None else given.scale,
                     power=labels.poles.power if given.power is None else given.power,
                     rgb=given.rgb if given.rgb is not None or source != concepts.LIKENESS else list(pole.rgb),
                     hard=given.hard)


def expand_poles(params: list[str], concept: Concept) -> list[str]:
    """Sweep overrides with `{pole}` in their key, one per pole: `labels.concepts.{pole}.scale=...` ->
    `labels.concepts.red.scale=...` for red, one for red and one for cyan for warmth."""
    out = []
    for line in params:
        key, sep, value = line.partition("=")
        if POLE_PLACEHOLDER in key:
            out += [f"{key.replace(POLE_PLACEHOLDER, pole.name)}{sep}{value}" for pole in concept.poles]
        else:
            out.append(line)
    return out
