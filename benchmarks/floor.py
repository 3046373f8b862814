"""How far a training step and the evaluation are from the machine's arithmetic floor.

    python benchmarks/floor.py [--steps 300] [--experiment ex2_9_1]

For a single run (M=1) and a batch of 50 stacked members (10 trials x 5 seeds), prints the estimated
FLOPs of one training step and of the evaluation, the achieved rate, and the ratio of the measured
time to the floor (FLOPs / this machine's dense matmul rate, measured here on one thread, the thread
count the fit uses, and on all threads).
"""

from __future__ import annotations

import argparse
import functools
import time
from typing import Any, Callable

import torch

from excolor.run import trials as experiment
from excolor.run.checks import compose_config
from excolor.run.config import weight_key

TIMES: dict[str, float] = {}


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            TIMES[name] = TIMES.get(name, 0.0) + time.perf_counter() - started
    return wrapper


def matmul_gflops(threads: int, n: int = 1024, repeats: int = 5) -> float:
    """Best dense float32 n x n matmul rate (GFLOP/s) on `threads` threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_seconds(lambda: a @ b) for _ in range(repeats))
    torch.set_num_threads(before)
    return 2 * n**3 / best / 1e9


def _seconds(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def mlp_flops_per_sample(config: Any) -> int:
    """Forward FLOPs (2 per multiply-add) of the autoencoder for one colour."""
    k, w, n = config.model.k_bottleneck, config.model.width, config.model.n_hidden
    sizes = [3] + [w] * n + [k] + [w] * n + [3]
    return 2 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def step_flops(config: Any) -> int:
    """One member's training step: forward + backward (~2x forward) of the MLP, plus Separate's B x B term."""
    batch, k = config.data.batch_size, config.model.k_bottleneck
    separate = 2 * batch * batch * k if "separate" in config.regularizers else 0
    return 3 * (batch * mlp_flops_per_sample(config) + separate)


def eval_flops(config: Any) -> int:
    """One member's evaluation: intact and ablated models on the RGB grid and the HSV cube."""
    colours = int(config.eval.rgb_grid_size) ** 3 + int(torch.tensor(list(config.eval.hsv_cube)).prod())
    return 2 * colours * mlp_flops_per_sample(config)


def measure(experiment_name: str, trials: int, seeds: int, steps: int) -> tuple[Any, int, float, float]:
    seed_list = f"trial.seeds=[{','.join(str(s) for s in range(seeds))}]" if seeds > 1 else "seed=0"
    configs = [compose_config([f"experiment={experiment_name}", seed_list, "outputs.quiet=true", "logger=none",
                               f"schedule.n_steps={steps}", f"{weight_key('anchor')}={1 + 0.1 * t}"])
               for t in range(trials)]
    TIMES.clear()
    experiment.run_trials(configs)
    return configs[0], trials * seeds, TIMES["fit"], TIMES["evaluate"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="ex2_9_1")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    experiment.fit = timed("fit", experiment.fit)
    experiment.evaluate = timed("evaluate", experiment.evaluate)
    one, every = matmul_gflops(1), matmul_gflops(torch.get_num_threads())
    print(f"matmul floor: {one:.1f} GFLOP/s on 1 thread, {every:.1f} on {torch.get_num_threads()} threads")
    print(f"{'path':10s} {'part':6s} {'MFLOP':>10s} {'seconds':>9s} {'GFLOP/s':>8s} {'x floor':>8s}")
    for label, trials, seeds in (("single", 1, 1), ("M=50", 10, 5)):
        config, members, fit_s, eval_s = measure(args.experiment, trials, seeds, args.steps)
        rows = (("step", members * step_flops(config), fit_s / args.steps, one),
                ("eval", members * eval_flops(config), eval_s, every))
        for part, flops, seconds, floor_rate in rows:
            floor_s = flops / (floor_rate * 1e9)
            print(f"{label:10s} {part:6s} {flops / 1e6:10.2f} {seconds:9.4f} {flops / seconds / 1e9:8.2f} "
                  f"{seconds / floor_s:8.0f}")


if __name__ == "__main__":
    main()
