"""What one trial hands back to its sweeper, its logger and the validator (a plain, picklable record)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


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
    extra: dict[str, Any] = field(default_factory=dict)

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
