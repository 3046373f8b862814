"""Graded study: a three-objective sweep of ex2_9_1, its chosen trial on held-out seeds.

    python benchmarks/graded_study.py --trials 30 --seeds-per-trial 3 --batch 10 --workdir /tmp/graded

1. the preset `experiment=ex2_9_1` on the sweep's seeds: its red_mse is the floor of RULE;
2. `python -m excolor.cli.train experiment=ex2_9_1 sweep=graded hydra/launcher=batched ...` (collateral_mse
   min, red_mse max, similarity_r2 max);
3. one trial chosen by RULE, fixed before any result is seen;
4. that trial, `ex2_9_1` and `ex2_9_1_tuned` re-run on the held-out seeds (one stacked run each).
TARGET (on the held-out seeds): median collateral_mse <= 1/10 of the preset's, red_mse >= the preset's,
similarity_r2 >= 0.85, no failed seed. Writes <workdir>/graded_study.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState
from shape_study import run, seed_list  # beside this file (run as a script)

from excolor.core.metric_names import FAILED_SEEDS

EXPERIMENT, SWEEP, BASELINES = "ex2_9_1", "graded", ("ex2_9_1", "ex2_9_1_tuned")
R2_MIN = 0.85
RULE = ("among complete trials with no failed seed and red_mse >= the preset's (sweep seeds): if some have "
        "similarity_r2 >= 0.85, the lowest collateral_mse of those; else the highest similarity_r2; "
        "with none at the red floor, the highest red_mse")
COLUMNS = ("collateral_mse", "red_mse", "similarity_r2", "median_mse", "named_red_after")


def select(trials: list[FrozenTrial], red_floor: float) -> tuple[int, str]:
    """The trial RULE picks and why."""
    clean = [t for t in trials if t.state == TrialState.COMPLETE and t.user_attrs.get(FAILED_SEEDS, 1) == 0]
    ok = [t for t in clean if t.user_attrs["red_mse"] >= red_floor]
    if not ok:
        if not clean:
            raise SystemExit("no complete trial without a failed seed")
        return max(clean, key=lambda t: t.user_attrs["red_mse"]).number, "none reaches the red floor: most red"
    graded = [t for t in ok if t.user_attrs["similarity_r2"] >= R2_MIN]
    if graded:
        return min(graded, key=lambda t: t.user_attrs["collateral_mse"]).number, "graded: least collateral"
    return max(ok, key=lambda t: t.user_attrs["similarity_r2"]).number, "none graded: highest similarity_r2"


def steps(args: argparse.Namespace) -> list[str]:
    return [f"schedule.n_steps={args.steps}"] if args.steps else []


def train(args: argparse.Namespace, label: str, overrides: list[str], seeds: list[int]) -> dict:
    """One stacked run over `seeds`; its metrics.json and wall time."""
    out = args.workdir / label
    cmd = [sys.executable, "-m", "excolor.cli.train", *overrides, *steps(args), f"trial.seeds=[{','.join(map(str, seeds))}]",
           "logger=none", "outputs.plots=false", f"hydra.run.dir={out}"]
    wall = run(cmd, args.workdir / f"{label}.log")
    return {"label": label, "metrics": json.loads((out / "metrics.json").read_text()), "wall_s": wall,
            "command": " ".join(cmd)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seeds-per-trial", type=int, default=3, help="training seeds per trial (0..N-1)")
    parser.add_argument("--batch", type=int, default=10, help="trials per stacked batch (hydra.sweeper.n_jobs)")
    parser.add_argument("--sampler-seed", type=int, default=0)
    parser.add_argument("--heldout", default="10-19")
    parser.add_argument("--steps", type=int, help="schedule.n_steps, for quick smoke runs (default: the preset's)")
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    sweep_seeds = list(range(args.seeds_per_trial))
    print(f"selection rule: {RULE}", flush=True)
    preset = train(args, "preset-sweep-seeds", [f"experiment={EXPERIMENT}"], sweep_seeds)
    red_floor = preset["metrics"]["red_mse"]
    storage = f"sqlite:///{args.workdir / 'optuna.db'}"
    sweep_cmd = [sys.executable, "-m", "excolor.cli.train", f"experiment={EXPERIMENT}", *steps(args), f"sweep={SWEEP}", "logger=none",
                 "hydra/launcher=batched", f"hydra.sweeper.n_jobs={args.batch}",
                 f"trial.seeds=[{','.join(map(str, sweep_seeds))}]", f"hydra.sweeper.n_trials={args.trials}",
                 f"hydra.sweeper.sampler.seed={args.sampler_seed}", f"hydra.sweeper.storage='{storage}'",
                 f"hydra.sweep.dir={args.workdir / 'sweep'}"]
    sweep_wall = run(sweep_cmd, args.workdir / "sweep.log")
    study = optuna.load_study(study_name=f"{SWEEP}-{EXPERIMENT}", storage=storage)
    number, why = select(study.trials, red_floor)
    params = study.trials[number].params
    print(f"preset red_mse on seeds {sweep_seeds}: {red_floor:.4g}; sweep {sweep_wall:.0f} s; chosen trial "
          f"#{number} ({why}): {params}", flush=True)
    heldout = seed_list(args.heldout)
    rows = [train(args, f"heldout-{name}", [f"experiment={name}"], heldout) for name in BASELINES]
    rows.append(train(args, f"heldout-trial{number}", [f"experiment={EXPERIMENT}",
                                                        *(f"{k}={v!r}" for k, v in params.items())], heldout))
    base = rows[0]["metrics"]
    chosen = rows[-1]["metrics"]
    met = {"collateral <= preset/10": chosen["collateral_mse"] <= base["collateral_mse"] / 10,
           "red >= preset": chosen["red_mse"] >= base["red_mse"],
           f"similarity_r2 >= {R2_MIN}": chosen["similarity_r2"] >= R2_MIN,
           "no failed seed": chosen[FAILED_SEEDS] == 0}
    (args.workdir / "graded_study.json").write_text(json.dumps(
        {"rule": RULE, "trial": number, "why": why, "params": params, "red_floor": red_floor, "sweep_wall_s": sweep_wall,
         "sweep_command": " ".join(sweep_cmd), "n_trials": len(study.trials), "rows": rows, "target": met}, indent=1))
    print(f"\nheld-out seeds {args.heldout}, median (min-max)\n| run | " + " | ".join(COLUMNS)
          + " | failed seeds |\n|" + "---|" * (len(COLUMNS) + 2))
    for r in rows:
        m = r["metrics"]
        print(f"| {r['label'].removeprefix('heldout-')} | "
              + " | ".join(f"{m[k]:.2g} ({m[k + '_min']:.2g}-{m[k + '_max']:.2g})" for k in COLUMNS)
              + f" | {m[FAILED_SEEDS]:.0f} of {len(heldout)} |")
    print("target: " + ", ".join(f"{k}: {'yes' if v else 'no'}" for k, v in met.items()))


if __name__ == "__main__":
    main()
