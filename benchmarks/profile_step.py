"""Where the time of a run goes: start-up vs fit vs evaluation, and inside a training step.

    python benchmarks/profile_step.py                        # a single 3,001-step Ex 2.9 run (M=1)
    python benchmarks/profile_step.py --trials 10 --seeds 5 --experiment ex2_9_1   # 50 stacked members
    python benchmarks/profile_step.py --ops 15               # also torch.profiler's top ops of the fit

Times are wall clock, measured by wrapping the functions that do each part (a few microseconds of
wrapping per call). Inside the fit: model forward, regularizers, backward, optimizer, data/labels
(the per-step batch fetch plus the up-front draw), and `loop`: everything else in the fit (the
Lightning loop, hooks, the loss bookkeeping). Start-up is imports, config composition and building
the model, data and schedules.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import contextlib  # noqa: E402
import functools  # noqa: E402
import random  # noqa: E402
from collections import defaultdict  # noqa: E402
from typing import Any, Callable  # noqa: E402

import torch  # noqa: E402

from excolor.core import (
    data,
    model,
    optim,
    regularizers,  # noqa: E402
)
from excolor.core import lightning_module as module
from excolor.run import trials as experiment
from excolor.run.checks import compose_config  # noqa: E402
from excolor.run.config import weight_key  # noqa: E402

SECONDS: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)
FIT_PARTS = ("model forward", "regularizers", "backward", "optimizer", "closure", "data/labels (per step)",
             "data/labels (up front)")
_active: list[str] = []  # the stack of timed parts: nested time is charged to the innermost part only


def timed(part: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function`, charging its own wall time (minus nested timed parts) to `part`; outside the fit,
    a fit part (the model's forward during evaluation) counts towards whatever called it."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if part in FIT_PARTS and "fit" not in _active:
            return function(*args, **kwargs)
        _active.append(part)
        started = time.perf_counter()
        nested_before = SECONDS["__nested__"]
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            nested = SECONDS["__nested__"] - nested_before
            SECONDS[part] += elapsed - nested
            SECONDS["__nested__"] = nested_before + elapsed
            CALLS[part] += 1
            _active.pop()
    return wrapper


def patch(owner: Any, name: str, part: str) -> None:
    """Time `owner.name` (a class or module attribute) as `part`, when it exists."""
    if hasattr(owner, name):
        setattr(owner, name, timed(part, getattr(owner, name)))


def closure_timed(step: Callable[..., Any]) -> Callable[..., Any]:
    """An optimizer step whose closure (forward + backward under Lightning) is timed apart."""
    @functools.wraps(step)
    def wrapper(self: Any, closure: Callable[[], Any] | None = None) -> Any:
        inner = timed("closure", closure) if closure is not None else None
        return step(self, inner) if inner is not None else step(self)
    return wrapper


def instrument() -> None:
    """Wrap every part the table reports (works on any version of excolor that has these names)."""
    patch(model.ColorMLP, "forward", "model forward")
    patch(regularizers.Regularizer, "batch_loss", "regularizers")
    for name in ("batch_losses", "weighted_regularizers"):  # fused paths, where present
        patch(module.ConceptDeletionModule, name, "regularizers")
    patch(module.ConceptDeletionModule, "backward", "backward")
    optim.MemberAdam.step = closure_timed(optim.MemberAdam.step)
    patch(optim.MemberAdam, "step", "optimizer")
    patch(data.MemberBatches, "__getitem__", "data/labels (per step)")
    patch(data.ColorDataModule, "setup", "data/labels (up front)")
    patch(experiment, "fit", "fit")
    patch(experiment, "evaluate", "evaluate")
    patch(experiment, "apply_ablation", "evaluate")


def configs(args: argparse.Namespace) -> list[Any]:
    """One config per trial; stacked trials get random weight multipliers (seeded), as in a sweep."""
    seeds = f"trial.seeds=[{','.join(str(s) for s in range(args.seeds))}]" if args.seeds > 1 else "seed=0"
    base = [f"experiment={args.experiment}", seeds, "outputs.quiet=true", *args.override]
    if args.trials == 1:
        return [compose_config(base)]
    rng = random.Random(0)
    names = ["separate", "anchor", "anti_subspace", "anti_anchor"] if args.experiment == "ex2_9_1" else ["separate", "anchor"]
    return [compose_config(base + [f"{weight_key(n)}={10 ** rng.uniform(-1, 1):.4g}" for n in names])
            for _ in range(args.trials)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="ex2_9")
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--ops", type=int, default=0, help="also print torch.profiler's N most expensive ops")
    parser.add_argument("override", nargs="*", help="extra config overrides, e.g. schedule.n_steps=500")
    args = parser.parse_args()
    instrument()
    composed = configs(args)
    profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) if args.ops else None
    with profiler if profiler is not None else contextlib.nullcontext():
        results = experiment.run_trials(composed)
    total = time.perf_counter() - STARTED
    steps = int(results[0].history[-1]["step"]) + 1 if results[0].history else 0
    members = sum(len(r.seeds) for r in results)

    evaluation = SECONDS["evaluate"]
    fit_total = SECONDS["fit"] + sum(SECONDS[p] for p in FIT_PARTS)
    fit_parts = {p: SECONDS[p] for p in FIT_PARTS if p != "closure"}
    fit_parts["loop (Lightning, hooks, loss bookkeeping)"] = SECONDS["fit"] + SECONDS["closure"]
    print(f"{args.trials} trial(s) x {args.seeds} seed(s) of {args.experiment}: M={members} members, {steps} steps, "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'part':44s} {'seconds':>8s} {'share':>6s} {'per step':>10s}")
    rows = [("start-up (imports, compose, build)", total - fit_total - evaluation)]
    rows += [("fit", fit_total)] + [("  " + name, seconds) for name, seconds in fit_parts.items()]
    rows += [("evaluation (ablate + metrics)", evaluation), ("total", total)]
    for name, seconds in rows:
        per_step = f"{seconds / steps * 1e3:8.3f} ms" if name.startswith("  ") and steps else ""
        print(f"{name:44s} {seconds:8.2f} {seconds / total:6.1%} {per_step:>10s}")
    if profiler is not None:
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.ops))


if __name__ == "__main__":
    main()
