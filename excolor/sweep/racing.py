"""Racing over seeds (`hydra.launcher.race_seeds=K`, batched launcher): spend a trial's remaining
seeds only where they can matter.

Every trial of a batch that has more than K seeds is first trained on its first K. A trial whose
K-seed objectives a trial of the study's front dominates (no worse in every objective, better in
one) stops there and ends PRUNED, its K seeds recorded; the others train on the rest of their seeds,
and their record is the same as without racing: every seed's values, aggregated over all of them.
"""

from __future__ import annotations

import dataclasses
import math

from excolor.run.runner import PreparedTrial
from excolor.run.trials import TrialResult, summarise, trial_seeds
from excolor.sweep.batch import Front


def verdict(front: Front, result: TrialResult) -> str | None:
    """Why `result` (a trial's first seeds) ends the race there, or None when it goes on."""
    if not all(math.isfinite(v) for v in result.objectives):
        return None  # it fails on its own (runner.trial_failure / TrialOutcome.reason)
    rival = front.rival(result.objectives)
    if rival is None:
        return None
    return f"raced: after seeds {[s.seed for s in result.seeds]} dominated by trial {rival}"


def races(trial: PreparedTrial, first: int) -> bool:
    """Whether the trial has seeds beyond its first `first` (otherwise it simply trains on all of them)."""
    return len(trial_seeds(trial.config)) > first


def first_and_rest(trial: PreparedTrial, first: int) -> tuple[PreparedTrial, PreparedTrial | None]:
    """The trial narrowed to its first `first` seeds, and to the rest (None when there is no rest)."""
    seeds = trial_seeds(trial.config)
    head, tail = seeds[:first], seeds[first:]
    return with_seeds(trial, head), (with_seeds(trial, tail) if tail else None)


def with_seeds(trial: PreparedTrial, seeds: list[int]) -> PreparedTrial:
    config = dataclasses.replace(trial.config, trial=dataclasses.replace(trial.config.trial, seeds=list(seeds)))
    return dataclasses.replace(trial, config=config)


def merged(trial: PreparedTrial, first: TrialResult, rest: TrialResult) -> TrialResult:
    """One trial's result over all its seeds, from its two stages: aggregated as if trained at once;
    the model and history shown are the first stage's (its first scored seed, as without racing)."""
    seeds = [*first.seeds, *rest.seeds]
    metrics, objectives, failed = summarise(trial.config, seeds)
    return dataclasses.replace(first, config=trial.config, seeds=seeds, metrics=metrics, objectives=objectives,
                               failed_seeds=failed, wall_s=first.wall_s + rest.wall_s)
