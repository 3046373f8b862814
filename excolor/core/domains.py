"""The domain of every number a run reads (config keys and schedule cells), declared as data.

`CONFIG_DOMAINS` maps a config path (`*` matches one key or list index) to the values it allows;
`check_numbers` walks a checked config and reports the first value outside its domain, naming the
key and the allowed range. Every float anywhere in a config must also be finite. This module
imports nothing from excolor, so the schedule reader and the config checker can both use it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterator, Mapping, Optional

UINT32_MAX = 2**32 - 1
"""Largest seed Lightning's seed_everything accepts (larger ones are silently replaced by a random seed)."""


class DomainError(ValueError):
    """A number outside its domain; the message names the key (or file, row and column) and the range."""


@dataclass(frozen=True)
class Domain:
    """An interval of allowed numbers: `low`/`high` bounds (None: unbounded), open or closed, optionally
    integers only, optionally `null` allowed."""

    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    optional: bool = False

    def describe(self) -> str:
        """E.g. `a number in [0, 1]`, `an integer >= 2`, `a number > 0 (or null)`."""
        kind = "an integer" if self.integer else "a number"
        low, high = _fmt(self.low), _fmt(self.high)
        if self.low is not None and self.high is not None:
            if self.integer and not self.low_open and not self.high_open:
                text = f"{kind} {low}" if self.low == self.high else f"{kind} in {low}..{high}"
            else:
                text = f"{kind} in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"
        elif self.low is not None:
            text = f"{kind} {'>' if self.low_open else '>='} {low}"
        elif self.high is not None:
            text = f"{kind} {'<' if self.high_open else '<='} {high}"
        else:
            text = f"a finite {kind.split()[-1]}"
        return text + (" (or null)" if self.optional else "")

    def problem(self, value: Any) -> Optional[str]:
        """Why `value` is outside the domain, or None when it is inside."""
        if value is None:
            return None if self.optional else "is missing"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"is not a number ({type(value).__name__})"
        if isinstance(value, float) and not math.isfinite(value):
            return "is not finite"
        if self.integer and not float(value).is_integer():
            return "is not an integer"
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return "is negative, out of range" if value < 0 <= self.low else "is out of range"
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return "is out of range"
        return None


def _fmt(bound: Optional[float]) -> str:
    if bound is None:
        return ""
    return f"{bound:,}".replace(",", "_") if float(bound).is_integer() and abs(bound) > 99_999 else f"{bound:g}"


def at_least(low: float, integer: bool = False, optional: bool = False) -> Domain:
    return Domain(low=low, integer=integer, optional=optional)


def above(low: float, optional: bool = False) -> Domain:
    return Domain(low=low, low_open=True, optional=optional)


def integers(low: int, high: Optional[int] = None, optional: bool = False) -> Domain:
    return Domain(low=low, high=high, integer=True, optional=optional)


FINITE = Domain()
UNIT = Domain(0.0, 1.0)
NON_NEGATIVE = at_least(0.0)
POSITIVE = above(0.0)

CONFIG_DOMAINS: dict[str, Domain] = {
    "seed": integers(0, UINT32_MAX),
    "model.k_bottleneck": integers(1, 1024),
    "model.width": integers(1, 65_536),
    "model.n_hidden": integers(1, 64),
    "data.grid_shape.*": integers(2),
    "data.batch_size": integers(2),
    "concept.poles.*.rgb.*": UNIT,
    "concept.poles.*.dim": integers(0),
    "concept.poles.*.sign": FINITE,
    "concept.rgb.*": UNIT,
    "labels.concepts.*.scale": Domain(0.0, 1.0, optional=True),
    "labels.concepts.*.power": above(0.0, optional=True),
    "labels.concepts.*.rgb.*": UNIT,
    "labels.poles.scale": Domain(0.0, 1.0, optional=True),
    "labels.poles.power": above(0.0, optional=True),
    "regularizers.*.weight": NON_NEGATIVE,
    "regularizers.*.labels.*": FINITE,  # affinities: w = clamp(sum affinity * label, 0, 1)
    "regularizers.*.axis": integers(0, optional=True),
    "regularizers.*.pole_labels": Domain(optional=True),
    "regularizers.*.sign": FINITE,
    "regularizers.*.vector.*": FINITE,
    "regularizers.*.power": POSITIVE,
    "regularizers.*.duplicate_cosine": Domain(-1.0, 1.0),
    "regularizers.*.dims.*": integers(0),
    "schedule.n_steps": integers(2, optional=True),
    "schedule.lr_scale": POSITIVE,
    "ablation.dims.*": integers(0),
    "ablation.strength": UNIT,
    "eval.concept_rgb.*": UNIT,
    "eval.rgb_grid_size": integers(2),
    "eval.target_threshold": UNIT,
    "eval.collateral_threshold": UNIT,
    "eval.hsv_cube.*": integers(1),
    "eval.chunk_size": integers(1),
    "trial.seeds.*": integers(0, UINT32_MAX),
    "trial.fail_threshold": POSITIVE,
    "trainer.max_steps": integers(1, optional=True),
    "trainer.log_every_n_steps": integers(1),
    "trainer.devices": integers(1, 1),  # members stack in one process; several devices would duplicate them
    "trainer.num_nodes": integers(1, 1),
    "trainer.gradient_clip_val": at_least(0.0, optional=True),
    "trainer.accumulate_grad_batches": integers(1),  # Lightning accepts 0, then divides by it mid-fit
    "trainer.check_val_every_n_epoch": integers(1, optional=True),
    "sweep.weight_range.*": POSITIVE,  # log-uniform ranges
    "sweep.ranges.*.*": POSITIVE,
    "sweep.total_trials": integers(1, optional=True),
    "sweep.heartbeat_s": above(0.0),  # 0 would stamp the storage in a busy loop
    "sweep.grace_s": above(0.0),
}
"""The domain of each config path; `*` stands for any one key or list index."""

SWEEPER_DOMAINS: dict[str, Domain] = {
    "hydra.sweeper.n_trials": integers(1),
    "hydra.sweeper.n_jobs": integers(1),
    "hydra.sweeper.max_failure_rate": UNIT,
    "sweep.total_trials": integers(1, optional=True),
    "hydra.launcher.processes": integers(1, optional=True),  # the batched launcher's workers; null: the CPUs
    "hydra.launcher.race_seeds": integers(1, optional=True),  # the batched launcher's race; null: no race
}
"""The sweep's counts: zero or fewer would run nothing, or (n_jobs) ask for empty batches forever."""

SCHEDULE_VALUE = NON_NEGATIVE
"""Every schedule cell: a learning rate or a regularizer weight (a negative lr would ascend the loss)."""

RUN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+=,-]*")
"""`name` becomes one directory level under outputs/ and multirun/: no separators, no leading dot."""
MAX_NAME = 120
"""Characters of a run or study name: it names a directory (255 bytes at most) and W&B runs `<study>-<n>`."""
UNIQUE_LISTS = ("trial.seeds", "ablation.dims", "regularizers.*.dims")


def render(path: tuple[Any, ...]) -> str:
    """('data', 'grid_shape', 1) -> 'data.grid_shape[1]'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _matches(pattern: str, path: tuple[Any, ...]) -> bool:
    parts = pattern.split(".")
    return len(parts) == len(path) and all(p == "*" or p == str(q) for p, q in zip(parts, path))


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) below `node` (dataclasses, mappings, lists; enums as their value)."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            yield from leaves(getattr(node, f.name), (*path, f.name))
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from leaves(value, (*path, str(key)))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from leaves(value, (*path, index))
    else:
        yield path, node.value if isinstance(node, Enum) else node


def domain_of(path: tuple[Any, ...], domains: Mapping[str, Domain]) -> Optional[Domain]:
    return next((d for pattern, d in domains.items() if _matches(pattern, path)), None)


def value_problem(key: str, value: Any, domain: Domain) -> Optional[str]:
    """`key=value is out of range: allowed is ...`, or None."""
    problem = domain.problem(value)
    return None if problem is None else f"{key}={value} {problem}; allowed: {domain.describe()}"


def check_numbers(config: Any, domains: Mapping[str, Domain] = CONFIG_DOMAINS) -> None:
    """Every number in `config` finite and inside its declared domain; lists that must be unique are."""
    for path, value in leaves(config):
        domain = domain_of(path, domains)
        if domain is None:
            if isinstance(value, float) and not math.isfinite(value):
                raise DomainError(f"{render(path)}={value} is not finite; give a finite number")
            continue
        problem = value_problem(render(path), value, domain)
        if problem:
            raise DomainError(problem)
    for path, value in leaves_of_lists(config):
        if any(_matches(pattern, path) for pattern in UNIQUE_LISTS) and len(set(value)) != len(value):
            twice = sorted({v for v in value if list(value).count(v) > 1})
            raise DomainError(f"{render(path)}={list(value)} lists {twice} twice; give each value once")


def leaves_of_lists(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], list[Any]]]:
    """Every (path, list) below `node`."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            yield from leaves_of_lists(getattr(node, f.name), (*path, f.name))
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from leaves_of_lists(value, (*path, str(key)))
    elif isinstance(node, (list, tuple)):
        yield path, list(node)


def check_values(values: Mapping[str, Any], domains: Mapping[str, Domain]) -> None:
    """Flat `key -> value` pairs (e.g. the sweeper's counts) against `domains`."""
    for key, value in values.items():
        domain = domains.get(key)
        problem = value_problem(key, value, domain) if domain else None
        if problem:
            raise DomainError(problem)


def check_sweep_counts(n_trials: Any, n_jobs: Any, total_trials: Any = None, max_failure_rate: Any = 0.0) -> None:
    """The sweep's counts, before the study is opened: call from the sweeper."""
    check_values({"hydra.sweeper.n_trials": n_trials, "hydra.sweeper.n_jobs": n_jobs,
                  "sweep.total_trials": total_trials, "hydra.sweeper.max_failure_rate": max_failure_rate},
                 SWEEPER_DOMAINS)


def check_run_name(name: Any, key: str = "name") -> None:
    """`name` is one directory level: `name=../../x` must not place outputs outside outputs/."""
    if not isinstance(name, str) or not RUN_NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise DomainError(f"{key}={name!r} cannot name a directory; allowed: up to {MAX_NAME} ASCII letters, digits "
                          f"and _ . + = , - (no '/', no leading '.'), e.g. {key}=ex2_9_wide")


def schedule_cell_problem(name: str, value: float) -> Optional[str]:
    """Why a schedule cell of property `name` is outside its domain (None when it is fine)."""
    problem = SCHEDULE_VALUE.problem(value)
    if problem is None:
        return None
    what = "a learning rate" if name == "lr" else "a regularizer weight"
    return f"{problem}: {name!r} is {what}; allowed: {SCHEDULE_VALUE.describe()}"
