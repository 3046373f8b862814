"""Issue 14's shape study: every model shape and shape preset composes, one trains, studies stay apart."""

import optuna
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from benchmarks.shape_study import select
from excolor.core.model import ModelConfig
from excolor.run.config import CONF_DIR, group_options, register_schema
from tests.conftest import FAST, compose_config, run_in_process

SHAPES = {f"k{k}_n{n}": (k, n) for k in (4, 5, 6) for n in (1, 2)}
SHAPE_PRESETS = [name for name in group_options("experiment") if name.startswith("shape_")]


@pytest.mark.parametrize("shape", SHAPES)
def test_model_shape_composes(shape):
    config = compose_config([f"model={shape}"])
    assert (config.model.k_bottleneck, config.model.n_hidden) == SHAPES[shape]
    assert config.model.width == ModelConfig.width  # one source: the schema's default


def test_every_shape_preset_is_ex2_9_1_on_its_shape():
    assert sorted(SHAPE_PRESETS) == sorted(f"shape_{s}" for s in SHAPES)
    base = compose_config(["experiment=ex2_9_1"])
    for name in SHAPE_PRESETS:
        config = compose_config([f"experiment={name}"])
        assert config.name == name
        assert (config.model.k_bottleneck, config.model.n_hidden) == SHAPES[name.removeprefix("shape_")]
        assert set(config.regularizers) == set(base.regularizers) and config.data == base.data


def sweeper_node(*overrides: str):
    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR)):
        cfg = compose("config", overrides=list(overrides), return_hydra_config=True)
    GlobalHydra.instance().clear()
    return cfg


def test_sweep_shape_names_one_study_per_shape():
    names = {sweeper_node("experiment=ex2_9_1", "sweep=shape", f"model={s}").hydra.sweeper.study_name for s in SHAPES}
    assert names == {f"shape-ex2_9_1-{s}" for s in SHAPES}


def test_graded_objectives_and_sweep():
    expected = {"log10_collateral_mse": "minimize", "red_mse": "maximize", "similarity_r2": "maximize"}
    for overrides in (["objectives=graded"], ["sweep=graded"]):
        config = compose_config(["experiment=ex2_9_1", *overrides])
        assert {k: v.value for k, v in config.objectives.items()} == expected
    cfg = sweeper_node("experiment=ex2_9_1", "sweep=graded")
    assert cfg.hydra.sweeper.study_name == "graded-ex2_9_1"
    assert "schedule.lr_scale" in cfg.hydra.sweeper.params  # pareto_wide's space, plus the third objective


@pytest.mark.slow
@pytest.mark.parametrize("experiment", ["shape_k5_n1", "ex2_9_1_graded"])
def test_a_new_preset_trains(experiment, tmp_path, capfd, monkeypatch):
    code, out = run_in_process([f"experiment={experiment}", *FAST, f"hydra.run.dir={tmp_path}"], capfd, monkeypatch)
    assert code == 0, out[-2000:]
    assert (tmp_path / "metrics.json").is_file()
    assert compose_config([f"experiment={experiment}"]).name == experiment


def fake_trial(median: float, red: float, collateral: float, failed: int = 0, w: float = 1.0):
    attrs = {"median_mse": median, "named_red_after": red, "collateral_mse": collateral, "failed_seeds": failed}
    return create_trial(state=TrialState.COMPLETE, values=[collateral, red], params={"w": w},
                        distributions={"w": FloatDistribution(0.1, 10)}, user_attrs=attrs)


def test_shape_study_rule_prefers_reaching_trials_then_red_then_median():
    study = optuna.create_study(directions=["minimize", "maximize"])
    for t in [fake_trial(5e-4, 0.3, 2e-3),  # 0: reaches, more collateral
              fake_trial(8e-4, 0.25, 1e-3),  # 1: reaches, least collateral -> chosen
              fake_trial(1e-4, 0.1, 1e-4),  # 2: red too small
              fake_trial(1e-5, 0.4, 1e-5, failed=1)]:  # 3: a failed seed: never chosen while a clean one exists
        study.add_trial(t)
    assert select(study.trials).number == 1
    no_reach = [t for t in study.trials if t.number in (2, 3)] + [fake_trial(3e-3, 0.3, 5e-3)]
    assert select(no_reach).why.startswith("red >= 0.2")
    assert select([fake_trial(3e-3, 0.1, 5e-3), fake_trial(2e-3, 0.1, 5e-3)]).why == "least median_mse"
    every_one_failed = [fake_trial(9e-3, 0.3, 0.02, failed=1, w=2.0), fake_trial(4e-3, 0.3, 0.03, failed=2, w=3.0)]
    assert select(every_one_failed).params == {"w": 3.0}  # then all complete trials count
