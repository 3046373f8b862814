"""Held-out results of sweep trials (written by excolor-validate) beside the sweep's own numbers.

A record (kept on the study under `heldout_key`) and a sweep trial's user attributes share
one shape for metrics: `<metric>` (the trial's aggregate over seeds), `<metric>_min`, `<metric>_max`,
`failed_seeds`, `n_seeds`. A record adds `seeds`, `aggregate`, `seed_values`, `failure`, `output_dir`
and `validated` (UTC time).
"""

from __future__ import annotations

import datetime
import math
from typing import Any, Callable, Mapping

import optuna
from optuna.trial import FrozenTrial

from excolor.core.metric_names import COLLATERAL, FAILED_SEEDS, N_SEEDS, heldout_shown, kept_on_trial
from excolor.run.outcome import TrialOutcome, json_safe

HELDOUT_PREFIX = "heldout:"
"""Study user attribute `heldout:<trial number>` -> that trial's held-out record. On the STUDY, not the
trial: Optuna refuses to update a finished trial's attributes."""


def heldout_key(number: int) -> str:
    """The study user attribute that holds trial `number`'s held-out record."""
    return f"{HELDOUT_PREFIX}{number}"


def store_heldout(study: optuna.Study, number: int, record: dict[str, Any]) -> None:
    """Keep a trial's held-out record (seeds, metrics, output dir) on its study; replaces an older one."""
    study.set_user_attr(heldout_key(number), json_safe(record))


def read_heldout(study: optuna.Study) -> dict[int, dict[str, Any]]:
    """Every held-out record of the study, by trial number (excolor-validate writes them)."""
    records = {}
    for key, value in study.user_attrs.items():
        number = key.removeprefix(HELDOUT_PREFIX)
        if key.startswith(HELDOUT_PREFIX) and number.isdigit() and isinstance(value, dict):
            records[int(number)] = value
    return records


FLAG_RATIO = 2.0
"""A trial whose held-out collateral_mse is at least this many times its sweep value is flagged."""


def record_of(outcome: TrialOutcome | str, seeds: list[int], aggregate: str, concept: str) -> dict[str, Any]:
    """The held-out record stored on the study: every metric a sweep keeps on a trial (aggregate, min, max
    over the seeds), per-seed values, failure, output dir, time."""
    if isinstance(outcome, str):
        return {"seeds": seeds, "aggregate": aggregate, "metrics": {}, "failure": outcome}
    return {"seeds": seeds, "aggregate": aggregate, "concept": concept,
            "metrics": {k: v for k, v in outcome.metrics.items() if kept_on_trial(k, outcome.named_colours)},
            "seed_values": outcome.seed_values, "failure": outcome.reason(), "output_dir": outcome.output_dir,
            "validated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def spread(metrics: Mapping[str, Any], key: str) -> str:
    """`value [min..max]` (the aggregate over seeds and its range), or '-' where absent."""
    value = _number(metrics.get(key))
    if value is None:
        return "-"
    low, high = _number(metrics.get(f"{key}_min")), _number(metrics.get(f"{key}_max"))
    return f"{value:.3g}" + (f" [{low:.3g}..{high:.3g}]" if low is not None and high is not None else "")


def failed(metrics: Mapping[str, Any]) -> str:
    """`k/n` failed seeds."""
    k, n = _number(metrics.get(FAILED_SEEDS)), _number(metrics.get(N_SEEDS))
    return "-" if k is None else f"{k:.0f}/{n:.0f}" if n is not None else f"{k:.0f}"


def is_flagged(sweep: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Held-out collateral_mse >= FLAG_RATIO x the sweep's (a failed held-out run is flagged too)."""
    swept, held = _number(sweep.get(COLLATERAL)), _number(record.get("metrics", {}).get(COLLATERAL))
    if held is None:
        return True
    return swept is not None and held >= FLAG_RATIO * swept


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows])


def comparison_table(trials: list[FrozenTrial], records: Mapping[int, Mapping[str, Any]], concept: str) -> str:
    """One row per trial: sweep vs held-out for each compared metric and failed seeds; `!` marks a flag."""
    shown = heldout_shown(concept)
    header = ["#"]
    for short in shown.values():
        header += [f"{short} sweep", f"{short} held-out"]
    header += ["failed sweep", "failed held-out", f"collateral >= {FLAG_RATIO:g}x"]
    rows = []
    for trial in trials:
        record = records.get(trial.number, {})
        held = record.get("metrics", {})
        row = [str(trial.number)]
        for key in shown:
            row += [spread(trial.user_attrs, key), spread(held, key)]
        row += [failed(trial.user_attrs), failed(held), "! FLAG" if is_flagged(trial.user_attrs, record) else ""]
        rows.append(row)
    return _table(header, rows)


COLUMN_PREFIX = "heldout_"
"""Tables of trials (excolor-report, the W&B study run) name held-out columns `heldout_<metric>`."""


def seeds_text(seeds: list[int]) -> str:
    """`10-19` for a run of consecutive seeds, else the list."""
    if seeds and seeds == list(range(min(seeds), max(seeds) + 1)):
        return f"{min(seeds)}-{max(seeds)}"
    return ",".join(map(str, seeds))


def table_columns(records: Mapping[int, Mapping[str, Any]],
                  concept: str) -> list[tuple[str, Callable[[FrozenTrial], Any]]]:
    """(header, cell of a trial) for each held-out column; none when the study has no held-out record."""
    if not records:
        return []

    def metric(key: str) -> Callable[[FrozenTrial], Any]:
        return lambda t: _number(records[t.number].get("metrics", {}).get(key)) if t.number in records else None

    def of_record(cell: Callable[[FrozenTrial, Mapping[str, Any]], Any]) -> Callable[[FrozenTrial], Any]:
        return lambda t: cell(t, records[t.number]) if t.number in records else None

    return [
        *((f"{COLUMN_PREFIX}{key}", metric(key)) for key in heldout_shown(concept)),
        (f"{COLUMN_PREFIX}failed", of_record(lambda t, r: failed(r.get("metrics", {})))),
        (f"{COLUMN_PREFIX}seeds", of_record(lambda t, r: seeds_text(list(r.get("seeds") or [])))),
        (f"{COLUMN_PREFIX}flag", of_record(lambda t, r: is_flagged(t.user_attrs, r))),
    ]
