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


def synthetic(storage: str | None = None, n_trials: int = 40, name: str = "synthetic", seed: int = 0) -> optuna.Study:
    """collateral_mse (minimised, spans three decades) follows anchor alone; red_mse (maximised) is
    high only where separate is high, and low where anchor is low: each direction has its own cause."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["minimize", "maximize"], study_name=name, storage=storage,
                                sampler=optuna.samplers.RandomSampler(seed=seed))
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


# --- several studies side by side -------------------------------------------------------------------------------

def test_hypervolume_of_known_fronts() -> None:
    from excolor.study.compare import hypervolume

    assert hypervolume([[1, 1]], [2, 2]) == 1
    assert hypervolume([[0, 1], [1, 0]], [2, 2]) == 3  # two 2x1 boxes overlapping in 1x1
    assert hypervolume([[0, 1], [1, 0], [1, 1]], [2, 2]) == 3  # a dominated point adds nothing
    assert hypervolume([[3, 0]], [2, 2]) == 0  # beyond the reference
    assert hypervolume([[0, 0, 0]], [1, 2, 3]) == 6


def test_two_studies_in_two_storages_compared_in_one_command(tmp_path, capsys) -> None:
    pytest.importorskip("plotly")
    pytest.importorskip("pandas")
    first, second = (f"sqlite:///{tmp_path / name}.db" for name in ("a", "b"))
    synthetic(first, 10, name="narrow", seed=1)
    synthetic(second, 10, name="wide", seed=2)
    out, trials = tmp_path / "cmp", tmp_path / "trials.csv"
    code = report.main(["--storage", first, "--storage", second, "--study", "narrow", "--study", "wide",
                        "--out", str(out), "--html", "--trials-out", str(trials)])
    text = capsys.readouterr().out
    assert code == 0, text
    summary = text.splitlines()[:3]
    assert summary[0].split()[:5] == ["study", "complete", "failed", "front", "hypervolume"], summary
    assert summary[1].startswith("narrow") and summary[2].startswith("wide")
    assert all(float(line.split()[4]) > 0 for line in summary[1:]), summary  # a hypervolume each
    assert (out / "pareto_fronts.png").stat().st_size > 10_000
    page = (out / "compare.html").read_text()
    for name in ("narrow: front", "wide: front", "narrow: dominated", "wide: dominated", "hypervolume"):
        assert name in page, name
    import pandas as pd

    frame = pd.read_csv(trials)
    assert list(frame.columns[:3]) == ["study", "pareto", "number"]
    assert frame.groupby("study").size().to_dict() == {"narrow": 10, "wide": 10}
    assert frame["pareto"].any() and not frame["pareto"].all()


@pytest.mark.parametrize("args, words", [
    (["--storage", "X", "--storage", "Y", "--storage", "Z"], ["--storage", "3 times", "2 --study"]),
])
def test_comparison_refuses_mismatched_storages(storage, args, words, capsys) -> None:
    code = report.main([*args, "--study", "synthetic", "--study", "synthetic"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and all(w in err for w in words), err


def test_comparison_refuses_studies_of_different_objectives(tmp_path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    synthetic(url, 3, name="two")
    one = optuna.create_study(direction="minimize", study_name="one", storage=url)
    one.optimize(lambda t: t.suggest_float(ANCHOR, 0, 1), n_trials=2)
    code = report.main(["--storage", url, "--study", "two", "--study", "one", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "different objectives" in err and "'one'" in err, err
    assert not (tmp_path / "o").exists()


def test_html_front_is_red_dominated_grey_and_parallel_coordinates_dark_is_best() -> None:
    pytest.importorskip("plotly")
    from excolor.study.html import DOMINATED_COLOUR, FRONT_COLOUR, figures

    study = synthetic(n_trials=20)
    shown = dict(figures(study))
    [front] = [f for title, f in shown.items() if title.startswith("Pareto front")]
    colours = {trace.name.split(": ")[1].split(" ")[0]: trace.marker.color for trace in front.data}
    assert colours == {"dominated": DOMINATED_COLOUR, "front": FRONT_COLOUR}, colours
    assert front.layout.xaxis.type == "log"
    parallel = [f for title, f in shown.items() if title.startswith("Parallel coordinates")]
    traces = [t for p in parallel for t in p.data if t.type == "parcoords"]
    assert [t.line.reversescale for t in traces] == [True, False]  # minimised, maximised: dark = best
    labels = {d.label for t in traces for d in t.dimensions}
    assert {"anchor", "separate"} <= labels and not any(label.startswith("regularizers.") for label in labels)
