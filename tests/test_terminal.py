"""What a single run shows: no library banners, a step progress bar, and train.log holding the same lines."""

from __future__ import annotations

import re

from excolor.run.trials import run_trials
from tests.conftest import compose_config, run_cli

TINY = ["trainer.max_steps=150", "eval.hsv_cube=[24,8,8]", "eval.rgb_grid_size=12", "outputs.plots=false"]
"""The default experiment (default logger too), stopped early and evaluated on coarse grids."""
NOISE = ("GPU available", "TPU available", "Tip", "litlogger", "Deprecat", "deprecated", "Warning", "`Trainer.fit`")


def test_default_run_is_quiet_and_train_log_holds_the_terminal(tmp_path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli([*TINY, f"hydra.run.dir={run_dir}"], cwd=tmp_path, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    shown = result.stdout + result.stderr
    for word in NOISE:
        assert word not in shown, (word, shown[:3000])
    assert "Named colours, seed 0" in result.stdout and "Key metrics (seed 0)" in result.stdout
    log = (run_dir / "train.log").read_text()
    assert log == result.stdout  # the whole terminal output, line for line
    assert re.search(r"^red\s+\(1\.00,0\.00,0\.00\)", log, re.M) and "collateral_mse" in log


def test_progress_bar_counts_steps_with_time_left(capsys) -> None:
    run_trials([compose_config([*TINY, "logger=none"])], progress=True)
    bar = capsys.readouterr()
    final = (bar.out + bar.err).replace("\r", "\n").strip().splitlines()[-1]
    assert re.match(r"training 150/150 steps \|.*\| \d\d:\d\d elapsed, \d\d:\d\d left", final), final
    assert "Epoch" not in bar.out + bar.err
