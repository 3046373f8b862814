"""`excolor-report`: compare the trials of a study without W&B: a table, the Pareto front, plots.

    excolor-report --storage sqlite:///multirun/optuna.db --study pareto-ex2_9_1 [--out DIR] [--top N] [--html] [--wandb]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import optuna
from optuna.trial import TrialState

from excolor.commands import BAD_INPUT_EXIT
from excolor.report_html import missing_plotly, write_page
from excolor.study import objective_names
from excolor.study_plots import write_plots
from excolor.trial_table import METRIC_COLUMNS, sorted_trials, text_table  # noqa: F401  (re-exported)


def trial_table(study: optuna.Study, top: int | None = None) -> str:
    """The trial table as aligned text (excolor/trial_table.py lists its columns)."""
    return text_table(study, top)


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
    parser.add_argument("--html", action="store_true",
                        help="also write <out>/report.html: interactive plots and the table, one file, works offline")
    parser.add_argument("--wandb", action="store_true", help="also log the study-level W&B run (under --out; "
                        "offline unless WANDB_MODE=online; upload with `wandb sync`)")
    args = parser.parse_args(argv)
    problem = storage_problem(args.storage) or (f"--top {args.top} must be >= 1" if args.top is not None
                                                 and args.top < 1 else None) or (missing_plotly() if args.html else None)
    if problem:
        print(f"excolor-report: {problem}", file=sys.stderr)
        return BAD_INPUT_EXIT
    try:
        summaries = optuna.get_all_study_summaries(storage=args.storage)
    except Exception as error:
        print(f"excolor-report: cannot open --storage {args.storage!r}: {str(error).splitlines()[0]}", file=sys.stderr)
        return BAD_INPUT_EXIT
    names = [s.study_name for s in summaries]
    if args.study is None or args.study not in names:
        if args.study is not None:
            print(f"excolor-report: no study {args.study!r} in {args.storage}; studies there: {names}", file=sys.stderr)
            return BAD_INPUT_EXIT
        for s in summaries:
            print(f"{s.study_name}  ({s.n_trials} trials)")
        return 0
    study = optuna.load_study(study_name=args.study, storage=args.storage)
    counts = {state.name: sum(t.state == state for t in study.trials) for state in TrialState}
    objectives = ", ".join(f"{n} ({d.name.lower()})" for n, d in zip(objective_names(study), study.directions))
    print(f"study {args.study}: objectives {objectives}; "
          + ", ".join(f"{n} {k.lower()}" for k, n in counts.items() if n))
    print(trial_table(study, args.top))
    if counts["COMPLETE"]:
        out = args.out or Path("multirun") / f"report-{args.study}"
        try:
            for path in write_plots(study, out):
                print(f"wrote {path}")
            if args.html:
                print(f"wrote {write_page(study, args.storage, out)}")
        except OSError as error:
            print(f"excolor-report: cannot write plots to --out {out}: {error.strerror or error}", file=sys.stderr)
            return BAD_INPUT_EXIT
    else:
        print("no complete trial yet: no plots written")
    if args.wandb:
        from excolor.wandb_study import report_to_wandb

        return report_to_wandb(study, args.storage, args.out or Path("multirun") / f"report-{args.study}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
