"""Sweep quality: what a fixed budget of batched sweep trials finds, per sampler, over sampler seeds.

    python benchmarks/sweep_quality.py --trials 40 --seeds-per-trial 3 --batch 10 \
        --sampler-seeds 0,1,2 --samplers batch_tpe,random,batch_nsgaii [--steps N] [--workdir DIR [--reuse]]

Each sweep is the real CLI (`python -m excolor.cli.train -m experiment=ex2_9_1 sweep=pareto_wide
hydra/launcher=batched ...`) in a child process with its own SQLite study, read back with public
Optuna APIs. The preset (`experiment=ex2_9_1`, no sweep) is run once on the same seeds. Every
candidate gets the same budget of member-runs (one trial trained on one seed), --trials x
--seeds-per-trial; a candidate `SAMPLER+raceK` races over seeds (`hydra.launcher.race_seeds=K`), so its
pruned trials cost K and it fits more trials in the budget. Per candidate, median [min-max] over
sampler seeds of:
- hv: hypervolume of the Pareto front in (log10 collateral_mse, red_mse) against REFERENCE;
- best_coll: the least collateral_mse among trials with red_mse >= the preset's;
- diversity: pairwise distances between the proposals of one batch (log-scaled parameters in log10,
  linear ones scaled to [0, 1]): mean and nearest pair in the first batch after the default
  sampler's random start-up, and the median of the per-batch mean and nearest pair over all batches
  after it;
- wall: seconds per sweep; budget_s: seconds from its first trial's start to the end of the last trial
  within the member-run budget (a racing sweep runs past the budget; only whole batches within it count).
Then hv along the way: the same sweeps cut at 1/4, 2/4 and 3/4 of the budget, where a star marks a
candidate whose worst sampler seed beats random search's best; and per candidate the number of sampler
seeds at which it beats random search. The last line is `ratio: X`, the default sampler's median hv
over random search's.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import optuna
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState
from shape_study import run  # beside this file (run as a script): one way to run a CLI step

from excolor.run.outcome import Attr
from excolor.study.compare import hypervolume

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = "ex2_9_1"
SWEEP = "pareto_wide"
REFERENCE = (0.0, 0.0)
"""Hypervolume reference point (log10 collateral_mse, red_mse): collateral 1.0, nothing deleted."""
SAMPLER_GROUP = "hydra/sweeper/sampler"
PARTS = 4
"""hv along the way is also reported at 1/4, 2/4 and 3/4 of the member-run budget (the same sweeps, cut)."""
RACE = "+race"
"""A candidate `SAMPLER+raceK` sweeps with `hydra.launcher.race_seeds=K` (excolor/sweep/racing.py); a plain
`SAMPLER` with no race, whatever the launcher's default."""


def hypervolume_2d(points: list[tuple[float, float]], reference: tuple[float, float] = REFERENCE) -> float:
    """Area dominated by points (x minimised, y maximised) and bounded by the reference point."""
    return hypervolume([[x, -y] for x, y in points], [reference[0], -reference[1]])


def normalised(trial: FrozenTrial) -> np.ndarray:
    """A trial's parameters as a point: log-scaled ones in log10, linear ones scaled to [0, 1]."""
    coords = []
    for name in sorted(trial.params):
        dist, value = trial.distributions[name], trial.params[name]
        if not isinstance(dist, (FloatDistribution, IntDistribution)):
            raise ValueError(f"{name}: only numeric parameters are supported, got {dist}")
        coords.append(math.log10(value) if dist.log else (value - dist.low) / (dist.high - dist.low))
    return np.array(coords)


def pairwise(points: list[np.ndarray]) -> tuple[float, float]:
    """Mean and minimum distance over all pairs."""
    dists = [float(np.linalg.norm(a - b)) for a, b in itertools.combinations(points, 2)]
    return statistics.fmean(dists), min(dists)


def sampler_choice(overrides: list[str], seeds_per_trial: int) -> tuple[str, int]:
    """The preset's candidate (sampler option, +raceK when it races) and how many trials it draws at random before it learns."""
    from hydra import compose, initialize_config_dir

    from excolor.run.config import CONF_DIR, register_schema

    register_schema()
    with initialize_config_dir(config_dir=str(CONF_DIR)):
        cfg = compose("config", overrides=overrides, return_hydra_config=True)
    node = cfg.hydra.sweeper.sampler
    startup = node.get("n_startup_trials") or node.get("population_size") or 0
    race = cfg.hydra.launcher.get("race_seeds")
    racing = race and seeds_per_trial > race  # the launcher races only trials with seeds beyond the first ones
    return cfg.hydra.runtime.choices[SAMPLER_GROUP] + (f"{RACE}{race}" if racing else ""), int(startup)


@dataclass
class SweepResult:
    sampler: str
    seed: int
    wall_s: float
    hv: float
    best_coll: float
    n_failed: int
    first_mean: float
    first_min: float
    later_mean: float
    later_min: float
    n_trials: int  # within the member-run budget
    n_pruned: int
    budget_s: float  # from the first trial's start to the last one's end, within the budget
    extra: dict = field(default_factory=dict)


def common(args: argparse.Namespace) -> list[str]:
    seeds = ",".join(map(str, range(args.seeds_per_trial)))
    return [f"experiment={EXPERIMENT}", f"trial.seeds=[{seeds}]", "logger=none"] + (
        [f"schedule.n_steps={args.steps}"] if args.steps else [])


def preset_red(args: argparse.Namespace, work: Path) -> dict:
    """Run the preset itself on the same seeds; its metrics (aggregated as a sweep trial's are)."""
    out = work / "preset"
    cmd = [sys.executable, "-m", "excolor.cli.train", *common(args), f"hydra.run.dir={out}", "outputs.plots=false"]
    reuse = args.reuse and (out / "metrics.json").exists()
    wall = math.nan if reuse else run(cmd, work / "preset.log")
    metrics = json.loads((out / "metrics.json").read_text())
    return {"red_mse": metrics["red_mse"], "collateral_mse": metrics["collateral_mse"], "wall_s": wall,
            "command": " ".join(cmd)}


def race_of(candidate: str) -> tuple[str, int | None]:
    """(sampler option, race_seeds or None) of a candidate name such as `batch_tpe+race2`."""
    sampler, _, race = candidate.partition(RACE)
    return sampler, (int(race) if race else None)


def within_budget(trials: list[FrozenTrial], batch: int, budget: int, seeds_per_trial: int) -> list[FrozenTrial]:
    """The trials of the whole batches, in the order the sweep ran them, whose member-runs (trial x seed
    trainings, pruned trials counting the seeds they ran) fit in `budget`."""
    kept, spent = [], 0
    for start in range(0, len(trials), batch):
        chunk = trials[start:start + batch]
        cost = sum(len(t.user_attrs.get(Attr.SEEDS) or range(seeds_per_trial)) for t in chunk)
        if spent + cost > budget:
            break
        kept, spent = kept + chunk, spent + cost
    return kept


def front_hv(trials: list[FrozenTrial]) -> float:
    """Hypervolume of the complete trials' (log10 collateral_mse, red_mse), read from each trial's own
    aggregated metrics (its user attributes), whatever form the objectives took (log10_collateral_mse now,
    collateral_mse in studies made before)."""
    coll_red = [(t.user_attrs["collateral_mse"], t.user_attrs["red_mse"]) for t in trials
                if t.state == TrialState.COMPLETE]
    return hypervolume_2d([(math.log10(c), r) for c, r in coll_red if c > 0])


def seconds_spent(trials: list[FrozenTrial]) -> float:
    """Wall seconds the sweep took to run `trials` (start of the first to end of the last; no imports):
    what a budget of member-runs cost in time, which racing (two training stages a batch) changes."""
    ended = [t.datetime_complete for t in trials if t.datetime_complete is not None]
    if not ended:
        return math.nan
    return (max(ended) - min(t.datetime_start for t in trials if t.datetime_start is not None)).total_seconds()


def sweep(args: argparse.Namespace, work: Path, candidate: str, seed: int, first_informed: int,
          red_floor: float) -> SweepResult:
    name = f"{candidate}-s{seed}"
    db = work / f"{name}.db"
    sampler, race = race_of(candidate)
    budget = args.trials * args.seeds_per_trial  # member-runs: the same for every candidate
    n_trials = args.trials if race is None else args.race_trials or math.ceil(budget / race)
    cmd = [sys.executable, "-m", "excolor.cli.train", "-m", *common(args), f"sweep={SWEEP}", "hydra/launcher=batched",
           f"{SAMPLER_GROUP}={sampler}", f"hydra.sweeper.sampler.seed={seed}",
           f"hydra.sweeper.n_trials={n_trials}", f"hydra.sweeper.n_jobs={args.batch}",
           f"hydra.sweeper.storage='sqlite:///{db}'", f"hydra.sweeper.study_name={name}",
           f"hydra.sweep.dir={work / name}", f"hydra.launcher.race_seeds={'null' if race is None else race}"]
    if args.reuse and db.exists():  # measured by an earlier run in this --workdir (its wall time is not known here)
        wall = math.nan
    else:
        wall = run(cmd, work / f"{name}.log")
    ran = sorted(optuna.load_study(study_name=name, storage=f"sqlite:///{db}").trials, key=lambda t: t.number)
    if len(ran) != n_trials:
        sys.exit(f"{db}: {len(ran)} trials, not {n_trials}; use another --workdir")
    trials = within_budget(ran, args.batch, budget, args.seeds_per_trial)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    eligible = [t.user_attrs["collateral_mse"] for t in complete if t.user_attrs["red_mse"] >= red_floor]
    # The same sweep cut at smaller budgets (whole batches): a sampler's proposals never depend on n_trials,
    # so the first N trials of a longer sweep are the sweep of N trials.
    cuts = [part * budget // PARTS for part in range(1, PARTS)]
    hv_along = {str(cut): front_hv(within_budget(ran, args.batch, cut, args.seeds_per_trial)) for cut in cuts}
    hv = hv_along[str(budget)] = front_hv(trials)
    batches: dict[int, list[np.ndarray]] = {}
    for t in trials:  # the sweeper asks trial numbers in order, one batch at a time
        if t.params:
            batches.setdefault(t.number // args.batch, []).append(normalised(t))
    diversity = {i: pairwise(points) for i, points in batches.items() if len(points) > 1}
    later = [diversity[i] for i in sorted(diversity) if i >= first_informed]
    first = diversity.get(first_informed, (math.nan, math.nan))
    return SweepResult(candidate, seed, wall, hv, min(eligible, default=math.nan),
                       sum(t.state == TrialState.FAIL for t in trials), first[0], first[1],
                       statistics.median(m for m, _ in later) if later else math.nan,
                       statistics.median(n for _, n in later) if later else math.nan,
                       len(trials), sum(t.state == TrialState.PRUNED for t in trials), seconds_spent(trials),
                       {"batch_diversity": {str(i): d for i, d in diversity.items()}, "hv_along": hv_along})


def spread(values: list[float], fmt: str) -> str:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return "n/a"
    return f"{format(statistics.median(finite), fmt)} [{format(min(finite), fmt)}-{format(max(finite), fmt)}]"


COLUMNS = [("hv", ".3f"), ("best_coll", ".2e"), ("first_mean", ".2f"), ("first_min", ".3f"),
           ("later_mean", ".2f"), ("later_min", ".3f"), ("wall_s", ".0f"), ("n_failed", ".0f"),
           ("n_trials", ".0f"), ("n_pruned", ".0f"), ("budget_s", ".0f")]


def write_json(args: argparse.Namespace, preset: dict, results: list[SweepResult]) -> None:
    args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "preset": preset,
                                     "results": [r.__dict__ for r in results]}, indent=1))


def print_along(by_sampler: dict[str, list[SweepResult]], seeds_per_trial: int) -> None:
    """hv at fractions of the budget, per candidate (median [min-max]), and whether each candidate's range
    clears random search's there."""
    budgets = list(by_sampler["random"][0].extra["hv_along"])
    random_best = {b: max(r.extra["hv_along"][b] for r in by_sampler["random"]) for b in budgets}
    print(f"\nhv along the way (the same sweeps cut at whole batches; member-runs, "
          f"~trials at {seeds_per_trial} seeds):")
    print(f"{'sampler':>15}  " + "  ".join(f"{f'{b} (~{int(b) // seeds_per_trial})':>22}" for b in budgets))
    for sampler, rows in by_sampler.items():
        cells = []
        for b in budgets:
            values = [r.extra["hv_along"][b] for r in rows]
            apart = sampler != "random" and min(values) > random_best[b]
            cells.append(spread(values, ".3f") + (" *" if apart else ""))
        print(f"{sampler:>15}  " + "  ".join(f"{c:>22}" for c in cells))
    print("  * its worst sampler seed is above random search's best")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40, help="trials per sweep")
    parser.add_argument("--seeds-per-trial", type=int, default=3, help="training seeds per trial (0..N-1)")
    parser.add_argument("--batch", type=int, default=10, help="trials per batch (hydra.sweeper.n_jobs)")
    parser.add_argument("--sampler-seeds", default="0,1,2", help="comma-separated hydra.sweeper.sampler.seed values")
    parser.add_argument("--samplers", default=None,
                        help="comma-separated hydra/sweeper/sampler options, each optionally +raceK to race over seeds "
                             "(hydra.launcher.race_seeds=K), e.g. batch_tpe+race2 (default: the preset's, random, batch_nsgaii)")
    parser.add_argument("--race-trials", type=int,
                        help="trials a SAMPLER+raceK sweep runs (default: budget / K, the most that can fit); "
                             "only whole batches within the budget of --trials x --seeds-per-trial member-runs count")
    parser.add_argument("--steps", type=int, help="schedule.n_steps, for quick smoke runs (default: the preset's)")
    parser.add_argument("--workdir", type=Path, help="keep studies and logs here (default: a temporary dir)")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--reuse", action="store_true",
                        help="read sweeps (and the preset run) already in --workdir instead of running them again, "
                             "e.g. to add a sampler to an earlier comparison (their wall time shows as nan)")
    args = parser.parse_args()

    default, startup = sampler_choice([f"experiment={EXPERIMENT}", f"sweep={SWEEP}", "hydra/launcher=batched",
                                       f"hydra.sweeper.n_jobs={args.batch}"], args.seeds_per_trial)
    samplers = args.samplers.split(",") if args.samplers else [default, "random", "batch_nsgaii"]
    if "random" not in samplers:
        samplers.append("random")
    seeds = [int(s) for s in args.sampler_seeds.split(",")]
    first_informed = math.ceil(startup / args.batch)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="sweep_quality_"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"default sampler (sweep={SWEEP}): {default}, {startup} random start-up trials -> first informed "
          f"batch is #{first_informed}; {args.trials} trials x {args.seeds_per_trial} seeds in batches of "
          f"{args.batch}; sampler seeds {seeds}; work dir {work}", flush=True)

    preset = preset_red(args, work)
    print(f"preset {EXPERIMENT}: red_mse={preset['red_mse']:.4f} collateral_mse={preset['collateral_mse']:.3g} "
          f"({preset['wall_s']:.0f} s)", flush=True)
    results: list[SweepResult] = []
    for seed in seeds:  # samplers interleaved, so drifting machine load hits each alike
        for sampler in samplers:
            r = sweep(args, work, sampler, seed, first_informed, preset["red_mse"])
            results.append(r)
            if args.json:  # after every sweep, so an interrupted run keeps what it measured
                write_json(args, preset, results)
            print(f"  {sampler:>13} seed {seed}: hv={r.hv:.3f} best_coll={r.best_coll:.3g} "
                  f"first_min={r.first_min:.3f} later_min={r.later_min:.3f} failed={r.n_failed} "
                  f"trials={r.n_trials} pruned={r.n_pruned} "
                  f"{r.wall_s:.0f} s", flush=True)

    print(f"\nhv: reference (log10 collateral_mse, red_mse) = {REFERENCE}; best_coll: red_mse >= "
          f"{preset['red_mse']:.4f} (preset); first_*: batch #{first_informed}; later_*: median over batches "
          f">= #{first_informed}. Median [min-max] over sampler seeds {seeds}.")
    header = f"{'sampler':>13}  " + "  ".join(f"{name:>22}" for name, _ in COLUMNS)
    print(header)
    by_sampler = {s: [r for r in results if r.sampler == s] for s in samplers}
    for sampler, rows in by_sampler.items():
        cells = [spread([float(getattr(r, name)) for r in rows], fmt) for name, fmt in COLUMNS]
        print(f"{sampler:>13}  " + "  ".join(f"{c:>22}" for c in cells))

    print_along(by_sampler, args.seeds_per_trial)
    hv = {s: [r.hv for r in rows] for s, rows in by_sampler.items()}
    nearest = {s: statistics.median(r.first_min for r in rows) for s, rows in by_sampler.items()}
    # The default's lines come last, so `ratio:` on the final line is always the default's.
    candidates = sorted((s for s in samplers if s != "random"), key=lambda s: s == default)
    for name in candidates:
        apart = min(hv[name]) > max(hv["random"]) or max(hv[name]) < min(hv["random"])
        label = f"{name}{' (default)' if name == default else ''}"
        print(f"\n{label}: hv ranges of {name} and random overlap: {'no' if apart else 'yes'}")
        print(f"first informed batch, nearest pair: {name} {nearest[name]:.3f} vs random "
              f"{nearest['random']:.3f} (at least half: {'yes' if nearest[name] >= nearest['random'] / 2 else 'no'})")
        wins = sum(a > b for a, b in zip(hv[name], hv["random"]))  # results are in sampler-seed order
        print(f"paired by sampler seed, {name} beats random at {wins} of {len(hv[name])}")
        print(f"ratio: {statistics.median(hv[name]) / statistics.median(hv['random']):.2f}")


if __name__ == "__main__":
    main()
