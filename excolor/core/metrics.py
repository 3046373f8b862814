"""Evaluation of intact vs concept-ablated colour autoencoders, one report per ensemble member.

A model is seen only as a callable ``reconstruct(rgb[N,3]) -> rgb[M,N,3]`` (M members, clamped to [0,1]).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

import torch
from torch import Tensor

from excolor.core import metric_names
from excolor.core.colors import NAMED_COLORS, hsv_grid, hsv_to_rgb, rgb_grid, rgb_to_hsv, similarity
from excolor.core.concepts import Concept, check_rgb, nearest_named
from excolor.core.memory import colours_per_chunk

Reconstruct = Callable[[Tensor], Tensor]
EPS = 1e-12


@dataclass
class EvalSettings:
    """Evaluation settings (also a Hydra structured-config schema)."""

    concept_rgb: Optional[list[float]] = None  # null: the concept's poles' colours (set: that colour alone)
    rgb_grid_size: int = 32
    target_threshold: float = 0.9  # target set T = {sim >= target_threshold}
    collateral_threshold: float = 0.5  # collateral set N = {sim < collateral_threshold}
    hsv_cube: list[int] = field(default_factory=lambda: [240, 48, 48])
    chunk_size: int = 16384  # colours x members per chunk (see colours_per_chunk)


@dataclass
class MemberReport:
    """Scalar metrics and per-named-colour rows (name, r, g, b, mse_before, mse_after) of one member."""

    metrics: dict[str, float]
    named_colors: list[dict[str, float | str]]


def per_color_mse(pred: Tensor, true: Tensor) -> Tensor:
    """Mean over RGB of squared error: pred [M,N,3], true [N,3] -> [M,N]."""
    return (pred - true).square_().mean(dim=-1)


@torch.no_grad()
def batched_mse(reconstruct: Reconstruct, colors: Tensor, chunk_size: int) -> Tensor:
    """Per-colour MSE [M,N] of ``reconstruct`` on ``colors`` [N,3], evaluated chunk by chunk."""
    out: Tensor | None = None
    for start in range(0, len(colors), chunk_size):
        chunk = colors[start:start + chunk_size]
        mse = per_color_mse(reconstruct(chunk), chunk)
        if out is None:  # preallocate so the chunks are never held twice
            out = mse.new_empty(mse.shape[0], len(colors))
        out[:, start:start + len(chunk)] = mse
    if out is None:
        raise ValueError("batched_mse needs at least one colour")
    return out


def pearson_r2(x: Tensor, y: Tensor) -> Tensor:
    """Squared Pearson correlation of each row of x [M,N] with y [N] -> [M] (0 where a variance is 0)."""
    xc = x - x.mean(dim=1, keepdim=True)
    yc = y - y.mean()
    cov = (xc * yc).sum(dim=1)
    var = xc.pow(2).sum(dim=1) * yc.pow(2).sum()
    return torch.where(var > 0, cov.pow(2) / var.clamp_min(EPS), torch.zeros_like(cov))


def concept_colours(settings: EvalSettings, concept: Concept) -> list[tuple[float, ...]]:
    """The colours that stand for the concept: its poles', or `eval.concept_rgb` where that is set."""
    if settings.concept_rgb is not None:
        return [tuple(float(x) for x in settings.concept_rgb)]
    return [pole.rgb for pole in concept.poles]


def _grid_similarity(settings: EvalSettings, concept: Concept) -> tuple[Tensor, Tensor]:
    """RGB evaluation grid [N,3] and each colour's similarity [N] to the concept (its closest colour)."""
    grid = rgb_grid(int(settings.rgb_grid_size))
    hsv = rgb_to_hsv(grid)
    sims = [similarity(hsv, rgb_to_hsv(torch.tensor(rgb, dtype=torch.float32)))
            for rgb in concept_colours(settings, concept)]
    return grid, sims[0] if len(sims) == 1 else torch.stack(sims).amax(dim=0)


def check_settings(settings: EvalSettings, concept: Concept) -> None:
    """Raise ValueError naming the offending key if the settings cannot give meaningful metrics."""
    if settings.concept_rgb is not None:
        check_rgb(list(settings.concept_rgb), "eval.concept_rgb")
    for key in ("rgb_grid_size", "chunk_size"):
        if int(getattr(settings, key)) <= 0:
            raise ValueError(f"eval.{key} must be > 0, got {getattr(settings, key)}")
    cube = list(settings.hsv_cube)
    if len(cube) != 3 or any(int(n) <= 0 for n in cube):
        raise ValueError(f"eval.hsv_cube must be 3 sizes > 0, got {cube}")
    _, sim = _grid_similarity(settings, concept)
    if not bool((sim >= settings.target_threshold).any()):
        raise ValueError(f"eval.target_threshold={settings.target_threshold} leaves the target set empty "
                         f"(max similarity on the grid is {sim.max():.3f})")
    if not bool((sim < settings.collateral_threshold).any()):
        raise ValueError(f"eval.collateral_threshold={settings.collateral_threshold} leaves the collateral set "
                         f"empty (min similarity on the grid is {sim.min():.3f})")


def _rowwise_median(x: Tensor) -> Tensor:
    """Median of each row of [M,N], one row at a time to avoid copying the whole matrix."""
    return torch.stack([row.median() for row in x])


@torch.no_grad()
def evaluate(intact: Reconstruct, ablated: Reconstruct, settings: EvalSettings,
             concept: Concept) -> list[MemberReport]:
    """Compare intact and ablated reconstructions; one MemberReport per ensemble member."""
    check_settings(settings, concept)
    names = list(NAMED_COLORS)
    named_rgb = torch.tensor([NAMED_COLORS[n] for n in names], dtype=torch.float32)
    named_before = per_color_mse(intact(named_rgb), named_rgb)
    named_after = per_color_mse(ablated(named_rgb), named_rgb)
    n_members = named_after.shape[0]
    if named_before.shape[0] != n_members:
        raise ValueError(f"intact has {named_before.shape[0]} members but ablated has {n_members}")
    chunk = colours_per_chunk(int(settings.chunk_size), n_members)

    out: dict[str, Tensor] = {}
    grid, sim = _grid_similarity(settings, concept)
    target, collateral = sim >= settings.target_threshold, sim < settings.collateral_threshold
    out[metric_names.RECON] = batched_mse(intact, grid, chunk).mean(dim=1)
    after = batched_mse(ablated, grid, chunk)
    out[concept.metric] = out[metric_names.CONCEPT] = after[:, target].mean(dim=1)
    out[metric_names.COLLATERAL] = after[:, collateral].mean(dim=1)
    out[metric_names.LOG10_COLLATERAL] = out[metric_names.COLLATERAL].clamp_min(EPS).log10()
    out["collateral_max"] = after[:, collateral].amax(dim=1)
    out[metric_names.SELECTIVITY] = out[metric_names.CONCEPT] / out[metric_names.COLLATERAL].clamp_min(EPS)
    out["log_selectivity"] = out[metric_names.SELECTIVITY].clamp_min(EPS).log()
    out[metric_names.SIMILARITY_R2] = pearson_r2(after, sim.pow(3))
    del after

    cube = hsv_to_rgb(hsv_grid(*(int(n) for n in settings.hsv_cube)))
    for suffix, model in (("", ablated), ("_before", intact)):
        mse = batched_mse(model, cube, chunk)  # the largest tensor: [M, prod(hsv_cube)]
        out[f"median_mse{suffix}"], out[f"max_mse{suffix}"] = _rowwise_median(mse), mse.amax(dim=1)
        del mse

    for i, name in enumerate(names):
        out[metric_names.named_after(name)] = named_after[:, i]
    for colour in dict.fromkeys(nearest_named(rgb) for rgb in concept_colours(settings, concept)):
        out[metric_names.named_before(colour)] = named_before[:, names.index(colour)]

    return [
        MemberReport(
            metrics={key: float(values[m]) for key, values in out.items()},
            named_colors=[
                {"name": name, "r": rgb[0], "g": rgb[1], "b": rgb[2],
                 "mse_before": float(named_before[m, i]), "mse_after": float(named_after[m, i])}
                for i, (name, rgb) in enumerate(NAMED_COLORS.items())
            ],
        )
        for m in range(n_members)
    ]
