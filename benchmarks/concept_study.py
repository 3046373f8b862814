"""Is red special, or does the recipe transfer? One `sweep=pareto_wide` study per concept, the pick of a rule
fixed before any sweep ran, validated on held-out seeds beside the untuned recipe with that concept.

    python benchmarks/concept_study.py --concepts red,green,blue,cyan,warmth --trials 40 --seeds-per-trial 5 \
        --workdir /tmp/concepts [--export-dir excolor/conf/experiment]

Per concept:
1. the recipe (RECIPES: ex2_9_1, or for the warmth axis ex2_10_1, which has no anti-anchor) with
   `concept=<c>` on the sweep's seeds: its concept_mse is the floor of RULE;
2. `excolor-train experiment=<recipe> concept=<c> sweep=pareto_wide hydra/launcher=batched ...`;
3. one trial chosen by RULE;
4. that trial on the held-out seeds (`excolor-validate --trials N`, exported as a preset with --export-dir),
   and the untuned recipe with the same concept on the same seeds.
Writes <workdir>/concept_study.json and prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState
from shape_study import run, seed_list  # beside this file (run as a script)

from excolor.core.metric_names import COLLATERAL, CONCEPT, FAILED_SEEDS

RECIPES = {"warmth": "ex2_10_1"}
"""The untuned recipe of each concept (default ex2_9_1; an axis has no 'opposite' for the anti-anchor)."""
DEFAULT_RECIPE = "ex2_9_1"
EXPORTED = {"warmth": "ex2_6_warmth_tuned"}
"""Preset names of the picks (default `<recipe>_<concept>`)."""
RULE = ("among complete trials with no failed sweep seed and concept_mse >= the untuned recipe's on the sweep "
        "seeds, the least collateral_mse; if none reaches that floor, the highest concept_mse among trials "
        "with no failed seed")
COLUMNS = (CONCEPT, COLLATERAL, "median_mse", "similarity_r2")


def select(trials: list[FrozenTrial], floor: float) -> tuple[int, str]:
    """The trial RULE picks, and why."""
    clean = [t for t in trials if t.state == TrialState.COMPLETE and t.user_attrs.get(FAILED_SEEDS, 1) == 0]
    if not clean:
        raise SystemExit("no complete trial without a failed seed")
    ok = [t for t in clean if t.user_attrs[CONCEPT] >= floor]
    if ok:
        return min(ok, key=lambda t: t.user_attrs[COLLATERAL]).number, "at the floor: least collateral"
    return max(clean, key=lambda t: t.user_attrs[CONCEPT]).number, "none at the floor: most concept deleted"


def seeds_arg(seeds: list[int]) -> str:
    return f"trial.seeds=[{','.join(map(str, seeds))}]"


def train(args: argparse.Namespace, label: str, overrides: list[str], seeds: list[int]) -> dict:
    """One stacked run over `seeds`; its metrics.json, wall time and command."""
    out = args.workdir / label
    cmd = [sys.executable, "-m", "excolor.cli.train", *overrides, seeds_arg(seeds), "logger=none",
           "outputs.plots=false", f"hydra.run.dir={out}"]
    wall = 0.0 if (out / "metrics.json").is_file() else run(cmd, args.workdir / f"{label}.log")  # resumed
    return {"label": label, "metrics": json.loads((out / "metrics.json").read_text()), "wall_s": wall,
            "command": " ".join(cmd)}


def study_of(args: argparse.Namespace, concept: str, recipe: str, sweep_seeds: list[int]) -> dict:
    """Steps 1-4 for one concept."""
    base = [f"experiment={recipe}", f"concept={concept}"]
    floor = train(args, f"{concept}-recipe-sweep-seeds", base, sweep_seeds)["metrics"][CONCEPT]
    storage = f"sqlite:///{args.workdir / 'optuna.db'}"
    sweep = [sys.executable, "-m", "excolor.cli.train", *base, "sweep=pareto_wide", "logger=none",
             "hydra/launcher=batched", f"hydra.sweeper.n_jobs={args.batch}", seeds_arg(sweep_seeds),
             f"hydra.sweeper.n_trials={args.trials}", f"hydra.sweeper.sampler.seed={args.sampler_seed}",
             f"hydra.sweeper.storage='{storage}'", f"hydra.sweep.dir={args.workdir / concept / 'sweep'}"]
    name = f"pareto_wide-{recipe}" + ("" if concept == "red" else f"-{concept}")
    done = name in {s.study_name for s in optuna.get_all_study_summaries(storage)} and len(
        optuna.load_study(study_name=name, storage=storage).trials) >= args.trials  # a resumed study run
    sweep_wall = 0.0 if done else run(sweep, args.workdir / f"{concept}-sweep.log")
    study = optuna.load_study(study_name=name, storage=storage)
    number, why = select(study.trials, floor)
    preset = EXPORTED.get(concept, f"{recipe}_{concept}")
    validate = [sys.executable, "-m", "excolor.cli.validate", "--storage", storage, "--study", name, "--trials",
                str(number), "--seeds", args.heldout, "--out", str(args.workdir / concept / "heldout")]
    if args.export_dir:
        validate += ["--export", preset, "--export-dir", str(args.export_dir)]
    validate_wall = run(validate, args.workdir / f"{concept}-validate.log")
    record = optuna.load_study(study_name=name, storage=storage).user_attrs[f"heldout:{number}"]
    heldout = seed_list(args.heldout)
    recipe_row = train(args, f"{concept}-recipe-heldout", base, heldout)
    print(f"{concept}: floor {floor:.4g}; sweep {sweep_wall:.0f} s; trial #{number} ({why}); "
          f"validate {validate_wall:.0f} s", flush=True)
    return {"concept": concept, "recipe": recipe, "study": name, "trial": number, "why": why, "floor": floor,
            "params": study.trials[number].params, "sweep_wall_s": sweep_wall, "sweep_command": " ".join(sweep),
            "preset": preset if args.export_dir else None, "heldout_pick": record["metrics"],
            "heldout_recipe": recipe_row["metrics"], "n_trials": len(study.trials)}


def cell(metrics: dict, key: str) -> str:
    return f"{metrics[key]:.2g} [{metrics[key + '_min']:.2g}-{metrics[key + '_max']:.2g}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concepts", default="red,green,blue,cyan,warmth")
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seeds-per-trial", type=int, default=5, help="training seeds per trial (0..N-1)")
    parser.add_argument("--batch", type=int, default=10, help="trials per stacked batch (hydra.sweeper.n_jobs)")
    parser.add_argument("--sampler-seed", type=int, default=0)
    parser.add_argument("--heldout", default="10-19")
    parser.add_argument("--export-dir", type=Path, help="write each pick as a preset there")
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"selection rule: {RULE}", flush=True)
    sweep_seeds = list(range(args.seeds_per_trial))
    rows = [study_of(args, c, RECIPES.get(c, DEFAULT_RECIPE), sweep_seeds) for c in args.concepts.split(",")]
    (args.workdir / "concept_study.json").write_text(json.dumps({"rule": RULE, "rows": rows}, indent=1))
    n = len(seed_list(args.heldout))
    print(f"\nheld-out seeds {args.heldout}, median [min-max]\n| concept | run | " + " | ".join(COLUMNS)
          + " | failed seeds |\n|" + "---|" * (len(COLUMNS) + 3))
    for r in rows:
        for label, m in ((f"{r['recipe']} (untuned)", r["heldout_recipe"]), (f"trial {r['trial']}", r["heldout_pick"])):
            print(f"| {r['concept']} | {label} | " + " | ".join(cell(m, k) for k in COLUMNS)
                  + f" | {m[FAILED_SEEDS]:.0f} of {n} |")


if __name__ == "__main__":
    main()
