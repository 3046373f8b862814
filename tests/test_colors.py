"""Tests for excolor.core.colors."""

import math

import pytest
import torch

from excolor.core.colors import (
    NAMED_COLORS,
    blueness,
    desaturation,
    greenness,
    hsv_bias,
    hsv_grid,
    hsv_to_rgb,
    redness,
    rgb_grid,
    rgb_to_hsv,
    similarity,
    vibrancy,
)


def test_round_trip_random_colors() -> None:
    rgb = torch.rand(1000, 3, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(hsv_to_rgb(rgb_to_hsv(rgb)), rgb, atol=1e-5)


@pytest.mark.parametrize(("rgb", "hsv"), [
    ((1.0, 0.0, 0.0), (0.0, 1.0, 1.0)),
    ((0.0, 1.0, 1.0), (0.5, 1.0, 1.0)),
    ((1.0, 0.0, 1.0), (5 / 6, 1.0, 1.0)),
    ((0.5, 0.5, 0.5), (0.0, 0.0, 0.5)),
    ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
])
def test_known_values(rgb: tuple, hsv: tuple) -> None:
    assert torch.allclose(rgb_to_hsv(torch.tensor(rgb)), torch.tensor(hsv), atol=1e-6)
    assert torch.allclose(hsv_to_rgb(torch.tensor(hsv)), torch.tensor(rgb), atol=1e-6)


def test_hsv_grid_shape_order_and_cyclic_hues() -> None:
    grid = hsv_grid(6, 3, 4)
    assert grid.shape == (72, 3)
    assert torch.allclose(grid[:, 0].unique(), torch.arange(6) / 6)
    assert grid[:, 0].max() < 1.0
    h, s, v = 2, 1, 3
    assert torch.allclose(grid[(h * 3 + s) * 4 + v], torch.tensor([2 / 6, 0.5, 1.0]))


def test_rgb_grid_r_major() -> None:
    grid = rgb_grid(3)
    assert grid.shape == (27, 3)
    assert torch.equal(grid[1], torch.tensor([0.0, 0.0, 0.5]))
    assert torch.equal(grid[9], torch.tensor([0.5, 0.0, 0.0]))


def test_hsv_bias() -> None:
    bias = hsv_bias(hsv_grid(8, 5, 5), n_hue=8, n_sat=5)
    assert (bias > 0).all()
    one = hsv_bias(torch.tensor([[0.3, 0.5, 0.5]]), n_hue=4, n_sat=2)
    # (1-.5)/(2*4) + (1-.5)*.5/4 + .5*.5 = .0625 + .0625 + .25
    assert one.item() == pytest.approx(0.375)


def test_features() -> None:
    rgb = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.2, 0.4, 0.6]])
    assert torch.allclose(redness(rgb), torch.tensor([1.0, 0.0, 0.2 * (1 - 0.2 - 0.3)]))
    assert torch.allclose(greenness(rgb), torch.tensor([0.0, 0.0, 0.4 * (1 - 0.1 - 0.3)]))
    assert torch.allclose(blueness(rgb), torch.tensor([0.0, 0.0, 0.6 * (1 - 0.1 - 0.2)]))
    assert torch.allclose(vibrancy(rgb), torch.tensor([1.0, 0.0, (0.4 / 0.6) * 0.6]))
    assert torch.allclose(desaturation(rgb), 1 - vibrancy(rgb))


def test_similarity() -> None:
    red = torch.tensor([0.0, 1.0, 1.0])
    hsv = torch.tensor([
        [0.0, 1.0, 1.0],   # red
        [0.5, 1.0, 1.0],   # cyan: theta = 180, hue_sim = 0, r = 1
        [1 / 12, 1.0, 1.0],  # orange: theta = 30, hue_sim = 2/3
        [0.0, 0.0, 0.5],   # grey: |ds| = 1
        [0.0, 0.5, 1.0],   # light red: (1 - 0.5)
        [0.95, 1.0, 1.0],  # hue wraps around: theta = 18
    ])
    expected = torch.tensor([1.0, 0.0, 2 / 3, 0.0, 0.5, 0.8])
    assert torch.allclose(similarity(hsv, red), expected, atol=1e-5)


def test_named_colors() -> None:
    assert len(NAMED_COLORS) == 17
    names = list(NAMED_COLORS)
    assert names[:2] == ["red", "orange"] and names[-1] == "white"
    assert NAMED_COLORS["orange"] == pytest.approx((1.0, 0.5, 0.0))
    assert NAMED_COLORS["cyan"] == pytest.approx((0.0, 1.0, 1.0))
    assert NAMED_COLORS["gray"] == (0.5, 0.5, 0.5)
    assert all(isinstance(x, float) and not math.isnan(x) for rgb in NAMED_COLORS.values() for x in rgb)
