"""W&B as a user sees it: an offline sweep with a failing trial and a resume, read back record by record
from the `.wandb` files; the study-level run; start-up against a server that never answers."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from excolor.run import outputs
from excolor.run.outcome import Attr
from excolor.run.tracking import REPLAY_NOTE, SAMPLED_PREFIX
from excolor.study.wandb_run import TABLE_KEY
from tests.conftest import FAST, run_cli
from tests.wandb_records import OfflineRun, read_run, table

STUDY = "pareto-ex2_9_1"


def sweep(tmp_path: Path, n_trials: int) -> str:
    """A tiny batched W&B sweep over lr_scale; 1e30 makes its trial fail (non-finite loss). Its output."""
    args = ["-m", "experiment=ex2_9_1", "sweep=pareto", "eval.hsv_cube=[24,8,8]", "eval.rgb_grid_size=12",
            "hydra/launcher=batched", "trial.seeds=[0,1]", "logger=wandb", "schedule.n_steps=60",
            "sweep.weight_range=null", "hydra/sweeper/sampler=grid", "schedule.lr_scale=choice(1.0,0.5,1e30)",
            "hydra.sweeper.n_jobs=2", f"hydra.sweeper.n_trials={n_trials}",
            # one stack: the failing trial trains beside a healthy one, so it too has curves to replay
            # (alone, in its own sub-stack, its fit stops at the first non-finite loss)
            "hydra.launcher.processes=1",
            f"hydra.sweeper.storage='sqlite:///{tmp_path / 'optuna.db'}'", f"hydra.sweep.dir={tmp_path / 'multirun'}"]
    # WANDB_SILENT=false: W&B must be quiet because our logger settings say so, not because of the test
    result = run_cli(args, cwd=tmp_path, timeout=400, env={"WANDB_DIR": str(tmp_path / "wandb-dir"),
                                                           "WANDB_SILENT": "false"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def study_runs(directory: Path) -> list[OfflineRun]:
    """The study's runs under `directory`, oldest first."""
    found = sorted(directory.glob("wandb/offline-run-*"), key=lambda p: p.name)  # named by start time
    return [r for r in map(read_run, found) if r.job_type == "study"]


def test_offline_sweep_with_a_failure_and_a_resume_reads_back_true(tmp_path):
    printed = sweep(tmp_path, n_trials=2) + sweep(tmp_path, n_trials=1)  # the resume adds trial 2
    assert "wandb:" not in printed, printed[-3000:]  # W&B says nothing unless logger.settings ask it to
    trials = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{tmp_path / 'optuna.db'}").trials
    assert sorted(t.state.name for t in trials) == ["COMPLETE", "COMPLETE", "FAIL"]
    runs = {r.name: r for r in map(read_run, (tmp_path / "multirun").glob("*/wandb/offline-run-*"))}
    assert sorted(runs) == [f"{STUDY}-{n}" for n in range(3)]  # one run per trial, unique across the resume

    for trial in trials:
        run = runs[f"{STUDY}-{trial.number}"]
        assert (run.run_id, run.group, run.job_type) == (run.name, STUDY, "trial")
        assert set(run.tags) == {f"study:{STUDY}", "sweep:pareto", "experiment:ex2_9_1"}
        config = run.config
        assert config["trial"]["seeds"] == [0, 1] and all(type(s) is int for s in config["trial"]["seeds"])
        assert config["logger"]["_target_"].endswith("WandbLogger") and config["sweep"]["name"] == "pareto"
        assert (config["logger"]["job_type"], config["logger"]["group"]) == ("trial", STUDY)  # as the run itself
        assert type(config["schedule"]["n_steps"]) is int and type(config["outputs"]["quiet"]) is bool
        assert config["objectives"] == {"log10_collateral_mse": "minimize", "red_mse": "maximize"}
        assert config[f"{SAMPLED_PREFIX}schedule.lr_scale"] == trial.params["schedule.lr_scale"]
        assert config["schedule"]["lr_scale"] == trial.params["schedule.lr_scale"]
        summary = run.summary
        assert summary["trial_state"] == trial.state.name and summary[Attr.SEEDS] == [0, 1]
        assert len(summary[f"{Attr.SEED_PREFIX}collateral_mse"]) == 2
        assert run.notes == REPLAY_NOTE and summary["history_replayed"] is True
        local = (Path(trial.user_attrs[Attr.OUTPUT_DIR]) / outputs.HISTORY_FILE).read_text().splitlines()[1:]
        steps = [row["trainer/global_step"] for row in run.history if "train/loss" in row]
        assert steps == [int(line.split(",")[0]) for line in local]  # each curve row at its training step
        if trial.state == TrialState.FAIL:
            assert run.exit_code == 1  # W&B shows the run as failed
            assert summary[Attr.REASON] == trial.user_attrs[Attr.REASON] and "non-finite" in summary[Attr.REASON]
        else:
            assert run.exit_code == 0 and Attr.REASON not in summary
            assert [summary["log10_collateral_mse"], summary["red_mse"]] == pytest.approx(trial.values)
            seeds = summary[f"{Attr.SEED_PREFIX}red_mse"]
            assert summary["spread_red_mse"] == pytest.approx(max(seeds) - min(seeds))

    front = {t.number for t in optuna.load_study(study_name=STUDY, storage=f"sqlite:///{tmp_path / 'optuna.db'}").best_trials}
    writes = study_runs(tmp_path / "multirun")  # one write at the end of each sweep command ...
    assert [w.run_id for w in writes] == [f"{STUDY}-study"] * 2  # ... of one run, resumed, not multiplied
    for run, n_trials in zip(writes, (2, 3)):
        assert (run.name, run.job_type, run.group, run.exit_code) == (f"{STUDY}-study", "study", STUDY, 0)
        rows = table(run, TABLE_KEY)
        assert [row[0] for row in rows["data"]] == list(range(n_trials))
    settings = run.config  # the study's settings, to filter and group studies by in the W&B UI
    assert (settings["experiment"], settings["concept"], settings["sweep"]) == ("ex2_9_1", "red", "pareto")
    assert (settings["seeds"], settings["n_steps"]) == ([0, 1], 60)
    assert settings["objectives"] == {"log10_collateral_mse": "minimize", "red_mse": "maximize"}
    assert "schedule.lr_scale" in settings["space"] and settings["sampler"]["_target_"].endswith("GridSampler")
    assert {f"study:{STUDY}", "sweep:pareto", "experiment:ex2_9_1", "concept:red", "sampler:GridSampler",
            "steps:60", "seeds:2"} <= set(run.tags), run.tags
    rows = table(run, TABLE_KEY)
    by_number = {row[0]: dict(zip(rows["columns"], row)) for row in rows["data"]}
    for trial in trials:
        row = by_number[trial.number]
        assert row["state"] == trial.state.name and row["pareto"] == (trial.number in front)
        assert row[f"{SAMPLED_PREFIX}schedule.lr_scale"] == trial.params["schedule.lr_scale"]
        assert row[Attr.REASON] == trial.user_attrs.get(Attr.REASON)
        assert row["log10_collateral_mse"] == (trial.values[0] if trial.state == TrialState.COMPLETE else None)
        if trial.state == TrialState.COMPLETE:  # every spread column filled, the decades objective's too
            assert row["spread_log10_collateral_mse"] is not None and row["spread_red_mse"] is not None
    assert run.summary["front"] == sorted(front)
    assert {"pareto_front", "importance/log10_collateral_mse_table", "importance/red_mse_table"} <= set(run.summary)

    from excolor.cli import report  # on demand, for any study in any storage

    out = tmp_path / "report"
    assert report.main(["--storage", f"sqlite:///{tmp_path / 'optuna.db'}", "--study", STUDY, "--out", str(out),
                        "--wandb"]) == 0
    import wandb

    wandb.teardown()  # in this process W&B's service writes the file in the background: let it finish
    [again] = study_runs(out)
    assert again.run_id == f"{STUDY}-study" and len(table(again, TABLE_KEY)["data"]) == 3


@pytest.fixture
def silent_server():
    """A TCP address that accepts connections and never answers (the kernel completes the handshake)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


INIT_TIMEOUT_S = 3
MARGIN_S = 6
"""Our bound on W&B start-up beyond its configured init_timeout (measured ~0.5 s on an idle machine)."""


def test_wandb_start_up_against_a_silent_server_is_bounded_by_init_timeout(tmp_path, silent_server, caplog):
    import lightning.pytorch.loggers  # noqa: F401  (imports are not start-up)
    import wandb

    from excolor.run.tracking import build_logger

    spec = {"_target_": "lightning.pytorch.loggers.WandbLogger", "project": "excolor", "save_dir": str(tmp_path),
            "mode": "online", "settings": {"init_timeout": INIT_TIMEOUT_S, "silent": True,
                                           "base_url": silent_server, "api_key": "x" * 40}}
    started = time.perf_counter()
    try:
        assert build_logger({"logger": spec, "seed": 0}) is None
    finally:
        wandb.teardown()
    elapsed = time.perf_counter() - started
    assert INIT_TIMEOUT_S <= elapsed < INIT_TIMEOUT_S + MARGIN_S, elapsed
    assert "continuing without it, local outputs are kept" in caplog.text


def test_a_run_whose_wandb_never_answers_keeps_its_local_outputs(tmp_path, silent_server):
    result = run_cli([*FAST, "logger=wandb", f"logger.settings.init_timeout={INIT_TIMEOUT_S}",
                      f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path, timeout=300,
                     env={"WANDB_MODE": "online", "WANDB_BASE_URL": silent_server, "WANDB_API_KEY": "x" * 40,
                          "WANDB_DIR": str(tmp_path / "wandb-dir")})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "local outputs are kept" in result.stdout + result.stderr
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["recon_mse"] >= 0
