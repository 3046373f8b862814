"""A real Optuna sweep end to end: trials, resume, batched launcher, report, sweep-config errors."""

import re

import optuna
import pytest

from excolor.cli.report import main as report_main
from excolor.errors import BAD_INPUT_EXIT
from excolor.run.trials import run_trials
from tests.conftest import compose_config, run_cli

SWEEP = ["-m", "experiment=ex2_9_1", "sweep=pareto", "schedule.n_steps=120", "eval.hsv_cube=[24,8,8]",
         "eval.rgb_grid_size=12", "hydra.sweeper.sampler.seed=0"]


def sweep(tmp_path, *extra, timeout=300):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    args = [*SWEEP, f"hydra.sweeper.storage={storage}", f"hydra.sweep.dir={tmp_path / 'multirun'}", *extra]
    return run_cli(args, cwd=tmp_path, timeout=timeout), storage


def test_sweep_resume_batched_and_report(tmp_path, capsys):
    first, storage = sweep(tmp_path, "hydra.sweeper.n_trials=2")
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.count("[excolor] trial") == 2 and "Pareto front" in first.stdout
    assert re.search(r"\[excolor\] 1/2 trials of this run; \d+s so far, about \d+s left", first.stdout)
    study = optuna.load_study(study_name="pareto-ex2_9_1", storage=storage)
    assert len(study.trials) == 2 and set(study.trials[0].params) == {
        f"regularizers.{n}.weight" for n in ("separate", "anchor", "anti_subspace", "anti_anchor")}

    # resume: same study, more trials, this time two trials x two seeds trained as one stacked model; other
    # seeds and another space make incomparable trials, so the study refuses them unless told to mix
    other = ("hydra.sweeper.n_jobs=2", "hydra/launcher=batched", "trial.seeds=[0,1]",
             "regularizers=[separate,anchor,anti_subspace]")
    refused, _ = sweep(tmp_path, "hydra.sweeper.n_trials=2", *other, timeout=60)
    assert refused.returncode == BAD_INPUT_EXIT and "sweep.mix=true" in refused.stderr, refused.stderr[-2000:]
    second, _ = sweep(tmp_path, "hydra.sweeper.n_trials=2", *other, "sweep.mix=true")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "with other settings (sweep.mix=true): seeds: [0] -> [0, 1]" in second.stdout + second.stderr
    study = optuna.load_study(study_name="pareto-ex2_9_1", storage=storage)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert [t.number for t in study.trials] == [0, 1, 2, 3] and len(complete) == 4
    assert "regularizers.anti_anchor.weight" not in study.trials[3].params  # space follows the selection
    assert study.trials[3].user_attrs["seeds"] == [0, 1]
    assert len(study.trials[3].user_attrs["seeds_collateral_mse"]) == 2

    # a member of the batched stack equals the same trial trained alone (same seeds, same weights)
    trial = study.trials[3]
    alone = run_trials([compose_config([*SWEEP[1:2], "schedule.n_steps=120", "eval.hsv_cube=[24,8,8]",
                                        "eval.rgb_grid_size=12", "trial.seeds=[0,1]",
                                        "regularizers=[separate,anchor,anti_subspace]",
                                        *(f"{k}={v}" for k, v in trial.params.items())])])[0]
    assert [s.report.metrics["collateral_mse"] for s in alone.seeds] == pytest.approx(
        trial.user_attrs["seeds_collateral_mse"], rel=1e-4, abs=1e-9)

    assert report_main(["--storage", storage, "--study", "pareto-ex2_9_1", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "collateral_mse" in out and out.count("COMPLETE") == 4 and "*" in out
    assert study.metric_names == ["log10_collateral_mse", "red_mse"]  # set by the sweep: dashboards show names
    assert (tmp_path / "r" / "pareto_front.png").stat().st_size > 0


@pytest.mark.parametrize("override, words", [
    ("+sweep.ranges.planar_v=[0.1,1.0]", ["planar_v", "not select"]),
    ("regularizers.anchor.weight=interval(2.0, 1.0)", ["regularizers.anchor.weight", "low"]),
    ("regularizers.anchor.weight=tag(log, interval(0.0, 1.0))", ["regularizers.anchor.weight", "log"]),
    ("regularizers.planar_v.weight=interval(0.1, 1.0)", ["planar_v", "not selected"]),
    ("hydra/sweeper/sampler=annealing", ["annealing", "tpe"]),  # Hydra's own message, as one paragraph
    ("hydra.sweeper.storage=bogus://nowhere", ["hydra.sweeper.storage", "bogus://nowhere"]),
    ("hydra.sweeper.storage='postgresql://nobody@127.0.0.1:1/none'", ["hydra.sweeper.storage", "127.0.0.1:1"]),
])
def test_sweep_config_errors_fail_before_first_trial(tmp_path, override, words):
    result, _ = sweep(tmp_path, "hydra.sweeper.n_trials=1", override, timeout=60)
    message = result.stdout + result.stderr
    assert result.returncode == BAD_INPUT_EXIT, message[-2000:]
    for word in words:
        assert word in message, (word, message[-2000:])
    assert "[excolor] trial" not in message


def test_sweep_preset_without_dash_m_runs_the_sweep(tmp_path):
    """`excolor-train sweep=pareto` is a sweep, not one quiet training that looks like one."""
    from excolor.cli.train import with_multirun

    assert with_multirun(["sweep=pareto", "seed=1"]) == ["-m", "sweep=pareto", "seed=1"]
    for argv in (["-m", "sweep=pareto"], ["sweep=pareto", "--cfg", "job"], ["sweep=null"], ["seed=1"]):
        assert with_multirun(argv) == argv
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    result = run_cli([*SWEEP[1:], "hydra.sweeper.n_trials=1", f"hydra.sweeper.storage={storage}",
                      f"hydra.sweep.dir={tmp_path / 'multirun'}"], cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("[excolor] trial") == 1 and (tmp_path / "multirun" / "0" / "metrics.json").is_file()
    assert len(optuna.load_study(study_name="pareto-ex2_9_1", storage=storage).trials) == 1
