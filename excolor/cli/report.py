"""`excolor-report`: compare the trials of a study, or several studies, without W&B: tables, fronts, plots.

    excolor-report --storage sqlite:///multirun/optuna.db --study pareto-ex2_9_1 [--out DIR] [--top N] [--html] [--wandb]
    excolor-report --study pareto-ex2_9_1 --study pareto_wide-ex2_9_1 [--html] [--trials-out trials.csv]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Iterator

import optuna
from optuna.trial import TrialState

from excolor.errors import BAD_INPUT_EXIT, ConfigError
from excolor.run.config import DEFAULT_STORAGE
from excolor.study.compare import OVERLAY_FILE, Compared, overlay_figure, summary_rows, write_frame
from excolor.study.html import missing_plotly, write_compare_page, write_page
from excolor.study.plots import save_figure, write_plots
from excolor.study.records import objective_names
from excolor.study.storage import check_database_file, open_storage, shown_url, study_in, study_names
from excolor.study.table import cell_text, text_table


def parser_of() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="excolor-report", description=__doc__.splitlines()[0])
    parser.add_argument("--storage", action="append", help=f"Optuna storage URL (default {DEFAULT_STORAGE}); once "
                        "for every --study, or once per --study in the same order")
    parser.add_argument("--study", action="append", help="study name; repeat to compare studies side by side "
                        "(omit to list the studies in the storage)")
    parser.add_argument("--out", type=Path, help="where to write plots (default multirun/report-<study>, "
                        "multirun/compare-<study>-vs-<study> for several)")
    parser.add_argument("--trials-out", type=Path, help="also write every trial (Optuna's trials_dataframe with "
                        "study and pareto columns) as CSV, or Parquet for a .parquet path")
    parser.add_argument("--top", type=int, help="show only the best N trials")
    parser.add_argument("--html", action="store_true",
                        help="also write <out>/report.html: interactive plots and the table, one file, works offline")
    parser.add_argument("--wandb", action="store_true", help="also log the study-level W&B run (under --out; "
                        "offline unless WANDB_MODE=online; upload with `wandb sync`)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser_of().parse_args(argv)
    try:
        urls = storages_of(args.storage or [DEFAULT_STORAGE], args.study or [])
        for url in dict.fromkeys(urls):  # a missing file first: the command would otherwise create one
            check_database_file(url, create=False, key="--storage")
        problem = (f"--top {args.top} must be >= 1" if args.top is not None and args.top < 1 else None) or (
            missing_plotly() if args.html else None)
        if problem:
            raise ConfigError(problem)
        if not args.study:
            storage = open_storage(urls[0], create=False, key="--storage")
            for name, n_trials in study_names(storage, urls[0]).items():
                print(f"{name}  ({n_trials} trials)")
            return 0
        opened = {url: open_storage(url, create=False, key="--storage") for url in dict.fromkeys(urls)}
        studies = [study_in(opened[url], url, name) for url, name in zip(urls, args.study)]
    except ConfigError as error:
        print(f"excolor-report: {error}", file=sys.stderr)
        return BAD_INPUT_EXIT
    if len(studies) > 1:
        return compare(studies, urls, args)
    return report_one(studies[0], urls[0], args)


def report_one(study: optuna.Study, url: str, args: argparse.Namespace) -> int:
    """One study: its table, its plots (and page), its W&B study run and trials on request."""
    name = study.study_name
    out = args.out or Path("multirun") / f"report-{name}"
    counts = {state.name: sum(t.state == state for t in study.trials) for state in TrialState}
    objectives = ", ".join(f"{n} ({d.name.lower()})" for n, d in zip(objective_names(study), study.directions))
    print(f"study {name}: objectives {objectives}; "
          + ", ".join(f"{n} {k.lower()}" for k, n in counts.items() if n))
    print(text_table(study, args.top))
    if counts["COMPLETE"]:

        def files() -> Iterator[Path]:
            yield from write_plots(study, out)
            if args.html:
                yield write_page(study, url, out)

        if written(out, files()):
            return BAD_INPUT_EXIT
    else:
        print("no complete trial yet: no plots written")
    if args.wandb:
        from excolor.study.wandb_run import report_to_wandb

        return report_to_wandb(study, url, out)
    return write_trials(args.trials_out, [Compared(name, study)])


def written(out: Path, files: Iterator[Path]) -> bool:
    """Say each file as it is written; False, or True (said once) when `out` cannot be written: the user's."""
    try:
        for path in files:
            print(f"wrote {path}")
    except OSError as error:
        print(f"excolor-report: cannot write plots to --out {out}: {error.strerror or error}", file=sys.stderr)
        return True
    return False


def storages_of(storages: list[str], studies: list[str]) -> list[str]:
    """The storage of each --study: one --storage for all, or one per --study in order."""
    if len(storages) == 1:
        return storages * max(len(studies), 1)
    if len(storages) != len(studies):
        raise ConfigError(f"--storage is given {len(storages)} times for {len(studies)} --study: give one "
                          "storage for every study, or one per --study in the same order")
    return storages


def labels_of(studies: list[optuna.Study], urls: list[str]) -> list[str]:
    """Each study's name, or `storage:name` where two compared studies share a name."""
    names = [s.study_name for s in studies]
    return [f"{shown_url(url)}:{name}" if names.count(name) > 1 else name for name, url in zip(names, urls)]


def write_trials(path: Path | None, compared: list[Compared]) -> int:
    if path is None:
        return 0
    try:
        print(f"wrote {write_frame(compared, path)}")
    except (ConfigError, OSError) as error:
        print(f"excolor-report: cannot write --trials-out {path}: {error}", file=sys.stderr)
        return BAD_INPUT_EXIT
    return 0


def compare(studies: list[optuna.Study], urls: list[str], args: argparse.Namespace) -> int:
    """Several studies: a summary (front size and hypervolume against one reference), each study's table,
    the fronts overlaid (PNG, and the HTML page with --html), the trials as CSV/Parquet with --trials-out."""
    compared = [Compared(label, study) for label, study in zip(labels_of(studies, urls), studies)]
    try:
        header, rows = summary_rows(compared)
    except ConfigError as error:
        print(f"excolor-report: {error}", file=sys.stderr)
        return BAD_INPUT_EXIT
    print(aligned([header, *([cell_text(c) for c in row] for row in rows)]))
    for c in compared:
        print(f"\n{c.label}\n{text_table(c.study, args.top)}")
    out = args.out or Path("multirun") / ("compare-" + "-vs-".join(s.study_name for s in studies))

    def files() -> Iterator[Path]:
        out.mkdir(parents=True, exist_ok=True)
        yield save_figure(overlay_figure(compared), out / OVERLAY_FILE)
        if args.html:
            yield write_compare_page(compared, header, rows, urls, out)

    if written(out, files()):
        return BAD_INPUT_EXIT
    code = write_trials(args.trials_out, compared)
    if args.wandb:
        from excolor.study.wandb_run import report_to_wandb

        code = max([code, *(report_to_wandb(s, url, out) for s, url in zip(studies, urls))])
    return code


def aligned(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


if __name__ == "__main__":
    sys.exit(main())
