"""`hydra/launcher=batched hydra.launcher.processes=N`: sub-stacks in worker processes give the same
trials, bit for bit, as one process; a failing sub-stack fails only its trials; a bad value is refused
before training; Ctrl-C leaves no worker behind."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import optuna
import pytest
from hydra.core.utils import JobReturn, JobStatus

from excolor.errors import BAD_INPUT_EXIT, ConfigError
from excolor.run import outputs
from excolor.run.checks import compose_config
from excolor.run.outcome import TrialOutcome
from excolor.run.runner import PreparedTrial
from excolor.run.trials import build_regularizers, build_schedule
from excolor.sweep.launcher import BatchedLauncher
from excolor.sweep.pool import split
from tests.conftest import run_cli

STUDY = "pareto-ex2_9_1"
QUICK = ["-m", "experiment=ex2_9_1", "sweep=pareto", "schedule.n_steps=120", "eval.hsv_cube=[24,8,8]",
         "eval.rgb_grid_size=12", "hydra.sweeper.sampler.seed=0", "hydra/launcher=batched", "logger=none"]
FILES = ("metrics.json", "seed_metrics.json", "history.csv", "named_colors.csv", "model.pt")


def batched_sweep(directory: Path, processes: int, *extra: str) -> subprocess.CompletedProcess:
    directory.mkdir()
    return run_cli([*QUICK, f"hydra.launcher.processes={processes}", f"hydra.sweep.dir={directory / 'multirun'}",
                    f"hydra.sweeper.storage=sqlite:///{directory / 'optuna.db'}", *extra], cwd=directory)


def test_split_keeps_whole_items_in_order() -> None:
    assert split([1, 2, 3, 4, 5], 2) == [[1, 2, 3], [4, 5]]
    assert split([1, 2], 4) == [[1], [2]]
    assert split([1, 2, 3], 1) == [[1, 2, 3]]


def test_two_processes_give_bit_identical_trials(tmp_path):
    """5 trials x 2 seeds in one batch: one stacked process vs sub-stacks of 3 and 2 trials in two workers."""
    extra = ["hydra.sweeper.n_trials=5", "hydra.sweeper.n_jobs=5", "trial.seeds=[0,1]"]
    one, two = batched_sweep(tmp_path / "one", 1, *extra), batched_sweep(tmp_path / "two", 2, *extra)
    assert one.returncode == 0 and two.returncode == 0, one.stderr[-2000:] + two.stderr[-2000:]
    assert "worker processes" not in one.stdout
    assert "[excolor] batch of 5 trials: 2 sub-stacks on 2 worker processes" in two.stdout
    studies = [optuna.load_study(study_name=STUDY, storage=f"sqlite:///{tmp_path / d / 'optuna.db'}").trials
               for d in ("one", "two")]
    assert [t.number for t in studies[0]] == [t.number for t in studies[1]] == [0, 1, 2, 3, 4]
    for a, b in zip(*studies):
        assert a.state == b.state == optuna.trial.TrialState.COMPLETE
        assert a.params == b.params and a.values == b.values  # exactly equal, not approximately
        assert a.user_attrs["seeds_collateral_mse"] == b.user_attrs["seeds_collateral_mse"]
        for name in FILES:  # outputs written byte for byte the same, in each trial's own dir
            assert (tmp_path / "one" / "multirun" / str(a.number) / name).read_bytes() == \
                (tmp_path / "two" / "multirun" / str(b.number) / name).read_bytes(), (a.number, name)
        assert outputs.read_status(tmp_path / "two" / "multirun" / str(b.number))["state"] == "done"


def prepared(output_dir: Path, *overrides: str) -> JobReturn:
    config = compose_config(["experiment=ex2_9_1", "eval.hsv_cube=[24,8,8]", "eval.rgb_grid_size=12",
                             "outputs.plots=false", "outputs.quiet=true", "trial.seeds=[0]", *overrides])
    output_dir.mkdir()
    trial = PreparedTrial(config, build_schedule(config), build_regularizers(config), {}, output_dir)
    ret = JobReturn(status=JobStatus.COMPLETED)
    ret.return_value = trial
    return ret


def test_a_failing_sub_stack_fails_only_its_trials(tmp_path):
    """The second sub-stack cannot train (its trials differ in length: refused by the worker); the first can."""
    good = [prepared(tmp_path / "good", "schedule.n_steps=60")]
    bad = [prepared(tmp_path / "bad0", "schedule.n_steps=60"), prepared(tmp_path / "bad1", "schedule.n_steps=80")]
    launcher = BatchedLauncher(processes=2)
    try:
        launcher.train_in_workers([good, bad], workers=2)
    finally:
        launcher.stop_pool()
    [ok] = good
    assert ok.status == JobStatus.COMPLETED and isinstance(ok.return_value, TrialOutcome)
    assert not ok.return_value.failed and outputs.read_status(tmp_path / "good")["state"] == "done"
    assert (tmp_path / "good" / "metrics.json").exists()
    for ret, name in zip(bad, ("bad0", "bad1")):
        assert ret.status == JobStatus.FAILED
        with pytest.raises(ConfigError, match="must share"):  # how the sweeper reads a failed job
            ret.return_value
        record = outputs.read_status(tmp_path / name)
        assert record["state"] == "failed" and "must share" in record["reason"]
        assert not (tmp_path / name / "metrics.json").exists()


def test_a_dead_worker_fails_the_trials_in_training_and_the_next_batch_gets_fresh_workers(tmp_path):
    launcher = BatchedLauncher(processes=2)
    stacks = [[prepared(tmp_path / f"long{i}", "schedule.n_steps=50000")] for i in range(2)]
    def kill_a_worker() -> None:  # the pool's workers are this process's only children
        while len(multiprocessing.active_children()) < 2:
            time.sleep(0.2)
        time.sleep(3.0)  # mid-fit: 50,000 steps take minutes
        multiprocessing.active_children()[0].kill()

    killer = threading.Thread(target=kill_a_worker, daemon=True)
    killer.start()
    try:
        launcher.train_in_workers(stacks, workers=2)
        assert launcher.pool is None  # the broken pool was let go
        for i, [ret] in enumerate(stacks):
            assert ret.status == JobStatus.FAILED
            with pytest.raises(BrokenProcessPool):
                ret.return_value
            assert outputs.read_status(tmp_path / f"long{i}")["state"] == "failed"
        after = [[prepared(tmp_path / f"short{i}", "schedule.n_steps=60")] for i in range(2)]
        launcher.train_in_workers(after, workers=2)
        assert all(ret.status == JobStatus.COMPLETED for [ret] in after)
    finally:
        launcher.stop_pool()


@pytest.mark.parametrize("value", [0, -1, "x", 1.5, True])
def test_bad_processes_values_are_refused(value):
    """The launcher checks its own settings when the sweep begins, before the study is opened."""
    from excolor.sweep.batch import SweepPlan
    from excolor.sweep.launcher import BatchedLauncher

    with pytest.raises(ConfigError, match=r"hydra\.launcher\.processes=.*allowed: an integer >= 1 \(or null\)"):
        BatchedLauncher(processes=value).begin(SweepPlan(batch_size=1))
    for fine in (None, 1):
        BatchedLauncher(processes=fine).begin(SweepPlan(batch_size=1))


def test_bad_processes_on_the_command_line_is_one_message_before_training(tmp_path):
    result = batched_sweep(tmp_path / "s", "x", "hydra.sweeper.n_trials=1")  # type: ignore[arg-type]
    message = result.stdout + result.stderr
    assert result.returncode == BAD_INPUT_EXIT and "Traceback" not in message, message[-2000:]
    assert "hydra.launcher.processes=x is not a number (str); allowed: an integer >= 1 (or null)" in message
    assert "[excolor] trial" not in message and not (tmp_path / "s" / "optuna.db").exists()


def test_ctrl_c_stops_the_workers_and_marks_every_trial_interrupted(tmp_path):
    args = [sys.executable, "-m", "excolor.cli.train", *QUICK, "schedule.n_steps=50000", "hydra.launcher.processes=2",
            "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=2", "trial.seeds=[0]",
            f"hydra.sweep.dir={tmp_path / 'multirun'}", f"hydra.sweeper.storage=sqlite:///{tmp_path / 'optuna.db'}"]
    sweep = subprocess.Popen(args, cwd=tmp_path, env={**os.environ, "WANDB_MODE": "offline"}, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    dirs = [tmp_path / "multirun" / str(n) for n in range(2)]
    deadline = time.time() + 120
    while not all((d / outputs.STATUS_FILE).exists() for d in dirs) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(3.0)  # both workers training
    sweep.send_signal(signal.SIGINT)  # to the sweep's process only, not to its workers
    out, _ = sweep.communicate(timeout=120)
    assert sweep.returncode == 130, out[-2000:]
    assert "interrupted" in out and "Traceback" not in out
    for run_dir in dirs:
        assert outputs.read_status(run_dir)["state"] == "interrupted" and not (run_dir / "metrics.json").exists()
    deadline = time.time() + 10
    while time.time() < deadline:  # the session holds the sweep, its forkserver and workers: all gone
        try:
            os.killpg(sweep.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("a process of the sweep outlived it")


OWNER_KILLED = """
import multiprocessing, os, signal, sys, time
from excolor.sweep.pool import TrainingPool
if __name__ == "__main__":
    pool = TrainingPool(2)
    pool.start()
    deadline = time.time() + 60
    while len(multiprocessing.active_children()) < 2 and time.time() < deadline:  # both workers started
        time.sleep(0.1)
    print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no exit handler, no pool.stop(): as kill -9 or the OOM killer
"""


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_end_when_the_process_owning_them_is_killed(tmp_path):
    done = subprocess.run([sys.executable, "-c", OWNER_KILLED], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    workers = [int(pid) for pid in done.stdout.split()]
    assert len(workers) == 2, done.stdout
    deadline = time.time() + 15
    while any(running(pid) for pid in workers) and time.time() < deadline:
        time.sleep(0.2)
    assert not any(running(pid) for pid in workers), "workers outlived the killed sweep"
