"""`excolor-validate`: re-run a sweep's Pareto trials (or chosen ones) on held-out seeds, in one batched pass.

    excolor-validate --storage URL --study NAME [--seeds 10-19] [--top K | --trials 3,7] [--out DIR]
                     [--rerun] [--export NAME [--export-dir DIR]]

Each trial is rebuilt from the config its directory recorded (`<output_dir>/.hydra/config.yaml`), not
from the study's parameters: the study stores only the searched values, while the directory holds
everything the trial ran with (the preset, command-line overrides such as schedule.n_steps, every
default); its searched values are checked against the study's before anything runs. Only the seeds
change. All trials x held-out seeds train as one stacked model (as the batched launcher does), into
`<out>/<time>/<number>`. Each trial's held-out record is stored on the study (Optuna refuses to update
a finished trial): user attribute `heldout:<number>` (excolor/study/heldout.py). A trial already validated on
the same seeds is not run again unless --rerun.

`--export NAME` writes the one chosen trial as an experiment preset (`experiment=NAME`) into the user
config dir that excolor-train searches (excolor/run/config.py `user_config_dir`) or into --export-dir;
its provenance (study, trial, sweep and held-out numbers) is a comment at the top.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from omegaconf import OmegaConf

from excolor.errors import BAD_INPUT_EXIT, ConfigError
from excolor.run import runner
from excolor.run.config import CONF_DIR, user_config_dir
from excolor.run.outputs import writable_dir_problem
from excolor.run.saved import SAVED_CONFIG, trial_config
from excolor.study.export import check_export, preset_body, preset_text
from excolor.study.heldout import FLAG_RATIO, comparison_table, is_flagged, read_heldout, record_of, store_heldout
from excolor.study.records import choose_trials, study_concept
from excolor.study.storage import check_writable, load_study

DEFAULT_SEEDS = "10-19"


MAX_SEEDS = 1000
"""Held-out seeds one validation trains (each trial x seed is a member of one stacked model)."""


def parse_seeds(text: str) -> list[int]:
    """`10-19`, `10,12,15` or `10-14,20`: distinct non-negative integers, in the order given."""
    seeds: list[int] = []
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        if not low.isdigit() or (dash and not high.isdigit()) or (dash and int(high) < int(low)):
            raise ConfigError(f"--seeds {text!r}: {part.strip()!r} is not a seed or a range LOW-HIGH of "
                              "non-negative integers (e.g. --seeds 10-19 or --seeds 10,11,12)")
        if len(seeds) + (int(high) - int(low) + 1 if dash else 1) > MAX_SEEDS:  # before building the list
            raise ConfigError(f"--seeds {text!r} asks for more than {MAX_SEEDS} held-out seeds; give at most "
                              f"{MAX_SEEDS} (e.g. --seeds 10-19)")
        seeds += list(range(int(low), int(high) + 1)) if dash else [int(low)]
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r} names a seed twice")
    return seeds


def parse_numbers(text: str) -> list[int]:
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() for p in parts):
        raise ConfigError(f"--trials {text!r}: give trial numbers separated by commas, e.g. --trials 3,7")
    return list(dict.fromkeys(int(p) for p in parts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="excolor-validate", description=__doc__.splitlines()[0])
    parser.add_argument("--storage", required=True, help="Optuna storage URL of the sweep")
    parser.add_argument("--study", required=True, help="study name")
    parser.add_argument("--seeds", default=DEFAULT_SEEDS, help=f"held-out seeds (default {DEFAULT_SEEDS})")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--top", type=int, help="the K best complete trials by the first objective")
    which.add_argument("--trials", help="trial numbers, e.g. 3,7 (default: the Pareto front)")
    parser.add_argument("--out", type=Path, help="output root (default multirun/validate-<study>)")
    parser.add_argument("--rerun", action="store_true", help="run again trials already validated on these seeds")
    parser.add_argument("--export", metavar="NAME", help="write the one chosen trial as experiment=NAME")
    parser.add_argument("--export-dir", type=Path,
                        help="where the preset goes (default <user config dir>/experiment; "
                             "excolor/conf/experiment for the package's presets)")
    args = parser.parse_args(argv)
    try:
        return validate(args)
    except ConfigError as error:
        print(f"excolor-validate: {error}", file=sys.stderr)
        return BAD_INPUT_EXIT


def validate(args: argparse.Namespace) -> int:
    seeds = parse_seeds(args.seeds)
    if args.top is not None and args.top < 1:
        raise ConfigError(f"--top {args.top}: must be >= 1")
    if args.export_dir is not None and args.export is None:
        raise ConfigError("--export-dir needs --export NAME")
    target = check_export(args.export, args.export_dir) if args.export else None
    if problem := writable_dir_problem(str(args.out or "multirun"), "--out"):
        raise ConfigError(problem)
    study = load_study(args.storage, args.study)
    check_writable(study)  # the held-out records go on the study: a read-only storage fails before training
    trials = choose_trials(study, args.top, parse_numbers(args.trials) if args.trials else None)
    if target is not None and len(trials) != 1:
        raise ConfigError(f"--export writes one trial, but {len(trials)} are chosen "
                          f"({[t.number for t in trials]}); choose it with --trials N")
    configs = [trial_config(t, seeds) for t in trials]
    body = preset_body(args.export, trials[0], configs[0]) if target is not None else None
    stored = read_heldout(study)
    concept = study_concept(study)
    to_run = [i for i, t in enumerate(trials) if args.rerun or stored.get(t.number, {}).get("seeds") != seeds]
    out = (args.out or Path("multirun") / f"validate-{study.study_name}") / \
        datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    prepared = [runner.prepare(configs[i], out / str(trials[i].number)) for i in to_run]  # every check first
    if to_run:
        print(f"[excolor-validate] trials {[trials[i].number for i in to_run]} x seeds {seeds}: one batched run "
              f"into {out}", flush=True)
        for i, trial in zip(to_run, prepared):  # excolor-eval can re-evaluate each held-out run
            (trial.output_dir / SAVED_CONFIG).parent.mkdir(parents=True)
            OmegaConf.save(configs[i], trial.output_dir / SAVED_CONFIG)
        outcomes = runner.run_groups(prepared)
        for i, outcome in zip(to_run, outcomes):
            stored[trials[i].number] = record_of(outcome, seeds, str(configs[i].trial.aggregate), concept)
            store_heldout(study, trials[i].number, stored[trials[i].number])
    reused = [t.number for i, t in enumerate(trials) if i not in to_run]
    if reused:
        print(f"[excolor-validate] trials {reused}: held-out record on seeds {seeds} already stored "
              "(--rerun to run them again)", flush=True)
    print(f"study {study.study_name}: sweep vs held-out seeds {seeds} "
          f"({configs[0].trial.aggregate} [min..max] over seeds)")
    print(comparison_table(trials, stored, concept))
    flagged = [t.number for t in trials if is_flagged(t.user_attrs, stored[t.number])]
    if flagged:
        print(f"flagged (held-out collateral_mse >= {FLAG_RATIO:g}x the sweep's, or the held-out run failed): {flagged}")
    if target is not None and body is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(preset_text(args.export, body, trials[0], study, stored[trials[0].number]))
        searched = target.parent.resolve() in ((CONF_DIR / "experiment").resolve(),
                                               (user_config_dir() / "experiment").resolve())
        print(f"wrote {target}\nrun it: excolor-train experiment={args.export}" + (
            "" if searched else f" hydra.searchpath=[file://{target.parent.parent.resolve()}]  ({target.parent} "
                                "is not a folder excolor-train searches)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
