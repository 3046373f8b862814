"""excolor-train end to end: outputs, overrides, stacked == sequential, fail-fast errors."""

import json
import math

import pytest
import torch

from excolor.cli.evaluate import main as evaluate_main
from excolor.run.trials import run_trials
from tests.conftest import FAST, compose_config, run_cli


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One short run with every output switched on, shared by the tests below."""
    tmp_path = tmp_path_factory.mktemp("run")
    out = tmp_path / "run"
    result = run_cli([*FAST, "outputs.plots=true", "logger=csv", f"hydra.run.dir={out}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


@pytest.mark.slow
def test_single_run_writes_outputs_and_prints_table(finished_run):
    out, result = finished_run
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("recon_mse", "red_mse", "collateral_mse", "collateral_max", "selectivity", "similarity_r2",
                "median_mse", "max_mse", "median_mse_before", "max_mse_before", "named_red_after"):
        assert math.isfinite(metrics[key]), key
    rows = (out / "named_colors.csv").read_text().splitlines()
    assert rows[0] == "name,r,g,b,mse_before,mse_after" and len(rows) == 18
    for name in ("model.pt", "colors.png", "error_vs_hue.png", "latents.png", "history.csv", "csv/metrics.csv"):
        assert (out / name).stat().st_size > 0, name
    assert (out / ".hydra" / "config.yaml").exists()
    assert "Named colours" in result.stdout and "collateral_mse" in result.stdout


@pytest.mark.slow
def test_rerun_from_saved_config_is_identical(finished_run, tmp_path):
    out, _ = finished_run
    again = run_cli(["--config-path", str(out / ".hydra"), "--config-name", "config", f"hydra.run.dir={tmp_path / 'b'}"],
                    cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / "b" / "metrics.json").read_text() == (out / "metrics.json").read_text()


@pytest.mark.slow
def test_excolor_eval_reproduces_saved_metrics(finished_run, tmp_path):
    out, _ = finished_run
    assert evaluate_main([str(out), "--out", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text()) == {
        k: v for k, v in json.loads((out / "seed_metrics.json").read_text())[0].items() if k not in ("seed", "failure")}
    assert evaluate_main([str(out), "ablation=none", "--out", str(tmp_path / "n.json")]) == 0
    intact = json.loads((tmp_path / "n.json").read_text())
    assert intact["median_mse"] == intact["median_mse_before"]
    assert evaluate_main([str(out), "ablation=nope"]) == 2


@pytest.mark.slow
def test_documented_override_example(tmp_path):
    args = ["model.k_bottleneck=6", "regularizers.anchor.weight=0.2", "ablation.dims=[0]", "seed=3",
            "trainer.max_steps=100", "logger=none", "outputs.plots=false", "eval.hsv_cube=[24,8,8]",
            f"hydra.run.dir={tmp_path / 'o'}"]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    resolved = (tmp_path / "o" / ".hydra" / "config.yaml").read_text()
    assert "k_bottleneck: 6" in resolved and "seed: 3" in resolved
    history = (tmp_path / "o" / "history.csv").read_text().splitlines()
    assert history[-1].startswith("99,")


def test_same_seed_is_bit_identical():
    config = compose_config([*FAST, "experiment=ex2_9_1"])
    first, second = run_trials([config]), run_trials([config])
    assert first[0].metrics == second[0].metrics


def test_stacked_trials_equal_sequential_runs():
    """Batched members (different weights and seeds) == each trained alone, to float tolerance."""
    overrides = [[*FAST, "experiment=ex2_9_1", "regularizers.anchor.weight=0.5", "trial.seeds=[0,1]"],
                 [*FAST, "experiment=ex2_9_1", "regularizers.separate.weight=3.0", "seed=4"]]
    configs = [compose_config(o) for o in overrides]
    stacked = run_trials(configs)
    for config, batched in zip(configs, stacked):
        [alone] = run_trials([config])
        for key in ("recon_mse", "red_mse", "collateral_mse", "median_mse"):
            assert batched.metrics[key] == pytest.approx(alone.metrics[key], rel=1e-4, abs=1e-8), key
        x = torch.rand(64, 3, generator=torch.Generator().manual_seed(0))
        assert torch.allclose(batched.model.reconstruct(x), alone.model.reconstruct(x), atol=1e-5)
    assert stacked[0].metrics["n_seeds"] == 2 and "red_mse_min" in stacked[0].metrics
