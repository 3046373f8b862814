"""The concept/ group: red is today's behaviour bit for bit; other colours, an axis, two dims and a colour by
value name their metrics after themselves; bad concepts are refused with their key before training."""

from __future__ import annotations

import json
import warnings

import pytest
from omegaconf import OmegaConf

from excolor.run.checks import check_config, compose_config
from excolor.run.trials import run_trials
from tests.conftest import REPO, run_in_process

PRESETS = REPO / "tests" / "fixtures" / "v0.1.0" / "presets"
TINY = ["schedule.n_steps=60", "eval.hsv_cube=[24,8,8]", "eval.rgb_grid_size=12", "outputs.plots=false",
        "trial.seeds=[0,1]"]
"""The settings the 0.1.0 preset fixtures were measured with (presets/MADE.md)."""


def metrics_of(config) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 60 steps merge a schedule's keyframes: it says so
        [result] = run_trials([config])
    return result.metrics


@pytest.mark.parametrize("preset", ["ex2_9_1", *(pytest.param(p, marks=pytest.mark.slow)
                                               for p in ("ex2_8", "ex2_9", "ex2_10", "ex2_10_1"))])
def test_concept_red_gives_exactly_the_metrics_of_0_1_0_for_the_seed_presets(preset):
    """The preset as 0.1.0 composed it (explicit red labels, anchor axis 0, ablation dim 0: no concept) and as
    today's `concept=red` composes it train to the same numbers, bit for bit; both are 0.1.0's numbers."""
    today = metrics_of(compose_config([f"experiment={preset}", *TINY]))
    then = metrics_of(check_config(OmegaConf.load(PRESETS / f"{preset}.yaml")))
    assert {key: today[key] for key in then} == then  # exactly, every metric 0.1.0 had
    assert today["concept_mse"] == today["red_mse"]
    recorded = json.loads((PRESETS / "metrics.json").read_text())[preset]["metrics"]
    assert set(recorded) <= set(today)
    assert {key: today[key] for key in recorded} == pytest.approx(recorded, rel=1e-3, abs=1e-7)


CONCEPTS = {  # option: (its metric, its labels, ablation dims)
    "green": ("green_mse", ["green"], [0]),
    "blue": ("blue_mse", ["blue"], [0]),
    "cyan": ("cyan_mse", ["cyan"], [0]),
    "warmth": ("warmth_mse", ["red", "cyan"], [0]),
    "red_blue": ("red_blue_mse", ["red", "blue"], [0, 1]),
}


@pytest.mark.parametrize("concept", CONCEPTS)
def test_every_concept_names_its_metrics_and_sets_labels_and_dims(concept):
    metric, labels, dims = CONCEPTS[concept]
    config = compose_config([f"concept={concept}", "experiment=ex2_10_1", "objectives=pareto", *TINY])
    assert list(config.labels.concepts)[:len(labels)] == labels and config.ablation.dims == dims
    assert list(config.objectives) == ["log10_collateral_mse", metric]
    metrics = metrics_of(config)
    assert metrics[metric] == metrics["concept_mse"] > 0 and "red_mse" not in metrics


def test_any_colour_by_value():
    config = compose_config(["concept.rgb=[1,0.5,0]", "experiment=ex2_10_1", *TINY])
    assert config.concept.name == "rgb_ff8000" and list(config.concept.poles) == ["rgb_ff8000"]
    label = config.labels.concepts["rgb_ff8000"]
    assert label.source == "likeness" and label.rgb == [1.0, 0.5, 0.0]
    metrics = metrics_of(config)
    assert "rgb_ff8000_mse" in metrics and "named_orange_before" in metrics


def test_the_axis_anchors_both_poles_in_opposite_directions():
    from excolor.run.trials import build_regularizers

    config = compose_config(["concept=warmth", "experiment=ex2_10_1"])
    anchor = build_regularizers(config)["anchor"]
    assert [(point.tolist()[0], labels) for point, labels in anchor.parts] == [(1.0, {"red": 1.0}),
                                                                                 (-1.0, {"cyan": 1.0})]


def test_a_non_red_concept_gets_a_study_of_its_own():
    from excolor.run.config import compose

    red = compose(["experiment=ex2_9_1", "sweep=pareto", "hydra/sweeper=excolor"], with_hydra=False)
    blue = compose(["experiment=ex2_9_1", "sweep=pareto", "concept=blue"], with_hydra=False)
    assert OmegaConf.select(red, "sweep.name") == "pareto"
    from excolor.run.config import study_name

    assert study_name(_root_=red) == "pareto-ex2_9_1" and study_name(_root_=blue) == "pareto-ex2_9_1-blue"


BAD = [  # (overrides, words the one-paragraph message must hold)
    (["concept=purple"], ["concept", "purple", "red"]),
    (["concept.rgb=[1.5,0,0]"], ["concept.rgb", "[0, 1]"]),
    (["concept=red_blue", "model.k_bottleneck=2"], ["red_blue", "every dim", "k_bottleneck"]),
    (["concept=red_blue", "model=k4_n1", "concept.poles.blue.dim=4"], ["concept.poles.blue.dim=4", "0..3"]),
    (["ablation.dims=[7]"], ["ablation.dims", "0..4"]),
    (["concept.poles.red.source=yellowness"], ["yellowness", "likeness", "redness"]),
    (["concept.poles.red.source=nowhere.module.f"], ["nowhere.module.f", "plugins"]),
    (["objectives=pareto", "concept=blue", "+objectives.red_mse=maximize"], ["red_mse", "blue"]),
]


@pytest.mark.parametrize("overrides, words", BAD, ids=[" ".join(o) for o, _ in BAD])
def test_bad_concepts_are_refused_before_training(overrides, words, capfd, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out = run_in_process([*overrides, "schedule.n_steps=20", "logger=none", "outputs.plots=false"],
                               capfd, monkeypatch)
    assert code == 2, out[-2000:]
    assert "Traceback" not in out and not list(tmp_path.glob("outputs/*/*/metrics.json"))
    for word in words:
        assert word in out, (word, out[-1500:])
