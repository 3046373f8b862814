"""A sweep's search space: Hydra's sweep syntax -> Optuna distributions, and back to overrides.

`regularizers.<name>.weight` of every selected regularizer is searched log-uniformly over
`sweep.weight_range` (or `sweep.ranges.<name>`); anything else comes from `hydra.sweeper.params` or
the command line in Hydra's syntax: `choice(a,b)`, `range(lo,hi,step)`, `interval(lo,hi)`,
`tag(log, interval(lo,hi))`. Parsed with Hydra's public override parser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, Transformer
from hydra.errors import HydraException
from omegaconf import DictConfig
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
)

from excolor.errors import ConfigError
from excolor.run.config import short_name, weight_key


@dataclass
class SearchSpace:
    """Distributions to sample, plus fixed `key=value` overrides every trial gets."""

    distributions: dict[str, BaseDistribution]
    fixed: list[str]

    def suggest(self, trial: optuna.Trial) -> list[str]:
        """Sample every parameter through Optuna's public suggest API; the trial's overrides."""
        values = {name: _suggest(trial, name, dist) for name, dist in self.distributions.items()}
        return [f"{_setting(name)}={value}" for name, value in values.items()] + self.fixed

    def grid(self) -> dict[str, list[Any]]:
        """The choices of a grid search (every distribution must be discrete)."""
        return {name: _grid_choices(name, dist) for name, dist in self.distributions.items()}

    def record(self) -> dict[str, Any]:
        """The space as plain values (Optuna's own JSON of each distribution), for the study's settings."""
        return {name: json.loads(distribution_to_json(dist)) for name, dist in self.distributions.items()}

    def describe(self) -> str:
        return ", ".join(f"{short_name(k)}~{_describe(d)}" for k, d in self.distributions.items())


def weight_space(config: DictConfig) -> list[str]:
    """`regularizers.<name>.weight=tag(log, interval(lo, hi))` for every selected regularizer."""
    sweep = config.get("sweep") or {}
    selected = list(config.regularizers)
    ranges = dict(sweep.get("ranges") or {})
    unknown = sorted(set(ranges) - set(selected))
    if unknown:
        raise ConfigError(f"sweep.ranges names {unknown}, which this run does not select; selected regularizers: "
                          f"{selected} (add one with regularizers=[...] or drop it from sweep.ranges)")
    default = sweep.get("weight_range")
    space = []
    for name in selected:
        bounds = ranges.get(name, default)
        if bounds is None:
            continue
        if len(bounds) != 2:
            key = f"sweep.ranges.{name}" if name in ranges else "sweep.weight_range"
            raise ConfigError(f"{key}={list(bounds)} must be [low, high]")
        low, high = bounds
        space.append(f"{weight_key(name)}=tag(log, interval({float(low)}, {float(high)}))")
    return space


def parse_space(overrides: Sequence[str], selected: Sequence[str]) -> SearchSpace:
    """Sweep overrides -> a checked SearchSpace; a bad range names its key."""
    parser = OverridesParser.create()
    distributions: dict[str, BaseDistribution] = {}
    fixed: dict[str, str] = {}
    for line in overrides:
        try:
            [override] = parser.parse_overrides([line])
        except HydraException as error:
            raise ConfigError(f"the sweep override {line!r} cannot be parsed: {error}") from None
        key = override.get_key_element()
        if override.is_delete() or not override.is_sweep_override():
            fixed[key] = line
            distributions.pop(key, None)
            continue
        try:
            distributions[key] = _distribution(override)
        except ValueError as error:
            raise ConfigError(f"the sweep space for {key} is invalid ({line!r}): {error} "
                              "(a range needs low < high, and a log range low > 0)") from None
        fixed.pop(key, None)
    _check(distributions, selected)
    if not distributions:
        raise ConfigError("the sweep space is empty: set sweep.weight_range or hydra.sweeper.params")
    return SearchSpace(distributions, list(fixed.values()))


def _distribution(override: Override) -> BaseDistribution:
    value = override.value()
    if override.is_choice_sweep() or (override.is_range_sweep() and (value.shuffle or value.transformers)):
        return CategoricalDistribution(list(override.sweep_iterator(transformer=Transformer.encode)))
    if override.is_range_sweep():
        values = list(override.sweep_iterator(transformer=Transformer.identity))
        if not values:
            raise ValueError("the range holds no value")
        if all(isinstance(v, int) for v in values):
            step = values[1] - values[0] if len(values) > 1 else 1
            return IntDistribution(min(values), max(values), step=abs(step))
        return CategoricalDistribution(values)
    if override.is_interval_sweep():
        low, high, log = value.start, value.end, "log" in value.tags
        if low >= high:
            raise ValueError(f"low={low} >= high={high}")
        if log and low <= 0:
            raise ValueError(f"log-scaled but includes {low} <= 0")
        if isinstance(low, int) and isinstance(high, int):
            return IntDistribution(low, high, log=log)
        return FloatDistribution(float(low), float(high), log=log)
    raise ValueError(f"{override.input_line!r} is not a sweep Optuna can sample")


def _check(distributions: dict[str, BaseDistribution], selected: Sequence[str]) -> None:
    """A searched regularizer must be selected."""
    for key in distributions:
        parts = key.split(".")
        if parts[0] == "regularizers" and len(parts) > 1 and parts[1] not in selected:
            raise ConfigError(f"the sweep space searches {key}, but regularizer {parts[1]!r} is not selected; "
                              f"selected: {list(selected)}")


def _suggest(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
    assert isinstance(dist, CategoricalDistribution)
    return trial.suggest_categorical(name, list(dist.choices))


def _setting(name: str) -> str:
    """The override that sets a sampled config value: `++key` (set, adding it where a node leaves it to its
    schema: a plug-in regularizer's YAML need not spell `weight`); a group choice (`model`) stays as is."""
    return f"++{name}" if "." in name else name


def _grid_choices(name: str, dist: BaseDistribution) -> list[Any]:
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    if isinstance(dist, IntDistribution) and not dist.log:
        return list(range(dist.low, dist.high + 1, dist.step))
    raise ConfigError(f"the grid sampler needs discrete values, but {name} is a continuous range; "
                      f"give it as choice(...) or range(...), or set sweep.weight_range=null")


def _describe(dist: BaseDistribution) -> str:
    if isinstance(dist, CategoricalDistribution):
        return f"choice{tuple(dist.choices)}"
    scale = "log " if getattr(dist, "log", False) else ""
    return f"{scale}[{dist.low:g}, {dist.high:g}]"
