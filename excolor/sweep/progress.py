"""What a sweep prints: per trial its outcome and, beneath it, its parameters (every line at most LINE_WIDTH
columns, so a terminal never wraps them), a progress line per batch with the time left, and the best trials
or Pareto front at the end."""

from __future__ import annotations

from typing import Any, Sequence

import optuna
from optuna.trial import FrozenTrial, TrialState

from excolor.core.metric_names import FAILED_SEEDS
from excolor.run.config import short_name
from excolor.study.records import best_trials

LINE_WIDTH = 120
PREFIX = "[excolor]"



def say(text: str) -> None:
    print(f"{PREFIX} {text}", flush=True)


def say_all(lines: list[str]) -> None:
    for line in lines:
        say(line)


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _number(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def param_label(key: str) -> str:
    """`regularizers.anchor.weight` -> `anchor`, `schedule.lr_scale` -> `lr_scale`,
    `labels.concepts.red.scale` -> `red.scale`: short, and still telling the poles apart."""
    parts = short_name(key).split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else parts[-1]


def params_text(params: dict[str, Any]) -> str:
    """`separate=1.57 anchor=7.26 lr_scale=0.817 red.scale=0.2`: each parameter by its short label."""
    return " ".join(f"{param_label(k)}={_number(v)}" for k, v in params.items())


def values_text(names: Sequence[str], values: Sequence[float]) -> str:
    """The objectives, named: `log10_collateral_mse=-3.42 red_mse=0.344`."""
    return " ".join(f"{n}={v:.4g}" for n, v in zip(names, values))


def wrapped(head: str, tail: str, params: dict[str, Any], width: int = LINE_WIDTH) -> list[str]:
    """`head  tail` on one line, then the parameters indented beneath it, every line within `width` columns
    with the prefix (a long tail, such as a failure's reason, is cut with `...`: it is whole on the trial)."""
    room = width - len(PREFIX) - 1
    first = f"{head}  {tail}" if tail else head
    lines = [first if len(first) <= room else first[: room - 3] + "..."]
    indent, line = " " * 6, ""
    for item in params_text(params).split():
        if line and len(indent) + len(line) + 1 + len(item) > room:
            lines.append(indent + line)
            line = ""
        line = f"{line} {item}" if line else item
    if line:
        lines.append(indent + line)
    return lines


def trial_lines(number: int, state: str, params: dict[str, Any], tail: str) -> list[str]:
    """`trial   12 done  <tail>` and the trial's parameters beneath (the full values are on the trial)."""
    return wrapped(f"trial {number:>4} {state}", tail, params)


def done_lines(trial: optuna.Trial, names: Sequence[str], values: Sequence[float], metrics: dict[str, float],
               wall: float) -> list[str]:
    failed = f"{FAILED_SEEDS}={metrics.get(FAILED_SEEDS, 0):.0f}" if metrics.get(FAILED_SEEDS) else ""
    tail = "  ".join(p for p in (values_text(names, values), failed, f"{wall:.1f}s") if p)
    return trial_lines(trial.number, "done", trial.params, tail)


def progress_line(finished: int, planned: int | None, total: int | None, complete: int, gained: int,
                  elapsed: float) -> str:
    """Trials done / to do with the time left at the pace so far: this run's trials, or with
    sweep.total_trials the study's complete trials (all workers together)."""
    if planned is None:
        left = f", about {duration(elapsed / gained * max(total - complete, 0))} left" if gained > 0 else ""
        return f"{complete}/{total} complete trials in the study; {duration(elapsed)} so far{left}"
    left = elapsed / max(finished, 1) * (planned - finished)
    return f"{finished}/{planned} trials of this run; {duration(elapsed)} so far, about {duration(left)} left"


def front_lines(study: optuna.Study) -> list[str]:
    """The best trial or the Pareto front, one line each, with the failed seeds of each."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return []
    best: list[FrozenTrial] = best_trials(study)
    label = "Pareto front" if len(study.directions) > 1 else "best trial"
    lines = [f"{label} ({len(best)} of {len(complete)} complete trials):"]
    for t in best:
        n_seeds = t.user_attrs.get("n_seeds")
        failed = f"failed seeds {t.user_attrs.get(FAILED_SEEDS, 0):.0f}" + (f"/{n_seeds:.0f}" if n_seeds else "")
        lines += wrapped(f"  #{t.number:>4}", f"{values_text(study.metric_names or [], t.values)}  {failed}",
                         t.params)
    return lines
