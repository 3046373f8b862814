"""excolor-report on a synthetic two-objective study (no training): names, directions, files, the HTML page."""

from __future__ import annotations

import re
import sys
import warnings

import optuna
import pytest
from optuna.trial import TrialState

from excolor.cli import report
from excolor.run.outcome import Attr
from excolor.study.heldout import store_heldout
from excolor.study.plots import objective_importances, pareto_figure

NAMES = ["collateral_mse", "red_mse"]
ANCHOR, SEPARATE = "regularizers.anchor.weight", "regularizers.separate.weight"


def synthetic(storage: str | None = None, n_trials: int = 40) -> optuna.Study:
    """collateral_mse (minimised, spans three decades) follows anchor alone; red_mse (maximised) is
    high only where separate is high, and low where anchor is low: each direction has its own cause."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["minimize", "maximize"], study_name="synthetic", storage=storage,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(NAMES)
    for number in range(n_trials):
        trial = study.ask()
        x, y = trial.suggest_float(ANCHOR, 0.0, 1.0), trial.suggest_float(SEPARATE, 0.0, 1.0)
        collateral, red = 10 ** (-4 + 3 * x), (y if y > 0.5 else 0.5 * x)
        trial.set_user_attr(Attr.OUTPUT_DIR, f"/runs/synthetic/{number}")
        trial.set_user_attr("collateral_mse", collateral)
        trial.set_user_attr("red_mse", red)
        trial.set_user_attr("collateral_mse_min", collateral / 2)
        trial.set_user_attr("collateral_mse_max", collateral * 2)
        store_heldout(study, number, {"seeds": [10, 11], "metrics": {"collateral_mse": collateral * 1.5}})
        if number == 7:
            trial.set_user_attr(Attr.REASON, "loss became non-finite")
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, [collateral, red])
    return study


STORED_TRIALS = 12


@pytest.fixture(scope="module")
def storage(tmp_path_factory) -> str:
    """The synthetic study in SQLite, written once (each trial is several commits: slow on a busy disk)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('study') / 'optuna.db'}"
    synthetic(url, STORED_TRIALS)
    return url


def test_importances_follow_each_objectives_direction() -> None:
    study = synthetic()
    red = objective_importances(study, NAMES.index("red_mse"))  # maximised: what makes red_mse high
    assert max(red, key=red.get) == SEPARATE and red[SEPARATE] > 0.8, red
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        as_if_minimised = optuna.importance.get_param_importances(study, target=lambda t: t.values[1])
    assert as_if_minimised[SEPARATE] < 0.7, as_if_minimised  # the bug this guards against: a different answer
    collateral = objective_importances(study, NAMES.index("collateral_mse"))
    assert max(collateral, key=collateral.get) == ANCHOR, collateral


def test_pareto_plot_log_axes_trial_numbers_and_metric_names() -> None:
    study = synthetic()
    ax = pareto_figure(study).axes[0]
    assert ax.get_xscale() == "log"  # collateral_mse spans 1e-4 .. 1e-1
    assert ax.get_xlabel() == "collateral_mse (minimize)" and ax.get_ylabel() == "red_mse (maximize)"
    complete = {str(t.number) for t in study.trials if t.state == TrialState.COMPLETE}
    assert {text.get_text() for text in ax.texts} == complete


def test_report_table_and_file_names(storage, tmp_path, capsys) -> None:
    out = tmp_path / "report out"  # a space in the folder is the user's choice; file names have none
    assert report.main(["--storage", storage, "--study", "synthetic", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "objectives collateral_mse (minimize), red_mse (maximize)" in text
    header = text.splitlines()[1]
    for column in ("anchor", "separate", "collateral_mse seeds", "heldout_collateral_mse", "heldout_seeds", "state", "output dir"):
        assert column in header, (column, header)
    assert "FAIL (loss became non-finite)" in text and "/runs/synthetic/3" in text
    files = sorted(p.name for p in out.iterdir())
    assert files == ["history_0_collateral_mse.png", "history_1_red_mse.png", "importances_0_collateral_mse.png",
                     "importances_1_red_mse.png", "pareto_front.png"], files
    assert all(" " not in name for name in files)


def test_html_page_is_one_offline_file_with_names_and_every_trial(storage, tmp_path, capsys) -> None:
    pytest.importorskip("plotly")
    out = tmp_path / "r"
    assert report.main(["--storage", storage, "--study", "synthetic", "--out", str(out), "--html"]) == 0
    page = (out / "report.html").read_text()
    assert re.search(r"plotly\.js v\d", page) and len(page) > 1_000_000  # plotly.js itself is inlined
    assert not re.search(r"<script[^>]*\bsrc=", page), "the page must not load scripts from anywhere"
    assert page.count("Plotly.newPlot") >= 7  # Pareto, 2 parallel coordinates, 2 importances, 2 histories
    for name in NAMES:
        assert f"{name} (minimize)" in page or f"{name} (maximize)" in page
    numbers = re.findall(r"<tr><td>\*?</td><td>(\d+)</td>", page)
    assert sorted(map(int, numbers)) == list(range(STORED_TRIALS))
    assert "FAIL (loss became non-finite)" in page


def test_html_without_plotly_says_so_and_writes_nothing(storage, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "plotly", None)  # `import plotly` now raises ImportError
    out = tmp_path / "r"
    assert report.main(["--storage", storage, "--study", "synthetic", "--out", str(out), "--html"]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "pip install plotly" in captured.err
    assert not out.exists()


def test_single_objective_study(tmp_path, capsys) -> None:
    storage = f"sqlite:///{tmp_path / 'one.db'}"
    study = optuna.create_study(direction="maximize", study_name="one", storage=storage,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["log_selectivity"])
    study.optimize(lambda t: t.suggest_float(ANCHOR, 0, 1) - t.suggest_float(SEPARATE, 0, 1) ** 2, n_trials=5)
    args = ["--storage", storage, "--study", "one", "--out", str(tmp_path / "r")]
    assert report.main(args + (["--html"] if _has_plotly() else [])) == 0
    assert "objectives log_selectivity (maximize)" in capsys.readouterr().out
    names = {p.name for p in (tmp_path / "r").iterdir()}
    assert {"history_log_selectivity.png", "importances_log_selectivity.png"} <= names, names


def _has_plotly() -> bool:
    try:
        import plotly  # noqa: F401
    except ImportError:
        return False
    return True
