"""The trial table of a study, one row per trial: the same columns in the terminal and in the HTML page.

A column is a header and a function of the trial; `columns(study, extra)` lists them, so a new
column (another user attribute) is one more `Column`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from excolor.core.metric_names import FAILED_SEEDS, REPORT_METRICS, for_concept
from excolor.run.config import short_name
from excolor.run.outcome import Attr
from excolor.study.heldout import read_heldout, table_columns
from excolor.study.records import front_numbers, objective_names, study_concept

METRIC_COLUMNS = (*REPORT_METRICS, FAILED_SEEDS)
"""Metrics shown for every trial (after the study's own objectives; the concept's under its own name)."""
SPREAD_SUFFIXES = ("_min", "_max")
"""A trial over several seeds keeps `<metric>_min` / `<metric>_max` next to the aggregate (experiment.summarise)."""


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[FrozenTrial], object]


def cell_text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if math.isfinite(value) else str(value)
    return "" if value is None else str(value)


def sorted_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Complete trials by the primary objective (best first), then the rest by number."""
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    sign = -1.0 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else 1.0
    complete.sort(key=lambda t: sign * t.values[0])
    return complete + [t for t in study.trials if t.state != TrialState.COMPLETE]


def _metric(name: str) -> Callable[[FrozenTrial], object]:
    return lambda t: t.user_attrs.get(name)


def _spread(name: str) -> Callable[[FrozenTrial], object]:
    """`lo..hi` over the trial's seeds (empty for a one-seed trial)."""
    low, high = (f"{name}{suffix}" for suffix in SPREAD_SUFFIXES)

    def cell(trial: FrozenTrial) -> str:
        if low not in trial.user_attrs:
            return ""
        return f"{cell_text(trial.user_attrs[low])}..{cell_text(trial.user_attrs[high])}"
    return cell


def _state(trial: FrozenTrial) -> str:
    reason = trial.user_attrs.get(Attr.REASON) or trial.user_attrs.get(Attr.PRUNED_REASON)
    return trial.state.name + (f" ({reason})" if reason else "")


def columns(study: optuna.Study, extra: Sequence[Column] = ()) -> list[Column]:
    """Pareto (or best-trial) mark, number, parameters, objectives and key metrics, seed spread of each objective,
    held-out values (excolor-validate's records, when present), state, output dir; `extra` before the state."""
    trials = study.trials
    front = front_numbers(study)
    params = sorted({name for t in trials for name in t.params})
    objectives = objective_names(study)
    attrs = {key for t in trials for key in t.user_attrs}
    spread = [n for n in objectives if f"{n}{SPREAD_SUFFIXES[0]}" in attrs]
    concept = study_concept(study)
    return [
        Column("pareto" if len(objectives) > 1 else "best", lambda t: "*" if t.number in front else ""),
        Column("#", lambda t: t.number),
        *(Column(short_name(p), lambda t, p=p: t.params.get(p)) for p in params),
        *(Column(m, _metric(m)) for m in dict.fromkeys([*objectives, *for_concept(METRIC_COLUMNS, concept)])),
        *(Column(f"{n} seeds", _spread(n)) for n in spread),
        *(Column(header, cell) for header, cell in table_columns(read_heldout(study), concept)),  # excolor-validate's
        *extra,
        Column("state", _state),
        Column("output dir", lambda t: t.user_attrs.get(Attr.OUTPUT_DIR)),
    ]


def rows(study: optuna.Study, top: int | None = None,
         extra: Sequence[Column] = ()) -> tuple[list[str], list[list[str]]]:
    """(headers, one row of cell texts per trial), sorted as `sorted_trials`, the best `top` only if given."""
    cols = columns(study, extra)
    return [c.header for c in cols], [[cell_text(c.cell(t)) for c in cols] for t in sorted_trials(study)[:top]]


def text_table(study: optuna.Study, top: int | None = None, extra: Sequence[Column] = ()) -> str:
    """The table as aligned plain text (for the terminal)."""
    header, body = rows(study, top, extra)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *body])
