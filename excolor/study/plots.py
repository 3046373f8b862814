"""Plots of a study, named by its metric names: Pareto front, importances and history per objective.

Importances: Optuna's default evaluator (PED-ANOVA) ranks parameters by how much they matter for
reaching the *lowest* values of a given `target`, so a maximised objective is negated first;
otherwise the importances of red_mse (maximised) would explain how to keep red intact.
"""

from __future__ import annotations

import math
import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402
from optuna.study import StudyDirection  # noqa: E402
from optuna.trial import FrozenTrial, TrialState  # noqa: E402

from excolor.study.records import front_numbers, objective_names  # noqa: E402

LOG_SPAN = 10.0
"""Axes go logarithmic when an objective's positive values span more than this ratio (a decade)."""


def directions(study: optuna.Study) -> list[str]:
    return [d.name.lower() for d in study.directions]


def axis_label(study: optuna.Study, i: int) -> str:
    """`collateral_mse (minimize)`: a metric name with the direction it is optimised in."""
    return f"{objective_names(study)[i]} ({directions(study)[i]})"


def file_stem(text: str) -> str:
    """A file-name part without spaces or path characters."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "objective"


def importance_target(study: optuna.Study, i: int) -> Callable[[FrozenTrial], float]:
    """Objective i as a value to *minimise* (Optuna's importance evaluators read targets that way)."""
    sign = -1.0 if study.directions[i] == StudyDirection.MAXIMIZE else 1.0
    return lambda t: sign * t.values[i]


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna warns that its matplotlib backend is experimental and that a `target` is minimised
    (which importance_target arranges); neither is news to a report reader."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", message=r".*importances of params to achieve low `target` values")
        yield


def objective_importances(study: optuna.Study, i: int) -> dict[str, float]:
    """Parameter importances for objective i in its own direction (Optuna's default evaluator)."""
    with quiet_optuna():
        return optuna.importance.get_param_importances(study, target=importance_target(study, i))


def spans_decades(values: Sequence[float]) -> bool:
    """All positive and max/min above LOG_SPAN: a linear axis would crush the small values into zero."""
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) > LOG_SPAN


def complete_trials(study: optuna.Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def can_rank_params(study: optuna.Study) -> bool:
    """Importances need two complete trials and two parameters."""
    complete = complete_trials(study)
    return len(complete) >= 2 and len({p for t in complete for p in t.params}) >= 2


def pareto_figure(study: optuna.Study, x: int = 0, y: int = 1) -> plt.Figure:
    """Objective x against y for every complete trial, each annotated with its number; the front
    highlighted; log axes where values span decades."""
    complete = complete_trials(study)
    front = front_numbers(study)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    others = [t for t in complete if t.number not in front]
    best = sorted((t for t in complete if t.number in front), key=lambda t: t.values[x])
    ax.scatter([t.values[x] for t in others], [t.values[y] for t in others], s=18, c="0.6", label="dominated")
    ax.plot([t.values[x] for t in best], [t.values[y] for t in best], "o-", c="tab:red", ms=5, lw=1,
            label=f"Pareto front ({len(best)})")
    for t in complete:
        ax.annotate(str(t.number), (t.values[x], t.values[y]), xytext=(3, 3), textcoords="offset points",
                    fontsize=7, color="tab:red" if t.number in front else "0.35")
    for axis, i in (("x", x), ("y", y)):
        if spans_decades([t.values[i] for t in complete]):
            getattr(ax, f"set_{axis}scale")("log")
    ax.set_xlabel(axis_label(study, x))
    ax.set_ylabel(axis_label(study, y))
    ax.set_title(f"{study.study_name}: {len(complete)} complete trials, numbers annotated")
    ax.legend(loc="best", fontsize=8)
    return fig


def save_figure(fig: plt.Figure, path: Path) -> Path:
    fig.set_size_inches(8, 5.5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_plots(study: optuna.Study, out: Path) -> list[Path]:
    """PNG files, no spaces in their names: the Pareto front (two or more objectives), then per
    objective its history and its parameter importances."""
    from optuna.visualization import matplotlib as ovm

    out.mkdir(parents=True, exist_ok=True)
    names = objective_names(study)
    written = []
    complete = complete_trials(study)
    with quiet_optuna():
        if len(names) == 2:
            written.append(save_figure(pareto_figure(study), out / "pareto_front.png"))
        elif len(names) > 2:
            written.append(save_figure(ovm.plot_pareto_front(study, target_names=names).figure, out / "pareto_front.png"))
        for i, name in enumerate(names):
            stem = f"{i}_{file_stem(name)}" if len(names) > 1 else file_stem(name)
            history = ovm.plot_optimization_history(study, target=lambda t, i=i: t.values[i],
                                                    target_name=axis_label(study, i))
            if spans_decades([t.values[i] for t in complete]):
                history.set_yscale("log")
            written.append(save_figure(history.figure, out / f"history_{stem}.png"))
            if can_rank_params(study):
                importances = ovm.plot_param_importances(study, target=importance_target(study, i),
                                                         target_name=axis_label(study, i))
                written.append(save_figure(importances.figure, out / f"importances_{stem}.png"))
    return written
