"""Trial-seed throughput: the same N trials x S seeds, sequentially and as one stacked model.

    python benchmarks/sweep_throughput.py --trials 32 --seeds 5 [--experiment ex2_9_1]

Each path runs in a child process (so each has its own memory peak). Trials get random regularizer
weight multipliers (log-uniform 0.1-10, seeded). Prints trial-seeds/minute per path, `ratio: X`
(batched over sequential) and each path's peak RSS. Also checks that both paths agree.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time

from excolor.run.config import weight_key


def trial_overrides(experiment: str, trials: int, seeds: int, steps: int | None) -> list[list[str]]:
    rng = random.Random(0)
    names = {"ex2_9_1": ["separate", "anchor", "anti_subspace", "anti_anchor"]}.get(
        experiment, ["separate", "anchor"])
    base = [f"experiment={experiment}", f"trial.seeds=[{','.join(map(str, range(seeds)))}]",
            "outputs.quiet=true", "eval.hsv_cube=[60,12,12]"] + ([f"schedule.n_steps={steps}"] if steps else [])
    return [base + [f"{weight_key(n)}={10 ** rng.uniform(-1, 1):.4g}" for n in names]
            for _ in range(trials)]


def child(path: str, overrides: list[list[str]]) -> None:
    from excolor.run.checks import compose_config
    from excolor.run.trials import run_trials

    configs = [compose_config(o) for o in overrides]
    started = time.perf_counter()
    if path == "batched":
        results = run_trials(configs)
    else:  # one Lightning fit per trial-seed, as a basic-launcher sweep would do
        results = []
        for config in configs:
            seeds = list(config.trial.seeds)
            singles = []
            for seed in seeds:
                config.trial.seeds, config.seed = None, seed
                [single] = run_trials([config])
                singles.append(single.seeds[0])
            results.append(singles)
    wall = time.perf_counter() - started
    if path == "batched":
        collateral = [[s.report.metrics["collateral_mse"] if s.report else None for s in r.seeds] for r in results]
    else:
        collateral = [[s.report.metrics["collateral_mse"] if s.report else None for s in r] for r in results]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall_s": wall, "peak_rss_mb": peak_mb, "collateral": collateral}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--experiment", default="ex2_9_1")
    parser.add_argument("--steps", type=int, help="stretch the schedule to this many steps (default: the preset's)")
    parser.add_argument("--child", choices=["batched", "sequential"], help=argparse.SUPPRESS)
    parser.add_argument("--overrides", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, json.loads(args.overrides))
        return
    overrides = trial_overrides(args.experiment, args.trials, args.seeds, args.steps)
    n = args.trials * args.seeds
    measured = {}
    for path in ("batched", "sequential"):
        print(f"{path}: {args.trials} trials x {args.seeds} seeds of {args.experiment} ...", flush=True)
        out = subprocess.run([sys.executable, __file__, "--child", path, "--overrides", json.dumps(overrides)],
                             capture_output=True, text=True, check=True)
        measured[path] = json.loads(out.stdout.strip().splitlines()[-1])
        m = measured[path]
        print(f"{path}: {m['wall_s']:.1f} s, {n / m['wall_s'] * 60:.1f} trial-seeds/minute, "
              f"peak RSS {m['peak_rss_mb']:.0f} MB", flush=True)
    flat = lambda p: [v for row in measured[p]["collateral"] for v in row]  # noqa: E731
    worst = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(flat("batched"), flat("sequential"))
                if a is not None and b is not None)
    print(f"max relative difference of collateral_mse between paths: {worst:.2e}")
    print(f"ratio: {measured['sequential']['wall_s'] / measured['batched']['wall_s']:.1f}")


if __name__ == "__main__":
    main()
