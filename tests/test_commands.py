"""The console entry points: exit statuses and complete output survive the fast exit; early workers."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import FAST

from excolor.sweep.pool import wants_workers

SCRIPT = "import sys; from excolor.cli.entry_points import train; sys.exit(train())"
"""What pyproject's console script `excolor-train` runs."""


def console(args: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_a_finished_run_exits_zero_with_its_whole_output(tmp_path):
    done = console([*FAST, "hydra.run.dir=o"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout + done.stderr
    assert "Key metrics" in out and "outputs:" in out.splitlines()[-1], out[-2000:]  # the last line was flushed
    assert (tmp_path / "o" / "metrics.json").exists() and (tmp_path / "o" / "train.log").read_text().strip()


def test_bad_input_keeps_its_exit_status(tmp_path):
    done = console([*FAST, "schedule.n_steps=-3"], tmp_path)
    assert done.returncode == 2 and "schedule.n_steps" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("argv, expected", [
    (["-m", "hydra/launcher=batched"], True),
    (["-m", "hydra/launcher=batched", "hydra.launcher.processes=1"], False),
    (["-m", "hydra/launcher=batched", "hydra.launcher.processes=1", "hydra.launcher.processes=2"], True),
    (["-m", "hydra/launcher=joblib"], False),
    ([], False),
])
def test_workers_start_early_only_when_the_command_line_asks(argv, expected, monkeypatch):
    monkeypatch.setattr("excolor.sweep.pool.available_cpus", lambda: 2)
    assert wants_workers(argv) is expected


def test_an_offline_wandb_run_is_complete_after_the_fast_exit(tmp_path, monkeypatch):
    """W&B finishes its run in its own exit handler; the fast exit comes after it, not instead of it."""
    from wandb_records import read_run

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    done = console([*[o for o in FAST if not o.startswith("logger=")], "logger=wandb", "hydra.run.dir=o"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    (run_dir,) = (tmp_path / "o" / "wandb").glob("offline-run-*")
    run = read_run(run_dir)
    assert run.exit_code == 0 and "collateral_mse" in run.summary and run.history
