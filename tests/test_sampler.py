"""The sweep presets' default sampler proposes diverse batches, and the same ones for the same seed.

No training: a study asks batches the way the sweeper does (ask the whole batch, then suggest each
trial in turn, so later asks see the pending ones) and is told synthetic objective values.
"""

import itertools
import math

import numpy as np
import optuna
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from excolor.run.build import build
from excolor.run.config import CONF_DIR, register_schema
from excolor.sweep.sweeper import SAMPLER_TARGETS

BATCH = 10
SPACE = {  # the shape of sweep=pareto_wide: four log-scaled weights, a log-scaled and a linear parameter
    **{f"w{i}": optuna.distributions.FloatDistribution(0.01, 100.0, log=True) for i in range(4)},
    "lr_scale": optuna.distributions.FloatDistribution(0.3, 3.0, log=True),
    "red_scale": optuna.distributions.FloatDistribution(0.02, 0.5),
}
MIN_NEAREST_PAIR = 0.3
"""Nearest pair of a batch, in log10 units / fraction of a linear range; the issue saw 0.04-0.09."""


def sampler_node(*overrides: str):
    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR)):
        cfg = compose("config", overrides=["experiment=ex2_9_1", "sweep=pareto_wide",
                                           f"hydra.sweeper.n_jobs={BATCH}", *overrides], return_hydra_config=True)
    GlobalHydra.instance().clear()
    return cfg.hydra.sweeper.sampler


def objectives(params: dict[str, float]) -> tuple[float, float]:
    """Two conflicting smooth objectives (minimise collateral, maximise red), like the real trade-off."""
    x = np.array([math.log10(params[f"w{i}"]) for i in range(4)] + [math.log10(params["lr_scale"])])
    collateral = float(np.sum((x - 0.5) ** 2)) + params["red_scale"]
    red = float(-np.sum((x + 0.5) ** 2)) + params["red_scale"]
    return collateral, red


def point(params: dict[str, float]) -> np.ndarray:
    return np.array([math.log10(params[k]) if d.log else (params[k] - d.low) / (d.high - d.low)
                     for k, d in SPACE.items()])


def batches(node, n_batches: int) -> list[list[dict[str, float]]]:
    """Ask n_batches batches as the sweeper does, telling each batch's synthetic values after it."""
    study = optuna.create_study(directions=["minimize", "maximize"], sampler=build(OmegaConf.to_container(node, resolve=True), SAMPLER_TARGETS))
    asked = []
    for _ in range(n_batches):
        trials = [study.ask() for _ in range(BATCH)]
        for trial in trials:
            for name, dist in SPACE.items():
                trial.suggest_float(name, dist.low, dist.high, log=dist.log)
        asked.append([dict(t.params) for t in trials])
        for trial in trials:
            study.tell(trial, objectives(trial.params))
    return asked


def nearest_pair(batch: list[dict[str, float]]) -> float:
    return min(float(np.linalg.norm(point(a) - point(b))) for a, b in itertools.combinations(batch, 2))


@pytest.fixture(scope="module")
def default_batches():
    return batches(sampler_node("hydra.sweeper.sampler.seed=0"), n_batches=4)


def test_default_sampler_batches_are_diverse_after_start_up(default_batches):
    node = sampler_node()
    startup = node.get("n_startup_trials") or node.get("population_size") or 0
    informed = default_batches[math.ceil(startup / BATCH):]
    assert informed, "the test must reach past the sampler's random start-up"
    for i, batch in enumerate(informed):
        assert nearest_pair(batch) > MIN_NEAREST_PAIR, f"informed batch {i} has near-duplicate proposals"


def test_default_sampler_is_deterministic_given_its_seed(default_batches):
    again = batches(sampler_node("hydra.sweeper.sampler.seed=0"), n_batches=4)
    assert again == default_batches
    other = batches(sampler_node("hydra.sweeper.sampler.seed=1"), n_batches=1)
    assert other[0] != default_batches[0]


def test_the_diversity_bound_catches_a_batch_blind_sampler():
    """Hydra's stock TPE config (no constant liar, independent) collapses within a batch: the bound fails it."""
    blind = batches(sampler_node("hydra/sweeper/sampler=tpe", "hydra.sweeper.sampler.seed=0"), n_batches=4)
    assert min(nearest_pair(b) for b in blind[1:]) < MIN_NEAREST_PAIR
