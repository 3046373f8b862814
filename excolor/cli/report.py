"""`excolor-report`: compare the trials of a study without W&B: a table, the Pareto front, plots.

    excolor-report --storage sqlite:///multirun/optuna.db --study pareto-ex2_9_1 [--out DIR] [--top N] [--html] [--wandb]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from optuna.trial import TrialState

from excolor.errors import BAD_INPUT_EXIT, ConfigError
from excolor.run.config import DEFAULT_STORAGE
from excolor.study.html import missing_plotly, write_page
from excolor.study.plots import write_plots
from excolor.study.records import objective_names
from excolor.study.storage import check_database_file, open_storage, study_in, study_names
from excolor.study.table import text_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="excolor-report", description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default=DEFAULT_STORAGE, help=f"Optuna storage URL (default {DEFAULT_STORAGE})")
    parser.add_argument("--study", help="study name (omit to list the studies in the storage)")
    parser.add_argument("--out", type=Path, help="where to write plots (default multirun/report-<study>)")
    parser.add_argument("--top", type=int, help="show only the best N trials")
    parser.add_argument("--html", action="store_true",
                        help="also write <out>/report.html: interactive plots and the table, one file, works offline")
    parser.add_argument("--wandb", action="store_true", help="also log the study-level W&B run (under --out; "
                        "offline unless WANDB_MODE=online; upload with `wandb sync`)")
    args = parser.parse_args(argv)
    try:
        check_database_file(args.storage, create=False, key="--storage")
        problem = (f"--top {args.top} must be >= 1" if args.top is not None and args.top < 1 else None) or (
            missing_plotly() if args.html else None)
        if problem:
            raise ConfigError(problem)
        storage = open_storage(args.storage, create=False, key="--storage")
        if args.study is None:
            for name, n_trials in study_names(storage, args.storage).items():
                print(f"{name}  ({n_trials} trials)")
            return 0
        study = study_in(storage, args.storage, args.study)
    except ConfigError as error:
        print(f"excolor-report: {error}", file=sys.stderr)
        return BAD_INPUT_EXIT
    counts = {state.name: sum(t.state == state for t in study.trials) for state in TrialState}
    objectives = ", ".join(f"{n} ({d.name.lower()})" for n, d in zip(objective_names(study), study.directions))
    print(f"study {args.study}: objectives {objectives}; "
          + ", ".join(f"{n} {k.lower()}" for k, n in counts.items() if n))
    print(text_table(study, args.top))
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
        from excolor.study.wandb_run import report_to_wandb

        return report_to_wandb(study, args.storage, args.out or Path("multirun") / f"report-{args.study}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
