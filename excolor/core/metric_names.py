"""Every metric a run reports, defined once: its name, which way is better, and where it is shown.

The lists the rest of excolor uses (what an objective may name, how `worst` aggregates, the console's
key metrics, excolor-report's columns, the per-seed values a sweep keeps) are derived from METRICS.
Adding a metric: one entry here, plus its computation in excolor/core/metrics.py `evaluate`.

The error on the concept's colours has two names: `concept_mse`, the same for every concept (so studies
of different concepts compare), and the concept's own, `<concept>_mse` (`red_mse` for red), which every
list below shows in its place (`for_concept`). An objective may write it as `{concept}_mse`.
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
CONCEPT = "concept_mse"  # the concept's colours, ablated (also under the concept's own name, `<concept>_mse`)
COLLATERAL = "collateral_mse"  # colours unlike the concept, ablated
LOG10_COLLATERAL = "log10_collateral_mse"  # the pareto sweeps' objective: the sampler sees collateral in decades
SELECTIVITY = "selectivity"  # concept / collateral
SIMILARITY_R2 = "similarity_r2"  # how closely the damage follows similarity to the concept
CONCEPT_PLACEHOLDER = "{concept}"
"""In an objective's name, stands for the concept's name: `{concept}_mse` is `red_mse` for red."""

METRICS: tuple[Metric, ...] = (
    Metric(RECON, console=True, report=True),
    Metric(CONCEPT, higher_is_better=True, console=True, report=True, per_seed=True, heldout="concept"),
    Metric(COLLATERAL, console=True, report=True, per_seed=True, heldout="collateral"),
    Metric(LOG10_COLLATERAL, per_seed=True),
    Metric("collateral_max", console=True),
    Metric(SELECTIVITY, higher_is_better=True, console=True, report=True, per_seed=True),
    Metric("log_selectivity", higher_is_better=True, per_seed=True),
    Metric(SIMILARITY_R2, higher_is_better=True, console=True, per_seed=True, heldout="sim_r2"),
    Metric("median_mse_before", console=True),  # HSV cube, intact
    Metric("max_mse_before", console=True),
    Metric("median_mse", console=True, per_seed=True),  # HSV cube, ablated
    Metric("max_mse", console=True),
)

SCALAR_METRICS = tuple(m.name for m in METRICS)
"""Metrics an objective may name (besides `<concept>_mse` and named_<colour>_after)."""
CONSOLE_METRICS = tuple(m.name for m in METRICS if m.console)
REPORT_METRICS = tuple(m.name for m in METRICS if m.report)
SEED_METRICS = tuple(m.name for m in METRICS if m.per_seed)
HELDOUT_SHOWN = {m.name: m.heldout for m in METRICS if m.heldout}
"""Metrics excolor-validate compares sweep vs held-out, with their short column names."""
_HIGHER_IS_BETTER = frozenset(m.name for m in METRICS if m.higher_is_better)

FAILED_SEEDS, N_SEEDS = "failed_seeds", "n_seeds"
"""Counts a trial adds to its aggregated metrics (beside `<name>_min` / `<name>_max` over several seeds)."""
DEFAULT_CONCEPT = "red"
"""The concept of runs and studies saved before concepts were configurable."""


def concept_metric(concept: str) -> str:
    """The concept's own name for `concept_mse`: `red_mse` for red."""
    return f"{concept}_mse"


def for_concept(names: tuple[str, ...] | list[str], concept: str) -> list[str]:
    """`names` with `concept_mse` shown under the concept's own name."""
    return [concept_metric(concept) if name == CONCEPT else name for name in names]


def heldout_shown(concept: str) -> dict[str, str]:
    """HELDOUT_SHOWN with the concept's own name (its short column name is the concept's)."""
    return {concept_metric(concept) if k == CONCEPT else k: concept if k == CONCEPT else v
            for k, v in HELDOUT_SHOWN.items()}


def higher_is_better(name: str, concept: str) -> bool:
    """The direction `trial.aggregate=worst` uses; errors are lower-is-better, the concept's is not."""
    return name in _HIGHER_IS_BETTER or name == concept_metric(concept)


def named_after(colour: str) -> str:
    """The metric of one named colour's MSE after ablation."""
    return f"named_{colour}_after"


def named_before(colour: str) -> str:
    """The metric of one named colour's MSE before ablation (kept for the colours of the concept)."""
    return f"named_{colour}_before"


def is_named(key: str) -> bool:
    """A per-named-colour metric (`named_<colour>_after` or `named_<colour>_before`)."""
    return key.startswith("named_")


def is_objective(key: str, concept: str) -> bool:
    """A metric an objective may name: a scalar metric, the concept's own, or `named_<colour>_after`."""
    return key in SCALAR_METRICS or key == concept_metric(concept) or (is_named(key) and key.endswith("_after"))


def kept_on_trial(key: str, named_colours: list[str]) -> bool:
    """Whether a sweep stores this aggregated metric as an attribute of its Optuna trial: every metric but
    the per-named-colour ones, of which only the concept's colours' `named_<colour>_after`."""
    return not is_named(key) or key in {named_after(colour) for colour in named_colours}
