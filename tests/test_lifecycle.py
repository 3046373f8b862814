"""Every trial a sweep asks for ends: after Ctrl-C, SIGTERM, a full disk, a missing optional dependency or
an exception while claiming a directory, no trial of the study is RUNNING; each unfinished one is FAILED
with its reason, and its directory says so. And workers killed outright are found while the others run,
so a study topped up to a total reaches it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import FAST, run_cli, run_in_process, unavailable

pytestmark = pytest.mark.slow
STUDY = "pareto-ex2_9_1"
SWEEP = ["experiment=ex2_9_1", "sweep=pareto", "hydra.sweeper.sampler.seed=0", *FAST]


def states(storage: str, study: str = STUDY) -> dict[TrialState, list[optuna.trial.FrozenTrial]]:
    trials = optuna.load_study(study_name=study, storage=storage).trials
    return {state: [t for t in trials if t.state == state] for state in TrialState}


def assert_every_trial_ended(storage: str, reason: str) -> list[optuna.trial.FrozenTrial]:
    """No trial RUNNING; the FAILED ones carry `reason` and their directories say how they ended."""
    by_state = states(storage)
    assert not by_state[TrialState.RUNNING], [t.number for t in by_state[TrialState.RUNNING]]
    failed = by_state[TrialState.FAIL]
    assert failed and all(reason in t.user_attrs.get("fail_reason", "") for t in failed), \
        [t.user_attrs.get("fail_reason") for t in failed]
    for trial in failed:
        status = Path(trial.user_attrs.get("output_dir", "/nonexistent")) / "status.json"
        if status.is_file():
            assert json.loads(status.read_text())["state"] in ("failed", "interrupted")
    return failed


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "excolor.cli.train", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "WANDB_MODE": "offline"})


def wait_for(condition, timeout: float = 240) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_batch_ends_every_asked_trial(tmp_path, signum):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    sweep = start([*SWEEP, "schedule.n_steps=40000", "hydra.sweeper.n_trials=4", "hydra.sweeper.n_jobs=2",
                   "hydra/launcher=batched", "hydra.launcher.processes=1", f"hydra.sweeper.storage={storage}",
                   f"hydra.sweep.dir={tmp_path / 'sweep'}"], tmp_path)
    wait_for(lambda: any(p.read_text().count('"running"') for p in (tmp_path / "sweep").glob("*/status.json")))
    sweep.send_signal(signum)
    out, _ = sweep.communicate(timeout=120)
    assert sweep.returncode == 130 and "Traceback" not in out, out[-3000:]
    failed = assert_every_trial_ended(storage, "interrupted")
    assert len(failed) == 2  # the batch that was training; nothing was asked after it


def test_a_full_disk_ends_every_asked_trial_and_says_so(tmp_path):
    disk = tmp_path / "small"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        unavailable(f"needs a small tmpfs (mount as root): {mounted.stderr.decode().strip()}")
    try:
        storage = f"sqlite:///{tmp_path / 'optuna.db'}"  # the study is elsewhere: only the trial dirs fill up
        result = run_cli([*SWEEP, "hydra.sweeper.n_trials=40", "hydra.sweeper.n_jobs=2", f"hydra.sweeper.storage={storage}",
                          f"hydra.sweep.dir={disk / 'sweep'}"], cwd=tmp_path)
        out = result.stdout + result.stderr
        assert result.returncode == 1 and "Traceback" not in out, out[-3000:]
        assert "the sweep stopped: disk full" in out and "run the same command again" in out, out[-2000:]
        assert_every_trial_ended(storage, "disk full")
        assert states(storage)[TrialState.COMPLETE]  # what finished before the disk filled is kept
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_missing_optional_dependency_is_refused_before_any_trial(tmp_path, capfd, monkeypatch):
    """`batch_gp` needs scipy, PostgreSQL a driver: without them the sweep says how to install them and asks
    for no trial (the study is not even opened)."""
    from excolor.sweep import preflight

    monkeypatch.setattr(preflight, "installed", lambda module: False)
    monkeypatch.chdir(tmp_path)
    for overrides, words in ([["hydra/sweeper/sampler=batch_gp"], ["scipy", "pip install -e '.[gp]'"]],
                             [["hydra.sweeper.storage='postgresql://u@localhost/db'"],
                              ["PostgreSQL", "pip install -e '.[postgres]'"]]):
        code, out = run_in_process([*SWEEP, "hydra.sweeper.n_trials=2", *overrides], capfd, monkeypatch)
        assert code == 2 and "Traceback" not in out, out[-3000:]
        assert all(word in out for word in words), out[-2000:]
    assert not (tmp_path / "multirun" / "optuna.db").exists()


def test_an_exception_while_claiming_a_directory_ends_the_trials_it_asked(tmp_path, capfd, monkeypatch):
    from excolor.sweep import loop

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    claims = []

    def claim_then_fail(*args, **kwargs):  # the second batch's first claim meets an I/O error
        claims.append(args)
        if len(claims) == 3:
            raise OSError(5, "Input/output error (injected)")
        return loop_claim(*args, **kwargs)

    loop_claim = loop.claim_directory
    monkeypatch.setattr(loop, "claim_directory", claim_then_fail)
    monkeypatch.chdir(tmp_path)
    code, out = run_in_process([*SWEEP, "hydra.sweeper.n_trials=4", "hydra.sweeper.n_jobs=2",
                                f"hydra.sweeper.storage={storage}", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
                               capfd, monkeypatch)
    assert code == 1 and "Traceback" not in out, out[-3000:]
    assert "Input/output error (injected)" in out
    failed = assert_every_trial_ended(storage, "Input/output error (injected)")
    assert len(failed) == 2 and len(states(storage)[TrialState.COMPLETE]) == 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_three_workers_one_killed_mid_batch_still_reach_the_total(tmp_path, backend, request):
    """Three batched workers top a study up to 12 complete trials; one is killed with kill -9 while its
    batch trains. The survivors find its trials (dead pid on this host), fail them, and go on to 12."""
    storage = request.getfixturevalue("postgres_url") if backend == "postgresql" \
        else f"sqlite:///{tmp_path / 'optuna.db'}"
    args = [*SWEEP, "sweep.total_trials=12", "hydra.sweeper.n_jobs=2", "hydra/launcher=batched",
            "hydra.launcher.processes=1", f"hydra.sweeper.storage='{storage}'", f"hydra.sweep.dir={tmp_path / 'sweep'}",
            "sweep.heartbeat_s=2", "sweep.grace_s=8"]
    workers = [start([*args, f"hydra.sweeper.sampler.seed={i}"], tmp_path) for i in (0, 1, 2)]
    victim, survivors = workers[0], workers[1:]

    def victim_is_training() -> bool:
        try:
            running = states(storage.strip("'"))[TrialState.RUNNING]
        except KeyError:  # the study is not created yet
            return False
        return any(str(t.user_attrs.get("worker", "")).endswith(f":{victim.pid}") for t in running)

    wait_for(victim_is_training)
    victim.send_signal(signal.SIGKILL)  # mid-batch, while the others run: its trials are RUNNING in the study
    victim.communicate(timeout=60)
    outs = [w.communicate(timeout=600)[0] for w in survivors]
    assert all(w.returncode == 0 for w in survivors), "\n".join(o[-2000:] for o in outs)
    by_state = states(storage.strip("'"))
    assert len(by_state[TrialState.COMPLETE]) == 12, {s.name: len(v) for s, v in by_state.items()}
    assert not by_state[TrialState.RUNNING]
    abandoned = by_state[TrialState.FAIL]
    assert abandoned and all("abandoned" in t.user_attrs.get("fail_reason", "") for t in abandoned)
    shutil.rmtree(tmp_path / "sweep", ignore_errors=True)
