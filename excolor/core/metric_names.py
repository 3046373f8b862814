"""Every metric a run reports, defined once: its name, which way is better, and where it is shown.

The lists the rest of excolor uses (what an objective may name, how `worst` aggregates, the console's
key metrics, excolor-report's columns, the per-seed values a sweep keeps) are derived from METRICS.
Adding a metric: one entry here, plus its computation in excolor/core/metrics.py `evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    """One scalar a member's evaluation produces (aggregated over a trial's seeds)."""

    name: str
    higher_is_better: bool = False  # the direction `trial.aggregate=worst` uses; errors are lower-is-better
    console: bool = False  # in the end-of-run "Key metrics" table
    report: bool = False  # a column of excolor-report's trial table
    per_seed: bool = False  # kept on a sweep's trial as seeds_<name>, one value per seed
    heldout: str | None = None  # compared sweep vs held-out seeds by excolor-validate, under this short name


RECON = "recon_mse"  # intact model, whole RGB grid
CONCEPT = "red_mse"  # the concept's colours, ablated
COLLATERAL = "collateral_mse"  # colours unlike the concept, ablated
LOG10_COLLATERAL = "log10_collateral_mse"  # the pareto sweeps' objective: the sampler sees collateral in decades
SELECTIVITY = "selectivity"  # concept / collateral
SIMILARITY_R2 = "similarity_r2"  # how closely the damage follows similarity to the concept

METRICS: tuple[Metric, ...] = (
    Metric(RECON, console=True, report=True),
    Metric(CONCEPT, higher_is_better=True, console=True, report=True, per_seed=True, heldout="red"),
    Metric(COLLATERAL, console=True, report=True, per_seed=True, heldout="collateral"),
    Metric(LOG10_COLLATERAL),
    Metric("collateral_max", console=True),
    Metric(SELECTIVITY, higher_is_better=True, console=True, report=True, per_seed=True),
    Metric("log_selectivity", higher_is_better=True),
    Metric(SIMILARITY_R2, higher_is_better=True, console=True, per_seed=True, heldout="sim_r2"),
    Metric("median_mse_before", console=True),  # HSV cube, intact
    Metric("max_mse_before", console=True),
    Metric("median_mse", console=True, per_seed=True),  # HSV cube, ablated
    Metric("max_mse", console=True),
)

SCALAR_METRICS = tuple(m.name for m in METRICS)
"""Metrics an objective may name (besides named_<colour>_after)."""
HIGHER_IS_BETTER = frozenset(m.name for m in METRICS if m.higher_is_better)
CONSOLE_METRICS = tuple(m.name for m in METRICS if m.console)
REPORT_METRICS = tuple(m.name for m in METRICS if m.report)
SEED_METRICS = tuple(m.name for m in METRICS if m.per_seed)
HELDOUT_SHOWN = {m.name: m.heldout for m in METRICS if m.heldout}
"""Metrics excolor-validate compares sweep vs held-out, with their short column names."""

FAILED_SEEDS, N_SEEDS = "failed_seeds", "n_seeds"
"""Counts a trial adds to its aggregated metrics (beside `<name>_min` / `<name>_max` over several seeds)."""
KEPT_NAMED = ("red",)
"""Named colours whose `named_<colour>_after` a sweep keeps on its trials (all are in metrics.json)."""


def named_after(colour: str) -> str:
    """The metric of one named colour's MSE after ablation."""
    return f"named_{colour}_after"


def is_named(key: str) -> bool:
    """A per-named-colour metric (`named_<colour>_after` or `named_<concept>_before`)."""
    return key.startswith("named_")


def is_objective(key: str) -> bool:
    """A metric an objective may name: a scalar metric or `named_<colour>_after`."""
    return key in SCALAR_METRICS or (is_named(key) and key.endswith("_after"))


def kept_on_trial(key: str) -> bool:
    """Whether a sweep stores this aggregated metric as an attribute of its Optuna trial."""
    return not is_named(key) or key in {named_after(colour) for colour in KEPT_NAMED}
