"""Racing over seeds (`hydra.launcher.race_seeds`): who goes on, what a pruned and a finished trial record."""

import json

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from excolor.errors import BAD_INPUT_EXIT
from excolor.run import outputs
from excolor.run.outcome import Attr, TrialOutcome
from excolor.run.tracking import trial_summary
from excolor.run.trials import run_trials
from excolor.study.table import columns
from excolor.sweep.batch import Front, dominates
from tests.conftest import FAST, compose_config, run_cli

STUDY = "pareto-ex2_9_1"
RACING = ["-m", "experiment=ex2_9_1", "sweep=pareto", *FAST, "hydra.sweeper.sampler.seed=0",
          "hydra/launcher=batched", "hydra.launcher.processes=1", "hydra.sweeper.n_jobs=2",
          "hydra.sweeper.n_trials=2", "trial.seeds=[0,1,2]", "hydra.launcher.race_seeds=2"]


def racing_sweep(tmp_path, *extra, timeout=300):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    args = [*RACING, f"hydra.sweeper.storage={storage}", f"hydra.sweep.dir={tmp_path / 'multirun'}", *extra]
    return run_cli(args, cwd=tmp_path, timeout=timeout), storage


def test_dominance_respects_each_objectives_direction():
    maximize = [False, True]  # (log10 collateral: less is better, red: more is better)
    assert dominates([-4.0, 0.5], [-3.0, 0.4], maximize)
    assert dominates([-4.0, 0.5], [-4.0, 0.4], maximize)  # equal in one, better in the other
    assert not dominates([-4.0, 0.5], [-4.0, 0.5], maximize)  # equal is not better
    assert not dominates([-4.0, 0.3], [-3.0, 0.4], maximize)  # a trade-off: neither dominates
    front = Front([(3, [-4.0, 0.3]), (7, [-2.0, 0.6])], maximize)
    assert front.rival([-1.0, 0.5]) == 7 and front.rival([-5.0, 0.1]) is None and front.rival([-3.0, 0.2]) == 3


def test_a_raced_trial_records_what_the_same_trial_trained_at_once_records(tmp_path):
    """Against a front that dominates nothing, every trial trains on seeds [0, 1], then [2]; its record
    (every seed, aggregated over all three) equals the trial trained on all three seeds in one stack.
    Against a front that dominates everything, every trial stops after its first two seeds and ends
    PRUNED, its record complete."""
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name=STUDY, storage=storage, directions=["minimize", "maximize"])
    study.add_trial(create_trial(values=[-100.0, -100.0], user_attrs={"note": "dominates no trial"}))
    result, _ = racing_sweep(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "racing over seeds (hydra.launcher.race_seeds=2)" in result.stdout
    assert "race: 2 of 2 trials go on past their first 2 seeds" in result.stdout
    study = optuna.load_study(study_name=STUDY, storage=storage)
    for trial in study.trials[1:]:
        assert trial.state == TrialState.COMPLETE and trial.user_attrs["seeds"] == [0, 1, 2]
        alone = run_trials([compose_config(["experiment=ex2_9_1", "objectives=pareto", *FAST, "trial.seeds=[0,1,2]",
                                            *(f"{k}={v}" for k, v in trial.params.items())])])[0]
        assert trial.user_attrs["seeds_collateral_mse"] == pytest.approx(
            [s.report.metrics["collateral_mse"] for s in alone.seeds], rel=1e-6, abs=1e-12)
        assert trial.values == pytest.approx(alone.objectives, rel=1e-6, abs=1e-12)
        assert trial.user_attrs["collateral_mse_max"] == pytest.approx(alone.metrics["collateral_mse_max"], rel=1e-6)

    study.add_trial(create_trial(values=[-100.0, 100.0], user_attrs={"note": "dominates every trial"}))
    second, _ = racing_sweep(tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "race: 0 of 2 trials go on past their first 2 seeds" in second.stdout
    study = optuna.load_study(study_name=STUDY, storage=storage)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    assert [t.number for t in pruned] == [4, 5]
    for trial in pruned:
        assert trial.user_attrs["seeds"] == [0, 1] and len(trial.user_attrs["seeds_red_mse"]) == 2
        assert trial.user_attrs[Attr.PRUNED_REASON] == "raced: after seeds [0, 1] dominated by trial 3"
        assert f"trial {trial.number:>4} pruned" in second.stdout
        run_dir = tmp_path / "multirun" / str(trial.number)
        assert outputs.read_status(run_dir)["state"] == "pruned"
        assert json.loads((run_dir / "metrics.json").read_text())["n_seeds"] == 2
    state = next(c for c in columns(study) if c.header == "state")
    assert "PRUNED (raced: after seeds [0, 1]" in state.cell(pruned[0])


def test_no_race_without_a_front_or_without_seeds_beyond_the_first(tmp_path):
    """A study's first batch has no front to lose to, and two-seed trials have no seeds to save: both
    train every trial on every seed in one stage, as without racing."""
    first, storage = racing_sweep(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    second, _ = racing_sweep(tmp_path, "trial.seeds=[0,1]", "sweep.mix=true")  # two-seed trials, same study
    assert second.returncode == 0, second.stderr[-3000:]
    assert "racing over seeds" not in second.stdout
    for output in (first.stdout, second.stdout):
        assert "race:" not in output and "pruned" not in output
    states = {t.state for t in optuna.load_study(study_name=STUDY, storage=storage).trials}
    assert states == {TrialState.COMPLETE}


def test_a_pruned_trial_is_neither_failed_nor_complete_in_its_wandb_summary():
    outcome = TrialOutcome(objectives=[-3.0, 0.2], metrics={}, seeds=[0, 1], seed_values={}, seed_failures=[None, None],
                           output_dir="x", pruned="raced: after seeds [0, 1] dominated by trial 4")
    summary = trial_summary(outcome)
    assert summary["trial_state"] == "PRUNED" and summary[Attr.PRUNED_REASON].endswith("trial 4")
    assert Attr.REASON not in summary


@pytest.mark.parametrize("value", ["0", "abc", "1.5"])
def test_a_bad_race_seeds_fails_before_the_first_trial(tmp_path, value):
    result, _ = racing_sweep(tmp_path, f"hydra.launcher.race_seeds={value}", timeout=60)
    message = result.stdout + result.stderr
    assert result.returncode == BAD_INPUT_EXIT and "Traceback" not in message
    assert "hydra.launcher.race_seeds" in message, message[-2000:]
    assert "[excolor] trial" not in message
