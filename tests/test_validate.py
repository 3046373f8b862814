"""excolor-validate: held-out records on the study, a preset that composes and reproduces them, bad input."""

import json

import optuna
import pytest

from excolor.cli.report import main as report_main
from excolor.cli.validate import main as validate_main
from excolor.study.heldout import heldout_key, read_heldout
from tests.conftest import run_cli

STUDY = "pareto-ex2_9_1"
TINY = ["schedule.n_steps=120", "eval.hsv_cube=[24,8,8]", "eval.rgb_grid_size=12"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """A 3-trial x 2-seed batched pareto sweep (a few seconds)."""
    root = tmp_path_factory.mktemp("sweep")
    storage = f"sqlite:///{root / 'optuna.db'}"
    result = run_cli(["-m", "experiment=ex2_9_1", "sweep=pareto", *TINY, "hydra.sweeper.sampler.seed=0",
                      "hydra.sweeper.n_trials=3", "hydra.sweeper.n_jobs=3", "hydra/launcher=batched",
                      "trial.seeds=[0,1]", f"hydra.sweeper.storage={storage}",
                      f"hydra.sweep.dir={root / 'multirun'}"], cwd=root, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return root, storage


def test_validate_stores_heldout_exports_a_preset_that_reproduces_it_and_report_shows_it(
        swept, tmp_path, capsys, monkeypatch):
    root, storage = swept
    monkeypatch.setenv("EXCOLOR_CONFIG_DIR", str(tmp_path / "user_conf"))
    front = sorted(t.number for t in optuna.load_study(study_name=STUDY, storage=storage).best_trials)

    assert validate_main(["--storage", storage, "--study", STUDY, "--seeds", "10-11",
                          "--out", str(tmp_path / "v")]) == 0
    out = capsys.readouterr().out
    assert "collateral held-out" in out and f"trials {front} x seeds [10, 11]: one batched run" in out
    study = optuna.load_study(study_name=STUDY, storage=storage)
    records = read_heldout(study)
    assert sorted(records) == front and all(heldout_key(n) in study.user_attrs for n in front)
    chosen = front[0]
    record = records[chosen]
    assert record["seeds"] == [10, 11] and len(record["seed_values"]["collateral_mse"]) == 2
    assert record["metrics"]["n_seeds"] == 2 and record["metrics"]["collateral_mse"] > 0
    assert (tmp_path / "v").is_dir() and json.loads(
        next((tmp_path / "v").glob(f"*/{chosen}/metrics.json")).read_text())["collateral_mse"] == pytest.approx(
        record["metrics"]["collateral_mse"])

    # export: the stored record is reused (no training), the preset lands in the user config dir
    assert validate_main(["--storage", storage, "--study", STUDY, "--seeds", "10-11", "--trials", str(chosen),
                          "--export", "validated_one"]) == 0
    out = capsys.readouterr().out
    assert "already stored" in out and "one batched run" not in out
    preset = tmp_path / "user_conf" / "experiment" / "validated_one.yaml"
    text = preset.read_text()
    assert f"trial {chosen} of study '{STUDY}'" in text and "held-out seeds [10, 11]" in text

    # excolor-train finds it through hydra.searchpath and reproduces the held-out numbers exactly
    run = run_cli(["experiment=validated_one", "trial.seeds=[10,11]", "logger=none", "outputs.plots=false",
                   f"hydra.run.dir={tmp_path / 'rerun'}"], cwd=tmp_path, timeout=120,
                  env={"EXCOLOR_CONFIG_DIR": str(tmp_path / "user_conf")})
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = json.loads((tmp_path / "rerun" / "metrics.json").read_text())
    for key in ("collateral_mse", "red_mse", "similarity_r2"):
        assert metrics[key] == pytest.approx(record["metrics"][key], rel=1e-4, abs=1e-9), key

    assert report_main(["--storage", storage, "--study", STUDY, "--out", str(tmp_path / "r")]) == 0
    report = capsys.readouterr().out
    assert "heldout_collateral_mse" in report and "10-11" in report


@pytest.mark.parametrize("args, words", [
    (["--study", "nope"], ["--study 'nope'", STUDY]),
    (["--trials", "1,99"], ["no trial [99]"]),
    (["--seeds", "19-10"], ["--seeds '19-10'", "LOW-HIGH"]),
    (["--seeds", "1-3"], ["held-out", "overlap"]),
    (["--trials", "0", "--export", "a/b"], ["--export 'a/b'", "no '/'"]),
    (["--top", "2", "--export", "two"], ["--export writes one trial", "--trials N"]),
    (["--trials", "0", "--export", "ex2_9_1"], ["already has a preset 'ex2_9_1'"]),
])
def test_bad_input_is_one_paragraph_before_training(swept, tmp_path, capsys, monkeypatch, args, words):
    root, storage = swept
    monkeypatch.setenv("EXCOLOR_CONFIG_DIR", str(tmp_path / "user_conf"))
    assert validate_main(["--storage", storage, "--study", STUDY, *args, "--out", str(tmp_path / "v")]) == 2
    captured = capsys.readouterr()
    for word in words:
        assert word in captured.err, (word, captured.err)
    assert "Traceback" not in captured.err and captured.err.count("\n") == 1
    assert not (tmp_path / "v").exists() and not (tmp_path / "user_conf").exists()


def test_a_trial_whose_directory_config_disagrees_with_the_study_is_refused(swept, tmp_path, capsys):
    root, storage = swept
    saved = root / "multirun" / "0" / ".hydra" / "config.yaml"
    original = saved.read_text()
    weight = optuna.load_study(study_name=STUDY, storage=storage).trials[0].params["regularizers.anchor.weight"]
    try:
        saved.write_text(original.replace(repr(weight), repr(weight * 2)))
        assert validate_main(["--storage", storage, "--study", STUDY, "--trials", "0", "--seeds", "20",
                              "--out", str(tmp_path / "v")]) == 2
    finally:
        saved.write_text(original)
    err = capsys.readouterr().err
    assert "trial 0" in err and "regularizers.anchor.weight" in err and "another run" in err
    assert not (tmp_path / "v").exists()
