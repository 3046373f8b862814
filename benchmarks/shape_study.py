"""Shape study: one equal-budget sweep per model shape, its chosen trial re-run on held-out seeds.

    python benchmarks/shape_study.py --shapes k4_n1,k4_n2,k5_n1,k5_n2,k6_n1,k6_n2 --trials 30 \
        --seeds-per-trial 3 --batch 10 --workdir /tmp/shapes [--heldout 10-19] [--steps N]

Per shape (one after another, so the shapes share the machine alike), the real CLI:
Each shape is swept and then validated (`--sweep-only` skips validation; the same command resumes):
1. sweep: `python -m excolor.cli.train experiment=ex2_9_1 sweep=shape model=<shape> hydra/launcher=batched ...`,
   one study per shape (`shape-<experiment>-k<K>_n<N>`, see conf/sweep/shape.yaml) in one SQLite file;
2. select one trial by RULE, fixed before any result is seen;
3. validate: the chosen trial on the held-out seeds in one stacked run, by `excolor-validate` where this
   checkout has it (`--export-dir excolor/conf/experiment` also writes it as preset `shape_<shape>`),
   else `python -m excolor.cli.train experiment=... model=... <params> trial.seeds=[10..19]`; the run's
   metrics.json has each metric's median and `_min`/`_max` over those seeds.
Prints one table row per shape ("reached" = DELETES_ONLY on the held-out seeds) and writes
everything to <workdir>/shape_study.json after every shape.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

from excolor.core.metric_names import FAILED_SEEDS, named_after

ROOT = Path(__file__).resolve().parent.parent
SHAPES = ("k4_n1", "k4_n2", "k5_n1", "k5_n2", "k6_n1", "k6_n2")
MEDIAN_MAX, RED_MIN, FAILED_MAX = 1e-3, 0.2, 1
"""Issue 14's "deletes only red": median after-ablation median_mse <= 1e-3, named red after >= 0.2,
at most one failed seed of the held-out ten."""
RULE = ("among complete trials with no failed seed (all complete trials if none is free of them): if some have sweep median_mse <= 1e-3 and named red "
        ">= 0.2, the lowest collateral_mse of those; else, among those with named red >= 0.2, the lowest "
        "median_mse; else the lowest median_mse")
RED_AFTER = named_after("red")
COLUMNS = ("median_mse", RED_AFTER, "collateral_mse", "red_mse", "similarity_r2")


@dataclass
class Choice:
    number: int
    why: str
    params: dict


def select(trials: list[FrozenTrial]) -> Choice:
    """The trial RULE picks, with the step of the rule that picked it."""
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    clean = [t for t in complete if t.user_attrs.get(FAILED_SEEDS, 1) == 0] or complete
    if not clean:
        raise SystemExit("no complete trial in the study")
    attr = lambda t, k: float(t.user_attrs.get(k, float("nan")))  # noqa: E731
    red_ok = [t for t in clean if attr(t, RED_AFTER) >= RED_MIN]
    reach = [t for t in red_ok if attr(t, "median_mse") <= MEDIAN_MAX]
    if reach:
        best, why = min(reach, key=lambda t: attr(t, "collateral_mse")), "reaches in sweep: least collateral"
    elif red_ok:
        best, why = min(red_ok, key=lambda t: attr(t, "median_mse")), "red >= 0.2: least median_mse"
    else:
        best, why = min(clean, key=lambda t: attr(t, "median_mse")), "least median_mse"
    return Choice(best.number, why, dict(best.params))


def run(cmd: list[str], log: Path) -> float:
    """Run one CLI command from the repo root, output to `log`; its wall time in seconds."""
    started = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode
    if code != 0:
        sys.exit(f"failed ({code}): {' '.join(cmd)}\n  see {log}")
    return time.perf_counter() - started


def seed_list(spec: str) -> list[int]:
    """`10-19` or `10,11,12` as a list of ints."""
    if "-" in spec:
        low, high = spec.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(s) for s in spec.split(",")]


def reached(m: dict) -> bool:
    return m["median_mse"] <= MEDIAN_MAX and m[RED_AFTER] >= RED_MIN and m[FAILED_SEEDS] <= FAILED_MAX


def common(args: argparse.Namespace, shape: str) -> list[str]:
    return [f"experiment={args.experiment}", f"model={shape}", "logger=none"] + (
        [f"schedule.n_steps={args.steps}"] if args.steps else [])


def sweep_shape(args: argparse.Namespace, shape: str) -> dict:
    """Sweep one shape (or continue its study) and select its trial."""
    storage = f"sqlite:///{args.workdir / 'optuna.db'}"
    seeds = ",".join(map(str, range(args.seeds_per_trial)))
    sweep_cmd = [sys.executable, "-m", "excolor.cli.train", *common(args, shape), "sweep=shape", "hydra/launcher=batched",
                 f"hydra.sweeper.n_jobs={args.batch}", f"trial.seeds=[{seeds}]",
                 f"hydra.sweeper.n_trials={args.trials}", f"hydra.sweeper.sampler.seed={args.sampler_seed}",
                 f"hydra.sweeper.storage='{storage}'", f"hydra.sweep.dir={args.workdir / shape}"]
    sweep_wall = run(sweep_cmd, args.workdir / f"{shape}-sweep.log")
    study_name = f"shape-{args.experiment}-{shape}"
    trials = optuna.load_study(study_name=study_name, storage=storage).trials
    choice = select(trials)
    return {"shape": shape, "study": study_name, "storage": storage, "trial": choice.number, "why": choice.why,
            "params": choice.params, "n_trials": len(trials),
            "n_complete": sum(t.state == TrialState.COMPLETE for t in trials), "sweep_wall_s": sweep_wall,
            "sweep_command": " ".join(sweep_cmd)}


def validate_shape(args: argparse.Namespace, r: dict) -> dict:
    """The chosen trial on the held-out seeds: with excolor-validate (which also exports the preset
    `shape_<shape>` with its provenance) where this checkout has it, else by re-running its parameters."""
    heldout = seed_list(args.heldout)
    started = time.perf_counter()
    if (ROOT / "excolor" / "validate.py").is_file():  # this checkout's, not an installed copy's
        cmd = [sys.executable, "-m", "excolor.cli.validate", "--storage", r["storage"], "--study", r["study"],
               "--trials", str(r["trial"]), "--seeds", args.heldout, "--out", str(args.workdir / "validate")]
        if args.export_dir:
            cmd += ["--export", f"shape_{r['shape']}", "--export-dir", str(args.export_dir)]
        run(cmd, args.workdir / f"{r['shape']}-heldout.log")
        from excolor.study.heldout import read_heldout  # noqa: PLC0415 (only in checkouts with excolor-validate)

        record = read_heldout(optuna.load_study(study_name=r["study"], storage=r["storage"]))[r["trial"]]
        out = Path(record["output_dir"])
    else:
        out = args.workdir / f"{r['shape']}-heldout"
        cmd = [sys.executable, "-m", "excolor.cli.train", *common(args, r["shape"]),
               *(f"{k}={v!r}" for k, v in r["params"].items()),
               f"trial.seeds=[{','.join(map(str, heldout))}]", "outputs.plots=false", f"hydra.run.dir={out}"]
        run(cmd, args.workdir / f"{r['shape']}-heldout.log")
    metrics = json.loads((out / "metrics.json").read_text())
    return {**r, "heldout_wall_s": time.perf_counter() - started, "heldout_seeds": heldout, "metrics": metrics,
            "reached": reached(metrics), "heldout_command": " ".join(cmd)}


def row(r: dict) -> str:
    m = r["metrics"]
    cells = [f"{m[k]:.2g} ({m[k + '_min']:.2g}-{m[k + '_max']:.2g})" for k in COLUMNS]
    return (f"| {r['shape']} | {'yes' if r['reached'] else 'no'} | " + " | ".join(cells)
            + f" | {m['failed_seeds']:.0f} of {len(r['heldout_seeds'])} | #{r['trial']} of {r['n_trials']}"
            f" | {r['sweep_wall_s']:.0f} s + {r['heldout_wall_s']:.0f} s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated model= options")
    parser.add_argument("--experiment", default="ex2_9_1", help="the recipe every shape is swept on")
    parser.add_argument("--trials", type=int, default=30, help="trials per shape")
    parser.add_argument("--seeds-per-trial", type=int, default=3, help="training seeds per trial (0..N-1)")
    parser.add_argument("--batch", type=int, default=10, help="trials per stacked batch (hydra.sweeper.n_jobs)")
    parser.add_argument("--sampler-seed", type=int, default=0, help="hydra.sweeper.sampler.seed")
    parser.add_argument("--heldout", default="10-19", help="held-out seeds, `10-19` or `10,11,12`")
    parser.add_argument("--steps", type=int, help="schedule.n_steps, for quick smoke runs (default: the preset's)")
    parser.add_argument("--sweep-only", action="store_true", help="sweep and select; validate in a later run")
    parser.add_argument("--export-dir", type=Path,
                        help="with excolor-validate: write each chosen trial here as experiment shape_<shape>")
    parser.add_argument("--workdir", type=Path, required=True, help="study storage, sweep dirs, logs, JSON")
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    result_file = args.workdir / "shape_study.json"
    results = {r["shape"]: r for r in json.loads(result_file.read_text())["results"]} if result_file.exists() else {}
    print(f"selection rule: {RULE}", flush=True)
    header = ("| shape | reached | " + " | ".join(COLUMNS) + " | failed seeds | trial | wall (sweep + held-out) |")
    shapes = args.shapes.split(",")

    def save() -> None:  # after every step, so an interrupted study keeps what it measured
        result_file.write_text(json.dumps({"rule": RULE, "args": {k: str(v) for k, v in vars(args).items()},
                                           "results": list(results.values())}, indent=1))

    for shape in shapes:  # a re-run resumes: a shape already swept (or validated) is not run again
        if shape not in results:
            results[shape] = sweep_shape(args, shape)
            save()
            print(f"{shape}: trial #{results[shape]['trial']} ({results[shape]['why']}), "
                  f"sweep {results[shape]['sweep_wall_s']:.0f} s", flush=True)
        if not args.sweep_only and "metrics" not in results[shape]:
            results[shape] = validate_shape(args, results[shape])
            save()
            print(row(results[shape]), flush=True)
    print(f"\nheld-out seeds {args.heldout}, median (min-max); {args.trials} trials x {args.seeds_per_trial} seeds "
          f"per shape\n{header}\n|{'---|' * (len(COLUMNS) + 5)}")
    for shape in shapes:
        print(row(results[shape]))


if __name__ == "__main__":
    main()
