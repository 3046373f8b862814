"""Tests for excolor.core.metrics (and smoke tests for excolor.run.plots)."""

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import Tensor

from excolor.core.colors import NAMED_COLORS, rgb_to_hsv, similarity
from excolor.core.concepts import Concept, Pole
from excolor.core.metrics import (
    EvalSettings,
    batched_mse,
    check_settings,
    evaluate,
    pearson_r2,
    per_color_mse,
)

SMALL = EvalSettings(rgb_grid_size=8, hsv_cube=[12, 6, 6], chunk_size=100)
RED = Concept("red", (Pole("red", (1.0, 0.0, 0.0), "redness", 0, 1.0),))
RED_HSV = torch.tensor([0.0, 1.0, 1.0])


def identity(m: int = 1):
    """A perfect M-member reconstruct callable."""
    return lambda rgb: rgb.expand(m, *rgb.shape).clone()


def blacks_out_red(m: int = 1):
    """Identity except black output for colours with similarity >= 0.9 to red."""
    def reconstruct(rgb: Tensor) -> Tensor:
        hit = similarity(rgb_to_hsv(rgb), RED_HSV) >= 0.9
        return torch.where(hit[:, None], torch.zeros_like(rgb), rgb).expand(m, *rgb.shape).clone()
    return reconstruct


def test_per_color_mse() -> None:
    pred = torch.tensor([[[1.0, 0.0, 0.0]], [[0.0, 0.0, 0.0]]])
    assert torch.allclose(per_color_mse(pred, torch.zeros(1, 3)), torch.tensor([[1 / 3], [0.0]]))


def test_batched_mse_matches_unchunked() -> None:
    colors = torch.rand(250, 3, generator=torch.Generator().manual_seed(1))
    model = lambda rgb: torch.stack([rgb * 0.5, rgb.flip(-1)])  # noqa: E731
    assert torch.allclose(batched_mse(model, colors, 64), per_color_mse(model(colors), colors))


def test_pearson_r2() -> None:
    y = torch.randn(100, generator=torch.Generator().manual_seed(2))
    r2 = pearson_r2(torch.stack([2 * y + 1, -y, torch.zeros_like(y)]), y)
    assert torch.allclose(r2, torch.tensor([1.0, 1.0, 0.0]), atol=1e-5)


def test_identity_gives_zero_errors() -> None:
    (report,) = evaluate(identity(), identity(), SMALL, RED)
    logs = ("log_selectivity", "log10_collateral_mse")
    errors = {k: v for k, v in report.metrics.items() if k not in logs}
    assert all(v == pytest.approx(0.0, abs=1e-12) for v in errors.values())
    assert report.metrics["log_selectivity"] < -20  # log of ~0 (guarded by epsilon), not -inf
    assert report.metrics["log10_collateral_mse"] == pytest.approx(-12.0)  # the epsilon's decade, not -inf
    assert all(row["mse_before"] == row["mse_after"] == 0.0 for row in report.named_colors)


def test_ablating_red_is_selective() -> None:
    (report,) = evaluate(identity(), blacks_out_red(), SMALL, RED)
    m = report.metrics
    assert m["recon_mse"] == 0.0
    assert m["red_mse"] > 0.1
    assert m["collateral_mse"] == pytest.approx(0.0, abs=1e-9)
    assert m["collateral_max"] == pytest.approx(0.0, abs=1e-9)
    assert m["log10_collateral_mse"] == pytest.approx(math.log10(max(m["collateral_mse"], 1e-12)))
    assert m["selectivity"] > 1e6
    assert m["named_red_after"] == pytest.approx(1 / 3)
    assert m["named_red_before"] == 0.0 and m["named_cyan_after"] == 0.0
    assert 0.0 < m["similarity_r2"] <= 1.0
    assert m["max_mse"] > 0 and m["max_mse_before"] == 0.0


def test_evaluate_one_report_per_member_with_all_keys() -> None:
    reports = evaluate(identity(2), blacks_out_red(2), SMALL, RED)
    assert len(reports) == 2
    expected = {"recon_mse", "red_mse", "concept_mse", "collateral_mse", "log10_collateral_mse", "collateral_max", "selectivity", "log_selectivity",
                "similarity_r2", "median_mse", "max_mse", "median_mse_before", "max_mse_before",
                "named_red_before"} | {f"named_{n}_after" for n in NAMED_COLORS}
    for report in reports:
        assert set(report.metrics) == expected
        assert all(isinstance(v, float) for v in report.metrics.values())
        assert [row["name"] for row in report.named_colors] == list(NAMED_COLORS)
        assert set(report.named_colors[0]) == {"name", "r", "g", "b", "mse_before", "mse_after"}


def test_concept_name_follows_settings() -> None:
    (report,) = evaluate(identity(), identity(), replace(SMALL, concept_rgb=[0.0, 1.0, 1.0]), RED)
    assert "named_cyan_before" in report.metrics and "named_red_before" not in report.metrics


@pytest.mark.parametrize(("key", "value"), [
    ("target_threshold", 2.0),
    ("collateral_threshold", 0.0),
    ("concept_rgb", [1.0, 0.0]),
    ("concept_rgb", [1.5, 0.0, 0.0]),
    ("rgb_grid_size", 0),
    ("chunk_size", -1),
    ("hsv_cube", [12, 0, 6]),
])
def test_check_settings_names_the_key(key: str, value: object) -> None:
    with pytest.raises(ValueError, match=key):
        check_settings(replace(SMALL, **{key: value}), RED)


def test_default_settings_are_valid() -> None:
    check_settings(EvalSettings(), RED)


# --- plots (smoke tests: each writes a non-empty PNG) ---

def test_plots_write_pngs(tmp_path: Path) -> None:
    from excolor.run.plots import plot_color_slices, plot_error_vs_hue, plot_latents

    encode = lambda rgb: torch.stack([rgb @ torch.randn(3, 4), rgb @ torch.randn(3, 4)])  # noqa: E731
    paths = [
        plot_color_slices(identity(2), blacks_out_red(2), tmp_path / "slices.png", member=1),
        plot_error_vs_hue(identity(2), blacks_out_red(2), tmp_path / "hue.png"),
        plot_latents(encode, tmp_path / "sub" / "latents.png", member=1),
        plot_latents(lambda rgb: rgb[None, :, :1], tmp_path / "latents_k1.png"),
    ]
    for path in paths:
        assert path.exists() and path.stat().st_size > 0
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_chunk_size_counts_colour_member_pairs() -> None:
    from excolor.core.memory import MIN_CHUNK_COLOURS, colours_per_chunk

    assert colours_per_chunk(16384, 1) == 16384
    assert colours_per_chunk(16384, 50) == 327  # the stack shares the budget: chunks stay cache-sized
    assert colours_per_chunk(16384, 10_000) == MIN_CHUNK_COLOURS  # never so small that op overhead rules
    assert colours_per_chunk(100, 50) == 100  # a user's tiny chunk is honoured


def test_metrics_do_not_depend_on_the_chunking() -> None:
    torch.manual_seed(0)
    nets = [torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3), torch.nn.Sigmoid())
            for _ in range(3)]
    model = lambda rgb: torch.stack([net(rgb) for net in nets])  # noqa: E731
    whole = evaluate(model, model, replace(SMALL, chunk_size=10**9), RED)
    chunked = evaluate(model, model, replace(SMALL, chunk_size=7), RED)
    for a, b in zip(whole, chunked):
        assert a.metrics == pytest.approx(b.metrics, rel=1e-5, abs=1e-9)
def test_registry_names_exactly_what_evaluate_produces() -> None:
    """excolor/core/metric_names.py is the one list: evaluate produces every registered metric and no unregistered one."""
    from excolor.core.metric_names import SCALAR_METRICS, is_named, is_objective, kept_on_trial, named_after

    (report,) = evaluate(identity(), blacks_out_red(), SMALL, RED)
    assert sorted(k for k in report.metrics if not is_named(k)) == sorted([*SCALAR_METRICS, "red_mse"])
    assert report.metrics["red_mse"] == report.metrics["concept_mse"]
    assert {named_after(name) for name in NAMED_COLORS} <= set(report.metrics)
    assert all(is_objective(named_after(name), "red") for name in NAMED_COLORS)
    assert is_objective("red_mse", "red") and not is_objective("red_mse", "blue")
    assert not is_objective("named_red_before", "red")
    assert kept_on_trial(named_after("red"), ["red"]) and not kept_on_trial(named_after("cyan"), ["red"])
