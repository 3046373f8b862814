"""`excolor-report`: compare the trials of a study without W&B: a table, the Pareto front, plots.

    excolor-report --storage sqlite:///multirun/optuna.db --study pareto-ex2_9_1 [--out DIR] [--top N]
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402
from optuna.trial import FrozenTrial, TrialState  # noqa: E402

from excolor.space import short_name  # noqa: E402
from excolor.heldout import heldout_columns  # noqa: E402
from excolor.study import Attr, read_heldout  # noqa: E402

METRIC_COLUMNS = ("red_mse", "collateral_mse", "selectivity", "recon_mse", "failed_seeds")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if math.isfinite(value) else str(value)
    return "" if value is None else str(value)


def sorted_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Complete trials by the primary objective (best first), then the rest by number."""
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    sign = -1.0 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else 1.0
    complete.sort(key=lambda t: sign * t.values[0])
    return complete + [t for t in study.trials if t.state != TrialState.COMPLETE]


def trial_table(study: optuna.Study, top: int | None = None) -> str:
    """One row per trial: Pareto mark, number, parameters, key metrics, state (and failure reason)."""
    front = {t.number for t in study.best_trials} if study.best_trials else set()
    params = sorted({name for t in study.trials for name in t.params})
    header = ["pareto", "#", *map(short_name, params), *METRIC_COLUMNS, "state"]
    rows = []
    for trial in sorted_trials(study)[:top]:
        state = trial.state.name + (f" ({trial.user_attrs[Attr.REASON]})" if Attr.REASON in trial.user_attrs else "")
        rows.append(["*" if trial.number in front else "", str(trial.number),
                     *(_cell(trial.params.get(p)) for p in params),
                     *(_cell(trial.user_attrs.get(m)) for m in METRIC_COLUMNS), state])
    extra_header, extra = heldout_columns(sorted_trials(study)[:top], read_heldout(study))  # excolor-validate's
    header, rows = header + extra_header, [row + cells for row, cells in zip(rows, extra)]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    return "\n".join(lines)


def _save(axes_or_fig: object, path: Path) -> Path:
    figure = axes_or_fig if isinstance(axes_or_fig, plt.Figure) else axes_or_fig.figure  # type: ignore[union-attr]
    figure.set_size_inches(8, 5)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_plots(study: optuna.Study, out: Path) -> list[Path]:
    """Pareto front (several objectives), parameter importances and objective history."""
    from optuna.visualization import matplotlib as ovm

    out.mkdir(parents=True, exist_ok=True)
    names = [f"objective {i}" for i in range(len(study.directions))]
    if study.metric_names:
        names = list(study.metric_names)
    written = []
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optuna marks its matplotlib backend experimental
        if len(study.directions) > 1:
            written.append(_save(ovm.plot_pareto_front(study, target_names=names), out / "pareto_front.png"))
            for i, name in enumerate(names):
                target = lambda t, i=i: t.values[i]  # noqa: E731
                written.append(_save(ovm.plot_optimization_history(study, target=target, target_name=name),
                                     out / f"history_{i}_{name}.png"))
                if len(complete) >= 2 and len({p for t in complete for p in t.params}) >= 2:
                    written.append(_save(ovm.plot_param_importances(study, target=target, target_name=name),
                                         out / f"importances_{i}_{name}.png"))
        else:
            written.append(_save(ovm.plot_optimization_history(study), out / "history.png"))
            if len(complete) >= 2:
                written.append(_save(ovm.plot_param_importances(study), out / "importances.png"))
    return written


def storage_problem(url: str) -> str | None:
    """A report only reads: a SQLite file that is missing or empty would be created (or filled) by opening it."""
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    if not path.is_file():
        return f"--storage {url}: no such file {path}; excolor-report reads an existing study storage (it creates none)"
    if path.stat().st_size == 0:
        return f"--storage {url}: {path} is empty, not an Optuna storage"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="excolor-report", description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default="sqlite:///multirun/optuna.db", help="Optuna storage URL")
    parser.add_argument("--study", help="study name (omit to list the studies in the storage)")
    parser.add_argument("--out", type=Path, help="where to write plots (default multirun/report-<study>)")
    parser.add_argument("--top", type=int, help="show only the best N trials")
    args = parser.parse_args(argv)
    problem = storage_problem(args.storage) or (f"--top {args.top} must be >= 1" if args.top is not None
                                                 and args.top < 1 else None)
    if problem:
        print(f"excolor-report: {problem}", file=sys.stderr)
        return 2
    try:
        summaries = optuna.get_all_study_summaries(storage=args.storage)
    except Exception as error:
        print(f"excolor-report: cannot open --storage {args.storage!r}: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    names = [s.study_name for s in summaries]
    if args.study is None or args.study not in names:
        if args.study is not None:
            print(f"excolor-report: no study {args.study!r} in {args.storage}; studies there: {names}", file=sys.stderr)
            return 2
        for s in summaries:
            print(f"{s.study_name}  ({s.n_trials} trials)")
        return 0
    study = optuna.load_study(study_name=args.study, storage=args.storage)
    counts = {state.name: sum(t.state == state for t in study.trials) for state in TrialState}
    print(f"study {args.study}: directions {[d.name.lower() for d in study.directions]}; "
          + ", ".join(f"{n} {k.lower()}" for k, n in counts.items() if n))
    print(trial_table(study, args.top))
    if counts["COMPLETE"]:
        out = args.out or Path("multirun") / f"report-{args.study}"
        try:
            for path in write_plots(study, out):
                print(f"wrote {path}")
        except OSError as error:
            print(f"excolor-report: cannot write plots to --out {out}: {error.strerror or error}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
