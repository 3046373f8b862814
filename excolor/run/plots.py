"""Diagnostic figures for one ensemble member: colour slices, error vs hue, latent scatter (PNG, Agg)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch import Tensor  # noqa: E402

from excolor.core.colors import hsv_grid, hsv_to_rgb, rgb_grid  # noqa: E402
from excolor.core.metrics import per_color_mse  # noqa: E402

Model = Callable[[Tensor], Tensor]


def _save(fig: plt.Figure, path: str | Path) -> Path:
    """Save ``fig`` to ``path`` (creating parent folders), close it and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _patches(outer: Tensor, inner: Tensor, px: int = 8, border: int = 2) -> Tensor:
    """Image of [rows, cols, 3] cells: each a px*px square of ``outer`` around a centre of ``inner``."""
    rows, cols, _ = outer.shape
    big = lambda t: t.repeat_interleave(px, 0).repeat_interleave(px, 1)  # noqa: E731
    centre = torch.zeros(px, px, dtype=torch.bool)
    centre[border:px - border, border:px - border] = True
    mask = centre.repeat(rows, cols)
    return torch.where(mask[..., None], big(inner), big(outer))


@torch.no_grad()
def plot_color_slices(intact: Model, ablated: Model, path: str | Path, member: int = 0) -> Path:
    """Constant-saturation slices (hue →, value ↓); outer = reconstruction, centre = true colour."""
    n_hue, n_sat, n_val = 24, 4, 8
    true = hsv_to_rgb(hsv_grid(n_hue, n_sat, n_val))
    truth = true.reshape(n_hue, n_sat, n_val, 3)
    fig, axes = plt.subplots(2, n_sat, figsize=(4 * n_sat, 6), squeeze=False, layout="constrained")
    dh, dv = 0.5 / n_hue, 0.5 / (n_val - 1)  # half a cell, so cells are centred on their hue/value
    for row, (label, model) in enumerate((("before ablation", intact), ("after ablation", ablated))):
        recon = model(true)[member].clamp(0, 1).reshape(n_hue, n_sat, n_val, 3)
        for s, ax in enumerate(axes[row]):
            img = _patches(recon[:, s].transpose(0, 1), truth[:, s].transpose(0, 1))
            ax.imshow(img.numpy(), extent=(-dh, 1 - dh, 1 + dv, -dv), aspect="auto", interpolation="nearest")
            ax.set(title=f"{label}, s={s / (n_sat - 1):.2f}", xlabel="hue (turns)", ylabel="value")
    fig.suptitle(f"member {member}: reconstruction (outer) vs true colour (centre)")
    return _save(fig, path)


@torch.no_grad()
def plot_error_vs_hue(intact: Model, ablated: Model, path: str | Path, member: int = 0) -> Path:
    """Per-colour MSE against hue (240 hues) at three (s, v) rings, before and after ablation."""
    hues = torch.arange(240, dtype=torch.float32) / 240
    rings = ((1.0, 1.0), (1.0, 0.5), (0.5, 1.0))
    fig, axes = plt.subplots(1, len(rings), figsize=(5 * len(rings), 3.5), sharey=True, layout="constrained")
    for ax, (s, v) in zip(axes, rings):
        rgb = hsv_to_rgb(torch.stack([hues, torch.full_like(hues, s), torch.full_like(hues, v)], dim=-1))
        for label, model in (("before", intact), ("after", ablated)):
            mse = per_color_mse(model(rgb)[member][None], rgb)[0]
            ax.plot(hues.numpy(), mse.clamp_min(1e-10).numpy(), label=f"{label} ablation")
        ax.set(title=f"s={s}, v={v}", xlabel="hue (turns)", yscale="log")
        ax.legend()
    axes[0].set_ylabel("MSE")
    fig.suptitle(f"member {member}: reconstruction error vs hue")
    return _save(fig, path)


@torch.no_grad()
def plot_latents(
    encode: Model, path: str | Path, member: int = 0, dims: Sequence[tuple[int, int]] | None = None
) -> Path:
    """Latent scatter of an 8³ RGB grid in true colours; default pairs (0, d) for every d, plus (1, 2)."""
    rgb = rgb_grid(8)
    z = encode(rgb)[member]
    k = z.shape[-1]
    if dims is None:
        dims = [(0, d) for d in range(1, k)] + ([(1, 2)] if k >= 3 else [])
    dims = list(dims) or [(0, 0)]
    fig, axes = plt.subplots(1, len(dims), figsize=(4 * len(dims), 4), squeeze=False, layout="constrained")
    for ax, (i, j) in zip(axes[0], dims):
        ax.scatter(z[:, i].numpy(), z[:, j].numpy(), c=rgb.numpy(), s=12, edgecolors="none")
        ax.set(xlabel=f"z{i}", ylabel=f"z{j}", title=f"dims ({i}, {j})")
    fig.suptitle(f"member {member}: latents of an 8³ RGB grid (dim 0 = concept axis)")
    return _save(fig, path)
