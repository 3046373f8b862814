"""The same sweep through three launchers, as whole commands: batched in one process, batched with
worker processes, and joblib with two processes (each trial's seeds stacked).

    python benchmarks/launchers.py [--trials 10] [--seeds 5] [--processes 2] [--repeats 1]

Each command is `excolor-train -m experiment=ex2_9_1 sweep=pareto ...` in a fresh temp dir (its own
SQLite study), wall time from start to exit (imports included). Prints each path's wall times (the
paths alternate when repeated), `ratio: X` (joblib over batched with workers, medians), and whether the
two batched paths gave the same objectives for every trial number (they must: bit-identical members).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

STUDY = "pareto-ex2_9_1"


def paths(trials: int, processes: int) -> dict[str, list[str]]:
    return {
        "batched, processes=1": ["hydra/launcher=batched", f"hydra.sweeper.n_jobs={trials}",
                                 "hydra.launcher.processes=1"],
        f"batched, processes={processes}": ["hydra/launcher=batched", f"hydra.sweeper.n_jobs={trials}",
                                            f"hydra.launcher.processes={processes}"],
        "joblib x2": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweeper.n_jobs=2"],
    }


def run(directory: Path, trials: int, seeds: int, launcher: list[str]) -> float:
    args = [sys.executable, "-m", "excolor.cli.train", "-m", "experiment=ex2_9_1", "sweep=pareto",
            f"hydra.sweeper.n_trials={trials}", f"trial.seeds=[{','.join(map(str, range(seeds)))}]",
            "hydra.sweeper.sampler.seed=0", "logger=none", "outputs.plots=false",
            f"hydra.sweeper.storage=sqlite:///{directory / 'optuna.db'}", f"hydra.sweep.dir={directory / 'multirun'}",
            *launcher]
    started = time.perf_counter()
    done = subprocess.run(args, cwd=directory, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args)}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall


def values(directory: Path) -> dict[int, list[float] | None]:
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{directory / 'optuna.db'}")
    return {t.number: t.values for t in study.trials}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    named = paths(args.trials, args.processes)
    walls: dict[str, list[float]] = {name: [] for name in named}
    found: dict[str, dict[int, list[float] | None]] = {}
    with tempfile.TemporaryDirectory(prefix="excolor-launchers-") as root:
        for repeat in range(args.repeats):
            for index, (name, launcher) in enumerate(named.items()):
                directory = Path(root) / f"{repeat}-{index}"
                directory.mkdir()
                walls[name].append(run(directory, args.trials, args.seeds, launcher))
                found[name] = values(directory)
                print(f"{name:<24} {walls[name][-1]:6.1f} s", flush=True)
    medians = {name: statistics.median(w) for name, w in walls.items()}
    one, workers, joblib = list(named)
    print(f"{args.trials} trials x {args.seeds} seeds, median of {args.repeats}: "
          + "; ".join(f"{n} {m:.1f} s" for n, m in medians.items()))
    print(f"ratio: {medians[joblib] / medians[workers]:.2f} (joblib x2 / {workers}); "
          f"{medians[joblib] / medians[one]:.2f} (joblib x2 / {one})")
    same = found[one] == found[workers]
    print(f"batched paths identical objectives per trial: {same}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
