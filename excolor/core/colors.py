"""Colour-space helpers: HSV/RGB conversion, colour grids, colour features and concept similarity.

All functions take and return float32 torch tensors whose last axis holds the three channels.
Hue is measured in turns, in [0, 1).
"""

from __future__ import annotations

import torch
from torch import Tensor


def hsv_to_rgb(hsv: Tensor) -> Tensor:
    """Convert [..., 3] HSV (hue in turns) to [..., 3] RGB."""
    h, s, v = hsv.unbind(-1)
    h6 = torch.remainder(h, 1.0) * 6.0

    def channel(n: float) -> Tensor:
        k = torch.remainder(n + h6, 6.0)
        return v - v * s * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)

    return torch.stack([channel(5.0), channel(3.0), channel(1.0)], dim=-1)


def rgb_to_hsv(rgb: Tensor) -> Tensor:
    """Convert [..., 3] RGB to [..., 3] HSV (hue in turns; hue 0 for greys, saturation 0 for black)."""
    r, g, b = rgb.unbind(-1)
    v, argmax = rgb.max(dim=-1)
    c = v - rgb.min(dim=-1).values
    safe_c = torch.where(c > 0, c, torch.ones_like(c))
    h6 = torch.where(
        argmax == 0,
        torch.remainder((g - b) / safe_c, 6.0),
        torch.where(argmax == 1, (b - r) / safe_c + 2.0, (r - g) / safe_c + 4.0),
    )
    h = torch.where(c > 0, torch.remainder(h6 / 6.0, 1.0), torch.zeros_like(c))
    s = torch.where(v > 0, c / torch.where(v > 0, v, torch.ones_like(v)), torch.zeros_like(v))
    return torch.stack([h, s, v], dim=-1)


def hsv_grid(n_hue: int, n_sat: int, n_val: int) -> Tensor:
    """HSV grid [n_hue*n_sat*n_val, 3]; hue-major row (h*n_sat + s)*n_val + v; hue h/n_hue, s/v linspace(0,1)."""
    hues = torch.arange(n_hue, dtype=torch.float32) / n_hue
    sats = torch.linspace(0.0, 1.0, n_sat)
    vals = torch.linspace(0.0, 1.0, n_val)
    hh, ss, vv = torch.meshgrid(hues, sats, vals, indexing="ij")
    return torch.stack([hh, ss, vv], dim=-1).reshape(-1, 3)


def rgb_grid(n: int) -> Tensor:
    """RGB grid [n**3, 3], each channel linspace(0,1,n), r-major: row (r*n + g)*n + b."""
    axis = torch.linspace(0.0, 1.0, n)
    rr, gg, bb = torch.meshgrid(axis, axis, axis, indexing="ij")
    return torch.stack([rr, gg, bb], dim=-1).reshape(-1, 3)


def hsv_bias(hsv: Tensor, n_hue: int, n_sat: int) -> Tensor:
    """Rebalancing weight (1-v)/(n_sat*n_hue) + (1-s)*v/n_hue + s*v for each HSV colour."""
    _, s, v = hsv.unbind(-1)
    return (1.0 - v) / (n_sat * n_hue) + (1.0 - s) * v / n_hue + s * v


def _channel_dominance(rgb: Tensor, i: int) -> Tensor:
    """Channel i times (1 - half of each other channel)."""
    others = [rgb[..., j] for j in range(3) if j != i]
    return rgb[..., i] * (1.0 - others[0] / 2.0 - others[1] / 2.0)


def redness(rgb: Tensor) -> Tensor:
    """r * (1 - g/2 - b/2)."""
    return _channel_dominance(rgb, 0)


def greenness(rgb: Tensor) -> Tensor:
    """g * (1 - r/2 - b/2)."""
    return _channel_dominance(rgb, 1)


def blueness(rgb: Tensor) -> Tensor:
    """b * (1 - r/2 - g/2)."""
    return _channel_dominance(rgb, 2)


def cyanness(rgb: Tensor) -> Tensor:
    """Redness of the complementary colour: (1 - r) * (g + b) / 2 (1 for cyan, 0 for red and white)."""
    return redness(1.0 - rgb)


def likeness(rgb: Tensor, to: Tensor) -> Tensor:
    """Similarity of each colour to the colour `to` ([3] RGB): the evaluation's similarity, in [0, 1]."""
    return similarity(rgb_to_hsv(rgb), rgb_to_hsv(to.to(rgb.dtype)))


def vibrancy(rgb: Tensor) -> Tensor:
    """Saturation times value."""
    hsv = rgb_to_hsv(rgb)
    return hsv[..., 1] * hsv[..., 2]


def desaturation(rgb: Tensor) -> Tensor:
    """1 - vibrancy."""
    return 1.0 - vibrancy(rgb)


def similarity(hsv: Tensor, concept_hsv: Tensor) -> Tensor:
    """Similarity in [0,1] of each [..., 3] HSV colour to a concept HSV colour (broadcast)."""
    h1, s1, v1 = hsv.unbind(-1)
    h2, s2, v2 = concept_hsv.to(hsv.dtype).unbind(-1)
    dh = torch.abs(h1 - h2)
    theta = 360.0 * torch.minimum(dh, 1.0 - dh)
    hue_sim = torch.clamp((90.0 - theta) / 90.0, min=0.0)
    r = (s1 * v1 + s2 * v2) / 2.0
    return (r * hue_sim + 1.0 - r) * (1.0 - torch.abs(s1 - s2)) * (1.0 - torch.abs(v1 - v2))


def _named_colors() -> dict[str, tuple[float, float, float]]:
    """Twelve fully saturated hues every 30 degrees, then five greys."""
    hue_names = ["red", "orange", "yellow", "lime", "green", "teal",
                 "cyan", "azure", "blue", "purple", "magenta", "pink"]
    hsv = torch.tensor([[i / 12.0, 1.0, 1.0] for i in range(12)], dtype=torch.float64)
    named = {name: tuple(round(float(x), 6) for x in rgb) for name, rgb in zip(hue_names, hsv_to_rgb(hsv))}
    greys = {"black": 0.0, "dark_gray": 0.25, "gray": 0.5, "light_gray": 0.75, "white": 1.0}
    named.update({name: (g, g, g) for name, g in greys.items()})
    return named  # type: ignore[return-value]


NAMED_COLORS: dict[str, tuple[float, float, float]] = _named_colors()
