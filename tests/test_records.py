"""A sweep's record: one trial = one directory, one Optuna record, however many workers; dead workers
are found (same host by pid, any host by heartbeat); the summary is the storage's true Pareto front."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from excolor.run import outputs
from excolor.run.outcome import Attr
from excolor.study.storage import open_storage, open_study
from excolor.sweep.workers import TRIAL_FILE, fail_abandoned_trials, worker_id

STUDY = "pareto-ex2_9_1"
FAST_SWEEP = ["-m", "experiment=ex2_9_1", "sweep=pareto", "eval.hsv_cube=[24,8,8]", "eval.rgb_grid_size=12",
              "hydra/launcher=batched", "trial.seeds=[0]"]


def start_worker(cwd: Path, storage: str, *extra: str, env: dict | None = None) -> subprocess.Popen:
    """One sweep worker process (default sweep dir: multirun/<study>/<number> under `cwd`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "excolor.cli.train", *FAST_SWEEP, f"hydra.sweeper.storage='{storage}'", *extra],
        cwd=cwd, env={**os.environ, "WANDB_MODE": "offline", **(env or {})}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def finish(worker: subprocess.Popen, timeout: float = 400) -> str:
    out, _ = worker.communicate(timeout=timeout)
    assert worker.returncode == 0, out[-3000:]
    return out


def dominated(a: list[float], b: list[float]) -> bool:
    """a is dominated by b for (minimise collateral, maximise red)."""
    return b[0] <= a[0] and b[1] >= a[1] and (b[0] < a[0] or b[1] > a[1])


def check_records(cwd: Path, storage: str, expected_trials: int) -> None:
    """Every trial number has exactly one directory, holding exactly that trial's results."""
    study = optuna.load_study(study_name=STUDY, storage=storage)
    trials = study.trials
    objectives = study.metric_names  # the sweep's objectives, each a key of metrics.json
    assert objectives == ["log10_collateral_mse", "red_mse"]
    assert sorted(t.number for t in trials) == list(range(expected_trials))
    assert all(t.state == TrialState.COMPLETE for t in trials), [t.state for t in trials]
    sweep_dir = cwd / "multirun" / STUDY
    dirs = sorted(int(p.name) for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert dirs == list(range(expected_trials))
    values = {}
    for trial in trials:
        directory = sweep_dir / str(trial.number)
        assert Path(trial.user_attrs[Attr.OUTPUT_DIR]) == directory.resolve()
        assert json.loads((directory / TRIAL_FILE).read_text())["number"] == trial.number
        metrics = json.loads((directory / "metrics.json").read_text())
        assert [metrics[name] for name in objectives] == trial.values  # nothing overwritten
        assert metrics["collateral_mse"] == trial.user_attrs["collateral_mse"]
        config = yaml.safe_load((directory / ".hydra" / "config.yaml").read_text())
        assert config["trial"]["number"] == trial.number
        for key, value in trial.params.items():  # the directory trained exactly this trial's values
            node = config
            for part in key.split("."):
                node = node[part]
            assert node == pytest.approx(value)
        values[trial.number] = [metrics[name] for name in objectives]
    true_front = sorted(n for n, v in values.items() if not any(dominated(v, w) for w in values.values()))
    written = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert sorted(t["number"] for t in written["pareto_front"]) == true_front
    assert written["name"] == "optuna"  # and Hydra's Optuna sweeper's own keys: one solution per front trial
    assert [s["params"] for s in written["solutions"]] == [t["params"] for t in written["pareto_front"]]
    assert written["trials"] == {"complete": expected_trials}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_three_batched_workers_started_in_the_same_second(tmp_path, backend, request):
    storage = (f"sqlite:///{tmp_path / 'optuna.db'}" if backend == "sqlite"
               else request.getfixturevalue("postgres_url"))
    workers = [start_worker(tmp_path, storage, "schedule.n_steps=60", "hydra.sweeper.n_trials=2",
                            "hydra.sweeper.n_jobs=2", f"hydra.sweeper.sampler.seed={i}") for i in range(3)]
    for worker in workers:
        finish(worker)
    check_records(tmp_path, storage, expected_trials=6)


def test_kill_minus_9_of_a_worker_on_another_host_mid_batch(tmp_path):
    """The dead worker's trials fail by heartbeat when the next worker starts; the survivor goes on."""
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    # the victim trains longer (to be killed mid-batch): a step count of its own, so every worker mixes
    victim = start_worker(tmp_path, storage, "schedule.n_steps=3000", "hydra.sweeper.n_trials=2", "sweep.mix=true",
                          "hydra.sweeper.n_jobs=2", "sweep.heartbeat_s=1", env={"EXCOLOR_WORKER_HOST": "elsewhere"})
    survivor = start_worker(tmp_path, storage, "schedule.n_steps=60", "hydra.sweeper.n_trials=2", "sweep.mix=true",
                            "hydra.sweeper.sampler.seed=1", "sweep.heartbeat_s=1")
    deadline = time.time() + 240
    while time.time() < deadline:  # until the victim's batch is training
        try:
            trials = optuna.load_study(study_name=STUDY, storage=storage).trials
        except KeyError:
            trials = []
        mine = [t for t in trials if str(t.user_attrs.get(Attr.WORKER, "")).startswith("elsewhere:")]
        if len(mine) == 2 and all(t.state == TrialState.RUNNING for t in mine):
            break
        assert victim.poll() is None, victim.stdout.read()
        time.sleep(0.5)
    else:
        pytest.fail("the victim never started its batch")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    time.sleep(4)  # longer than the next worker's grace period below, with no heartbeat from the victim
    follower = start_worker(tmp_path, storage, "schedule.n_steps=60", "hydra.sweeper.n_trials=1", "sweep.mix=true",
                            "hydra.sweeper.sampler.seed=2", "sweep.grace_s=3", "sweep.heartbeat_s=1")
    finish(survivor)
    finish(follower)
    study = optuna.load_study(study_name=STUDY, storage=storage)
    by_worker: dict[str, list] = {}
    for trial in study.trials:
        by_worker.setdefault(str(trial.user_attrs[Attr.WORKER]).split(":")[0], []).append(trial)
    assert [t.state for t in by_worker["elsewhere"]] == [TrialState.FAIL] * 2
    assert all("abandoned: no heartbeat" in t.user_attrs[Attr.REASON] for t in by_worker["elsewhere"])
    here = [t for host, ts in by_worker.items() if host != "elsewhere" for t in ts]
    assert len(here) == 3 and all(t.state == TrialState.COMPLETE for t in here)  # survivor unaffected


def test_abandoned_trials_by_pid_here_and_by_heartbeat_anywhere(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'nested' / 'new' / 'optuna.db'}")  # folders created
    study = open_study(storage, "s", ["minimize"], optuna.samplers.RandomSampler(seed=0), ["loss"])
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout.strip()
    here = worker_id().rpartition(":")[0]
    cases = {  # worker, seconds since its last heartbeat, abandoned?
        f"{here}:{dead_pid}": (1, True),           # its process is gone
        f"{here}:{os.getpid()}": (1000, False),    # alive here: busy (a long fit, a slow disk), not dead
        "elsewhere:1": (1000, True),              # silent longer than the grace period
        "elsewhere:2": (1, False),                # another host, still beating
    }
    dirs = []
    for worker, (age, _) in cases.items():
        trial = study.ask()
        trial.set_user_attr(Attr.WORKER, worker)
        trial.set_user_attr(Attr.HEARTBEAT, time.time() - age)
        dirs.append(tmp_path / str(trial.number))
        outputs.mark_status(dirs[-1], "running")  # what a worker writes before it trains, and kill -9 leaves
        trial.set_user_attr(Attr.OUTPUT_DIR, str(dirs[-1]))
    failed = fail_abandoned_trials(storage, study, grace_s=60)
    expected = [i for i, (_, (_, abandoned)) in enumerate(cases.items()) if abandoned]
    assert failed == expected
    states = [t.state for t in study.trials]
    assert [s == TrialState.FAIL for s in states] == [i in expected for i in range(4)]
    on_disk = [outputs.read_status(d) for d in dirs]  # the directory tells what the study tells
    assert [r["state"] for r in on_disk] == ["failed" if i in expected else "running" for i in range(4)]
    assert all(on_disk[i]["reason"] == study.trials[i].user_attrs[Attr.REASON] for i in expected)
    assert fail_abandoned_trials(storage, study, grace_s=60) == []  # idempotent


def test_a_stale_directory_is_never_written_into(tmp_path):
    """Trial numbers restart when a storage is replaced: the old trial's directory is left untouched."""
    stale = tmp_path / "multirun" / STUDY / "0"
    stale.mkdir(parents=True)
    (stale / "metrics.json").write_text('{"mine": true}')
    worker = start_worker(tmp_path, f"sqlite:///{tmp_path / 'optuna.db'}", "schedule.n_steps=60",
                          "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=1")
    out = finish(worker)
    assert (stale / "metrics.json").read_text() == '{"mine": true}'
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert study.trials[0].state == TrialState.FAIL and "already holds files" in study.trials[0].user_attrs[Attr.REASON]
    assert study.trials[1].state == TrialState.COMPLETE and "FAILED" in out


def test_default_storage_works_from_an_empty_directory(tmp_path):
    """No multirun/ folder here: the default SQLite storage creates it."""
    worker = subprocess.run([sys.executable, "-m", "excolor.cli.train", *FAST_SWEEP, "schedule.n_steps=30",
                             "hydra.sweeper.n_trials=1"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert worker.returncode == 0, worker.stdout[-2000:] + worker.stderr[-2000:]
    assert (tmp_path / "multirun" / "optuna.db").is_file()
    assert (tmp_path / "multirun" / STUDY / "0" / "metrics.json").is_file()


def test_a_failed_trial_keeps_its_metrics_and_reason(tmp_path):
    """trial.require_no_failed_seeds with an impossible threshold: FAILED, with every metric it produced."""
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    worker = start_worker(tmp_path, storage, "schedule.n_steps=60", "hydra.sweeper.n_trials=1",
                          "trial.require_no_failed_seeds=true", "trial.fail_threshold=1e-9")
    out, _ = worker.communicate(timeout=400)
    assert worker.returncode != 0 and "every trial of this sweep failed" in out, out[-2000:]
    [trial] = optuna.load_study(study_name=STUDY, storage=storage).trials
    assert trial.state == TrialState.FAIL and "require_no_failed_seeds" in trial.user_attrs[Attr.REASON]
    metrics = json.loads((tmp_path / "multirun" / STUDY / "0" / "metrics.json").read_text())
    assert trial.user_attrs["collateral_mse"] == metrics["collateral_mse"]
    assert trial.user_attrs[f"{Attr.SEED_PREFIX}collateral_mse"] == [metrics["collateral_mse"]]
    assert json.loads((tmp_path / "multirun" / STUDY / "0" / "status.json").read_text())["state"] == "failed"
