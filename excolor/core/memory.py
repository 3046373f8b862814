"""Memory estimates made before anything is allocated: a run that cannot fit fails before training.

The estimates are deliberately generous upper bounds of the few tensors that grow with the config
(pre-drawn batches, schedule tables, evaluation grids, parameters); they are compared with the memory
the OS says is available, and the message names the keys to lower.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

FLOAT = 4
HEADROOM = 0.8
"""Share of the available memory a run may plan to use (the interpreter and libraries need the rest)."""


class ResourceError(ValueError):
    """A run that would need more memory than is available; the message says what to lower."""


@dataclass(frozen=True)
class Need:
    what: str
    bytes: float
    lower: str


def available_bytes() -> Optional[int]:
    """MemAvailable from /proc/meminfo (psutil where that is missing); None when neither is there."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil  # type: ignore[import-not-found]

        return int(psutil.virtual_memory().available)
    except Exception:
        return None


def gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**28 else f"{n / 2**20:,.0f} MiB"


def parameter_count(k: int, width: int, n_hidden: int) -> int:
    """Weights and biases of one member's encoder plus decoder."""
    def mlp(sizes: list[int]) -> int:
        return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    hidden = [width] * n_hidden
    return mlp([3, *hidden, k]) + mlp([k, *hidden, 3])


def model_need(k: int, width: int, n_hidden: int, members: int) -> Need:
    """Parameters, gradients and two Adam moments per member."""
    return Need(f"model of {members} member(s) x {parameter_count(k, width, n_hidden):,} parameters",
                4 * FLOAT * members * parameter_count(k, width, n_hidden), "model.width or model.n_hidden")


def training_need(n_steps: int, batch_size: int, members: int, n_labels: int, n_tables: int) -> Need:
    """Pre-drawn batches (int64 draws, label probabilities, stored int32/float16) and per-step tables."""
    per_member = n_steps * batch_size * (8 + 4 + FLOAT * 3 * n_labels + 2 * n_labels)
    tables = n_steps * (8 * n_tables + 2 * FLOAT * members * n_tables)
    return Need(f"pre-drawn training batches: {n_steps:,} steps x data.batch_size={batch_size} x {members} member(s)",
                members * per_member + tables,
                "schedule.n_steps (or the schedule's last STEP), trainer.max_steps, data.batch_size, "
                "or the members trained together (trial.seeds, hydra.sweeper.n_jobs)")


MIN_CHUNK_COLOURS = 256
"""Fewer colours per chunk than this and per-op overhead outweighs the cache savings."""


def colours_per_chunk(chunk_size: int, members: int) -> int:
    """Colours evaluated at once so that a chunk holds about `chunk_size` colour-member pairs.

    Why per member: one hidden activation of a chunk is members x colours x width floats; at the
    default 16384 pairs x 16 units it is 1 MiB and stays in a core's L2 cache. Measured on 50 stacked
    members (benchmarks/floor.py), 65536 colours per chunk took 22 s to evaluate, ~330-2048 took 4-5 s.
    """
    return max(min(MIN_CHUNK_COLOURS, int(chunk_size)), int(chunk_size) // max(1, members))


def evaluation_needs(hsv_cube: list[int], rgb_grid_size: int, chunk_size: int, members: int,
                     width: int, n_hidden: int, k: int) -> list[Need]:
    """Grids (colours plus their conversions), per-member error rows, and one chunk's activations."""
    cube = math.prod(int(n) for n in hsv_cube)
    grid = int(rgb_grid_size) ** 3
    chunk = min(colours_per_chunk(chunk_size, members), max(cube, grid))
    activations = members * chunk * (6 + 2 * n_hidden * width + 2 * k) * FLOAT * 3
    return [
        Need(f"evaluation cube eval.hsv_cube={list(hsv_cube)} ({cube:,} colours)",
             cube * (24 * FLOAT + 2 * members * FLOAT), "eval.hsv_cube"),
        Need(f"evaluation grid eval.rgb_grid_size={rgb_grid_size} ({grid:,} colours)",
             grid * (24 * FLOAT + 3 * members * FLOAT), "eval.rgb_grid_size"),
        Need(f"evaluation chunks eval.chunk_size={chunk_size} x {members} member(s)", activations, "eval.chunk_size"),
    ]


def check_fits(needs: list[Need], available: Optional[int] = None) -> None:
    """Raise ResourceError when the needs add up to more than the memory a run may use."""
    available = available_bytes() if available is None else available
    if available is None:
        return  # nothing to compare with: the OS does not say
    total = sum(n.bytes for n in needs)
    if total <= HEADROOM * available:
        return
    largest = max(needs, key=lambda n: n.bytes)
    raise ResourceError(
        f"this run would need about {gib(total)} of memory but {gib(available)} is available; "
        f"the largest part is the {largest.what} (~{gib(largest.bytes)}): lower {largest.lower}")


def run_needs(config: object, n_steps: int, members: int) -> list[Need]:
    """Everything a run (an ExcolorConfig, `members` trained together) allocates that grows with its config."""
    model, data, evaluation = config.model, config.data, config.eval  # type: ignore[attr-defined]
    max_steps = config.trainer.get("max_steps")  # type: ignore[attr-defined]
    steps = int(max_steps) if max_steps else int(n_steps)
    tables = 1 + len(config.regularizers)  # type: ignore[attr-defined]
    return [
        model_need(model.k_bottleneck, model.width, model.n_hidden, members),
        training_need(steps, data.batch_size, members, len(config.labels.concepts), tables),  # type: ignore[attr-defined]
        *evaluation_needs(list(evaluation.hsv_cube), evaluation.rgb_grid_size, evaluation.chunk_size, members,
                          model.width, model.n_hidden, model.k_bottleneck),
    ]
