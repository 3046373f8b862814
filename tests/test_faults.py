"""Fault tests with real processes: kill -9 and resume, concurrent workers, NaN trials, W&B trouble,
atomic outputs."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from excolor.run import outputs
from tests.conftest import FAST, run_cli

SWEEP = ["-m", "experiment=ex2_9_1", "sweep=pareto", "eval.hsv_cube=[24,8,8]", "eval.rgb_grid_size=12",
         "hydra.sweeper.sampler.seed=0"]
STUDY = "pareto-ex2_9_1"


def sweep_args(tmp_path: Path, *extra: str, storage: str | None = None) -> tuple[list[str], str]:
    storage = storage or f"sqlite:///{tmp_path / 'optuna.db'}"
    return [*SWEEP, f"hydra.sweeper.storage='{storage}'", f"hydra.sweep.dir={tmp_path / 'multirun'}", *extra], storage


def popen_sweep(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "WANDB_MODE": "offline"}
    return subprocess.Popen([sys.executable, "-m", "excolor.cli.train", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def states(storage: str) -> list[TrialState]:
    try:
        return [t.state for t in optuna.load_study(study_name=STUDY, storage=storage).trials]
    except KeyError:  # study not created yet
        return []


def test_kill_minus_9_then_resume(tmp_path):
    args, storage = sweep_args(tmp_path, "schedule.n_steps=1200", "sweep.total_trials=3")
    worker = popen_sweep(args, tmp_path)
    deadline = time.time() + 240
    while time.time() < deadline:  # wait until one trial is done and the next one is training
        now = states(storage)
        if now.count(TrialState.COMPLETE) == 1 and now.count(TrialState.RUNNING) == 1:
            break
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.5)
    else:
        pytest.fail("the sweep never reached its second trial")
    time.sleep(1.0)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    before = optuna.load_study(study_name=STUDY, storage=storage)
    completed_before = {t.number: t.values for t in before.trials if t.state == TrialState.COMPLETE}
    assert [t.state for t in before.trials].count(TrialState.RUNNING) == 1

    resumed = run_cli(args, cwd=tmp_path, timeout=400)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    after = optuna.load_study(study_name=STUDY, storage=storage)
    by_state = {s: [t for t in after.trials if t.state == s] for s in TrialState}
    assert not by_state[TrialState.RUNNING]
    assert len(by_state[TrialState.COMPLETE]) == 3  # exactly what sweep.total_trials asked for
    assert re.search(r"\[excolor\] 2/3 complete trials in the study; \S+ so far, about \S+ left", resumed.stdout)
    assert len(by_state[TrialState.FAIL]) == 1 and "abandoned" in by_state[TrialState.FAIL][0].user_attrs["fail_reason"]
    killed = by_state[TrialState.FAIL][0]  # its directory says what the study says, not `running`
    assert outputs.read_status(Path(killed.user_attrs["output_dir"])) | {"time": None, "pid": None} == \
        {"state": "failed", "reason": killed.user_attrs["fail_reason"], "time": None, "pid": None}
    for number, values in completed_before.items():
        assert after.trials[number].values == values


def test_nan_trial_is_recorded_failed_and_sweep_goes_on(tmp_path):
    args, storage = sweep_args(tmp_path, "schedule.n_steps=100", "sweep.weight_range=null",
                               "hydra/sweeper/sampler=grid", "schedule.lr_scale=choice(1.0,1e30)",
                               "hydra.sweeper.n_trials=2")
    result = run_cli(args, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    trials = optuna.load_study(study_name=STUDY, storage=storage).trials
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(trials) == 2 and len(failed) == 1
    assert failed[0].params["schedule.lr_scale"] == 1e30 and "non-finite" in failed[0].user_attrs["fail_reason"]
    assert "FAILED" in result.stdout

    only_nan, _ = sweep_args(tmp_path, "schedule.n_steps=100", "sweep.weight_range=null",
                             "hydra/sweeper/sampler=grid", "schedule.lr_scale=choice(1e30)",
                             "hydra.sweeper.n_trials=1", "hydra.sweeper.study_name=all-fail")
    result = run_cli(only_nan, cwd=tmp_path, timeout=300)
    assert result.returncode != 0 and "every trial" in result.stdout + result.stderr


def test_wandb_offline_is_bounded_and_unwritable_dir_only_warns(tmp_path):
    """No network here: offline W&B must finish within the bound (the test timeout), twice."""
    good = run_cli([*FAST, "logger=wandb", f"hydra.run.dir={tmp_path / 'w'}"], cwd=tmp_path, timeout=180)
    assert good.returncode == 0, good.stderr[-3000:]
    assert list((tmp_path / "w" / "wandb").glob("offline-run-*"))
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where W&B wants a directory")
    bad = run_cli([*FAST, "logger=wandb", f"logger.save_dir={blocker}/wandb", f"hydra.run.dir={tmp_path / 'b'}"],
                  cwd=tmp_path, timeout=180, env={"WANDB_DIR": str(blocker / "wandb"), "WANDB_SILENT": "false"})
    assert bad.returncode == 0, bad.stderr[-3000:]
    assert "W&B could not write under" in bad.stdout + bad.stderr  # W&B falls back to a temp dir; we say so
    assert json.loads((tmp_path / "b" / "metrics.json").read_text())["recon_mse"] >= 0


def test_a_logger_that_cannot_start_only_warns(caplog):
    """Our own safety net, for failures W&B does not absorb itself: warn and carry on without a logger."""
    from excolor.run.tracking import build_logger

    spec = {"_target_": "lightning.pytorch.loggers.CSVLogger", "save_dir": "/proc/no-such-dir/csv"}
    assert build_logger({"logger": spec, "seed": 0}) is None
    assert "unavailable" in caplog.text and "local outputs are kept" in caplog.text


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "metrics.json"
    outputs.write_json(target, {"a": 1})

    def explode(stream):
        stream.write(b'{"half": ')
        raise KeyboardInterrupt  # as if the run were killed mid-write

    with pytest.raises(KeyboardInterrupt):
        outputs.atomic_write(target, explode)
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp file left behind
