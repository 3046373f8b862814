"""Several studies side by side: their Pareto fronts overlaid, a hypervolume each against one reference point,
one trial table with a study column, and a CSV (or Parquet) of every trial (Optuna's trials_dataframe).

Studies compare when they optimise the same objectives in the same directions. The concept's own metric
counts as the shared `concept_mse`, so studies of red and of blue compare on (collateral, concept deleted).
The hypervolume of each is measured, in minimisation form (a maximised objective negated), against the
worst value any complete trial of any compared study reached on each objective: one reference for all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from excolor.core.metric_names import CONCEPT, concept_metric
from excolor.errors import ConfigError
from excolor.study.records import best_trials, front_numbers, objective_names, study_concept

OVERLAY_FILE = "pareto_fronts.png"


@dataclass(frozen=True)
class Compared:
    """One study of a comparison, with the name it goes by there (its name, or storage:name when needed)."""

    label: str
    study: optuna.Study

    @property
    def objectives(self) -> list[tuple[str, str]]:
        """(shared name, direction) of each objective: the concept's own metric as `concept_mse`."""
        own = concept_metric(study_concept(self.study))
        return [(CONCEPT if name == own else name, d.name.lower())
                for name, d in zip(objective_names(self.study), self.study.directions)]

    def complete(self) -> list[FrozenTrial]:
        return self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def check_comparable(studies: list[Compared]) -> list[tuple[str, str]]:
    """The objectives every study shares; ConfigError naming the odd one out otherwise."""
    first = studies[0].objectives
    for other in studies[1:]:
        if other.objectives != first:
            raise ConfigError(f"studies {studies[0].label!r} and {other.label!r} optimise different objectives "
                              f"({first} and {other.objectives}); compare studies of the same objectives")
    return first


def minimised(values: list[float], directions: list[str]) -> list[float]:
    return [-v if d == "maximize" else v for v, d in zip(values, directions)]


def hypervolume(points: list[list[float]], reference: list[float]) -> float:
    """Volume dominated by `points` (every objective minimised) and bounded by `reference`, exact, by slicing
    along the last objective (fronts of a few dozen points in two or three objectives: instant)."""
    inside = [p for p in points if all(x < r for x, r in zip(p, reference))]
    if not inside:
        return 0.0
    if len(reference) == 1:
        return reference[0] - min(p[0] for p in inside)
    volume, ordered = 0.0, sorted(inside, key=lambda p: p[-1])
    for i, point in enumerate(ordered):
        top = ordered[i + 1][-1] if i + 1 < len(ordered) else reference[-1]
        if top > point[-1]:
            volume += (top - point[-1]) * hypervolume([p[:-1] for p in ordered[: i + 1]], reference[:-1])
    return volume


def reference_point(studies: list[Compared], directions: list[str]) -> list[float]:
    """The worst value of any complete trial of any study, per objective (minimisation form)."""
    points = [minimised(list(t.values), directions) for s in studies for t in s.complete()]
    if not points:
        raise ConfigError("no compared study has a complete trial yet: nothing to compare")
    return [max(p[i] for p in points) for i in range(len(directions))]


def summary_rows(studies: list[Compared]) -> tuple[list[str], list[list[Any]]]:
    """Per study: trials by state, the front's size, its hypervolume, and the best value per objective."""
    objectives = check_comparable(studies)
    directions = [d for _, d in objectives]
    reference = reference_point(studies, directions)
    header = ["study", "complete", "failed", "front", "hypervolume", *(f"best {n} ({d})" for n, d in objectives)]
    rows = []
    for s in studies:
        complete = s.complete()
        front = best_trials(s.study)
        best = [(max if d == "maximize" else min)((t.values[i] for t in complete), default=None)
                for i, d in enumerate(directions)]
        rows.append([s.label, len(complete), sum(t.state == TrialState.FAIL for t in s.study.trials), len(front),
                     hypervolume([minimised(list(t.values), directions) for t in front], reference), *best])
    return header, rows


def trials_frame(studies: list[Compared]):  # noqa: ANN201 (a pandas DataFrame; pandas is imported lazily)
    """Every trial of every study, one row each (Optuna's trials_dataframe), with `study` and `pareto`
    columns first."""
    import pandas as pd

    frames = []
    for s in studies:
        frame = s.study.trials_dataframe()
        front = front_numbers(s.study)
        frame.insert(0, "pareto", frame["number"].isin(front))
        frame.insert(0, "study", s.label)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def write_frame(studies: list[Compared], path: Path) -> Path:
    """The trials as CSV, or Parquet for a `.parquet` path (that needs pyarrow)."""
    frame = trials_frame(studies)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        try:
            frame.to_parquet(path)
        except ImportError as error:
            raise ConfigError(f"--trials-out {path}: Parquet needs pyarrow ({error}); pip install pyarrow, or "
                              "write a .csv") from None
    else:
        frame.to_csv(path, index=False)
    return path


def overlay_figure(studies: list[Compared], x: int = 0, y: int = 1):  # noqa: ANN201 (a matplotlib Figure)
    """Objective x against y for every study: its complete trials faint, its front a line with markers, one
    colour per study; log axes where values span decades."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from excolor.study.plots import spans_decades

    objectives = check_comparable(studies)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    everything = []
    for colour, s in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4, studies):
        complete = s.complete()
        everything += complete
        front = sorted(best_trials(s.study), key=lambda t: t.values[x])
        ax.scatter([t.values[x] for t in complete], [t.values[y] for t in complete], s=12, color=colour,
                   alpha=0.3)
        ax.plot([t.values[x] for t in front], [t.values[y] for t in front], "o-", color=colour, ms=5, lw=1.2,
                label=f"{s.label} (front {len(front)} of {len(complete)})")
    for axis, i in (("x", x), ("y", y)):
        if spans_decades([t.values[i] for t in everything]):
            getattr(ax, f"set_{axis}scale")("log")
    ax.set_xlabel(f"{objectives[x][0]} ({objectives[x][1]})")
    ax.set_ylabel(f"{objectives[y][0]} ({objectives[y][1]})")
    ax.set_title("Pareto fronts (lines) and complete trials (faint), one colour per study")
    ax.legend(loc="best", fontsize=8)
    return fig

