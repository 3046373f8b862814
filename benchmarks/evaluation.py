"""Wall time of evaluating M stacked (untrained) members: intact and ablated, grid and HSV cube.

    python benchmarks/evaluation.py [--members 50] [--chunk-size 16384] [--experiment ex2_9_1]

Time it as a whole process (e.g. with hyperfine or /usr/bin/time) against another chunk size to compare settings.
"""

from __future__ import annotations

import argparse
import time

import torch

from excolor.core.ablation import apply_ablation
from excolor.core.memory import colours_per_chunk
from excolor.core.metrics import evaluate
from excolor.core.model import ColorMLP
from excolor.run.checks import compose_config
from excolor.run.config import concept_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--chunk-size", type=int, default=None, help="eval.chunk_size (default: the config's)")
    parser.add_argument("--experiment", default="ex2_9_1")
    args = parser.parse_args()
    overrides = [f"experiment={args.experiment}"]
    if args.chunk_size is not None:
        overrides.append(f"eval.chunk_size={args.chunk_size}")
    config = compose_config(overrides)
    torch.set_num_threads(1)  # as in a run's fit; the evaluation then uses what the process has
    model = ColorMLP(config.model, list(range(args.members))).eval()
    ablated = apply_ablation(model, config.ablation)
    started = time.perf_counter()
    evaluate(model.reconstruct, ablated.reconstruct, config.eval, concept_of(config))
    colours = colours_per_chunk(config.eval.chunk_size, args.members)
    print(f"{args.members} members, eval.chunk_size={config.eval.chunk_size} ({colours} colours a chunk): "
          f"{time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
