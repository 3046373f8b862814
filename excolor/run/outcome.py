"""A trial's record: what one trial hands back to its sweeper, its logger and the validator, and the
names its record goes by wherever it is kept (Optuna user attributes, W&B summaries, tables)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from excolor.core.metric_names import DEFAULT_CONCEPT


class Attr:
    """Names of the user attributes excolor keeps on an Optuna trial (one place for every reader)."""

    REASON = "fail_reason"
    PRUNED_REASON = "pruned_reason"  # why a race over seeds stopped the trial (excolor/sweep/racing.py)
    OUTPUT_DIR = "output_dir"
    WORKER = "worker"  # "host:pid" of the sweep process that runs the trial
    HEARTBEAT = "heartbeat"  # unix time of that worker's last sign of life
    SEEDS = "seeds"
    SEED_PREFIX = "seeds_"  # seeds_<metric>: one value per seed
    SEED_FAILURES = "seed_failures"


SPREAD_PREFIX = "spread_"
"""`spread_<metric>`: a metric's max - min over a trial's scored seeds (in W&B summaries and tables)."""


def seed_spread(values: Iterable[float | None]) -> float | None:
    """max - min over the seeds that have a finite value; None with fewer than two."""
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return max(finite) - min(finite) if len(finite) >= 2 else None


def json_safe(value: Any) -> Any:
    """JSON-safe: non-finite floats become None (RDB user attributes are JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value


@dataclass
class TrialOutcome:
    """What one trial hands back to its sweeper: picklable, so every launcher can return it."""

    objectives: list[float]
    metrics: dict[str, float]
    seeds: list[int]
    seed_values: dict[str, list[float | None]]
    seed_failures: list[str | None]
    output_dir: str
    failure: str | None = None
    wall_s: float = 0.0
    pruned: str | None = None  # why a race over seeds stopped it early (its seeds are the ones it ran)
    concept: str = DEFAULT_CONCEPT  # what the trial deleted (its metrics say `<concept>_mse` and `concept_mse`)
    named_colours: list[str] = field(default_factory=list)  # the named colours nearest the concept's poles

    @property
    def failed(self) -> bool:
        """Failed: a reason was given, or an objective is not a finite number."""
        return self.failure is not None or not all(math.isfinite(v) for v in self.objectives)

    def reason(self) -> str | None:
        if self.failure is not None:
            return self.failure
        if not all(math.isfinite(v) for v in self.objectives):
            return f"non-finite objectives {self.objectives}"
        return None
