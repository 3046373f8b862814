"""The hand-over from the sweeper to a launcher that trains whole batches (hydra/launcher=batched): the
sweep's plan once, then each batch as one value. Neither side reads the other's config or sets
attributes on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

from hydra.core.utils import JobReturn


@dataclass(frozen=True)
class Front:
    """The study's best complete trials when a batch starts: what a race over seeds runs against."""

    trials: list[tuple[int, list[float]]]  # (trial number, objective values): the Pareto front / best trial
    maximize: list[bool]  # per objective

    def rival(self, values: Sequence[float]) -> int | None:
        """The number of a front trial that dominates `values`, else None."""
        for number, theirs in self.trials:
            if dominates(theirs, values, self.maximize):
                return number
        return None


def dominates(a: Sequence[float], b: Sequence[float], maximize: Sequence[bool]) -> bool:
    """`a` is no worse than `b` in every objective and better in at least one."""
    signed = [(x, y) if up else (-x, -y) for x, y, up in zip(a, b, maximize)]  # larger is better now
    return all(x >= y for x, y in signed) and any(x > y for x, y in signed)


@dataclass(frozen=True)
class SweepPlan:
    """Told once, before the study is opened: the largest batch the sweep will hand over."""

    batch_size: int  # hydra.sweeper.n_jobs


@dataclass(frozen=True)
class Batch:
    """One batch of trials: each trial's overrides, the job index of the first, and the study's front."""

    jobs: list[list[str]]
    first_job_idx: int
    front: Front


@runtime_checkable
class BatchLauncher(Protocol):
    """A launcher that trains a batch as one unit; the sweeper talks to it only through these two calls."""

    def begin(self, plan: SweepPlan) -> None:
        """Check the launcher's own settings (ConfigError names the key) and get ready for batches."""

    def launch_batch(self, batch: Batch) -> Sequence[JobReturn]:
        """Train the batch; one JobReturn per job, in order (a TrialOutcome, or the job's exception)."""
