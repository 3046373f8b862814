"""Wall time of single 3,001-step runs (Ex 2.9), training and evaluation, over a few seeds.

    python benchmarks/single_run.py [--experiment ex2_9] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

from excolor.run.checks import compose_config
from excolor.run.trials import run_trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="ex2_9")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    walls = []
    for seed in args.seeds:
        config = compose_config([f"experiment={args.experiment}", f"seed={seed}", "outputs.quiet=true"])
        started = time.perf_counter()
        [result] = run_trials([config])
        walls.append(time.perf_counter() - started)
        print(f"seed {seed}: {walls[-1]:.1f} s  (steps {result.history[-1]['step'] + 1}, "
              f"median_mse {result.metrics['median_mse']:.3g})", flush=True)
    print(f"{args.experiment}: median {statistics.median(walls):.1f} s per run "
          f"(range {min(walls):.1f}-{max(walls):.1f}) over {len(walls)} runs, train + evaluate, in-process")


if __name__ == "__main__":
    main()
