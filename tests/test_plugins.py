"""Code of the user's own, outside excolor: a regularizer and a label source from a throw-away package, with a
config dir for them, are selected, scheduled and swept like built-ins; bad plug-ins are refused with their
key before training."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import optuna
import pytest

from tests.conftest import FAST, run_cli, run_in_process

REGULARIZERS = '''
from dataclasses import dataclass

from excolor.core.regularizers import Regularizer, RegularizerConfig


@dataclass
class CentreConfig(RegularizerConfig):
    _target_: str = "mypkg.regs.Centre"
    power: float = 2.0


class Centre(Regularizer):
    """|mean latent of the batch| ** power, the same for every sample: keeps the latents centred."""

    Config = CentreConfig

    def per_sample(self, z):
        return z.mean(dim=1, keepdim=True).norm(dim=-1).pow(self.config.power).expand(z.shape[:-1])


@dataclass
class FlatConfig(RegularizerConfig):
    _target_: str = "mypkg.regs.Flat"


class Flat(Regularizer):
    """Wrong on purpose: one loss per member, not per sample."""

    Config = FlatConfig

    def per_sample(self, z):
        return z.sum(dim=(1, 2))
'''
SOURCES = '''
def warmness(rgb):
    """Red minus blue, in [0, 1]."""
    return ((rgb[:, 0] - rgb[:, 2]) + 1.0) / 2.0


def broken(rgb):
    return rgb
'''
CONFIGS = {
    "regularizers/centre.yaml": "# @package regularizers.centre\n_target_: mypkg.regs.Centre\npower: 2.0\n",
    "regularizers/flat.yaml": "# @package regularizers.flat\n_target_: mypkg.regs.Flat\n",
    "concept/warm.yaml": "name: warm\npoles:\n  warm: {rgb: [1, 0.5, 0], source: mypkg.sources.warmness}\n",
    "experiment/mine.yaml": textwrap.dedent("""\
        # @package _global_
        defaults:
          - ex2_10_1
          - override /concept: warm
          - override /regularizers: [separate, anchor, anti_subspace, centre]
        name: mine
        plugins: [mypkg.*]
        """),
}


@pytest.fixture
def user_package(tmp_path, monkeypatch):
    """`mypkg` on the Python path and a user config dir naming its regularizer, concept and experiment."""
    package = tmp_path / "site" / "mypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "regs.py").write_text(REGULARIZERS)
    (package / "sources.py").write_text(SOURCES)
    conf = tmp_path / "conf"
    for name, text in CONFIGS.items():
        (conf / name).parent.mkdir(parents=True, exist_ok=True)
        (conf / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("EXCOLOR_CONFIG_DIR", str(conf))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for module in [m for m in sys.modules if m == "mypkg" or m.startswith("mypkg.")]:
        del sys.modules[module]


@pytest.mark.slow
def test_a_regularizer_of_your_own_is_swept_like_a_builtin(user_package):
    storage = f"sqlite:///{user_package / 'optuna.db'}"
    result = run_cli(["experiment=mine", "sweep=pareto", "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=2",
                      "hydra/launcher=batched", "hydra.launcher.processes=1", "hydra.sweeper.sampler.seed=0",
                      f"hydra.sweeper.storage={storage}", *FAST],
                     cwd=user_package, env={"PYTHONPATH": os.pathsep.join([str(user_package / "site"), *sys.path]),
                                            "EXCOLOR_CONFIG_DIR": str(user_package / "conf")})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    study = optuna.load_study(study_name="pareto-mine-warm", storage=storage)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 2
    assert all("regularizers.centre.weight" in t.params for t in complete)
    assert study.metric_names == ["log10_collateral_mse", "warm_mse"]
    assert {t.params["regularizers.centre.weight"] for t in complete} != {1.0}


BAD = [  # (overrides, words)
    (["experiment=mine", "plugins=[]"], ["mypkg.", "not allowed", "plugins=[...] (now [])"]),
    (["experiment=mine", "plugins=[mypkg.regs.*]"], ["mypkg.sources.warmness", "not allowed"]),
    (["experiment=mine", "regularizers=[separate,anchor,flat]"], ["regularizers.flat", "[M,B]", "[2, 8, 5]"]),
    (["experiment=mine", "+regularizers.centre.strength=3"], ["strength"]),
    (["experiment=mine", "concept.poles.warm.source=mypkg.sources.broken"], ["mypkg.sources.broken", "scores [N]"]),
    (["experiment=mine", "concept.poles.warm.source=mypkg.nothere.f"], ["mypkg.nothere.f", "cannot be imported"]),
    (["experiment=mine", "regularizers.centre._target_=mypkg.regs.Nope"], ["mypkg.regs.Nope", "cannot be imported"]),
    (["experiment=mine", "regularizers.centre._target_=mypkg.sources.warmness"], ["warmness", "not a regularizer"]),
]


@pytest.mark.parametrize("overrides, words", BAD, ids=[o[-1] for o, _ in BAD])
def test_bad_plugins_are_named_before_training(user_package, overrides, words, capfd, monkeypatch):
    code, out = run_in_process([*overrides, *FAST], capfd, monkeypatch)
    assert code == 2, out[-2000:]
    assert "Traceback" not in out and not list(Path(user_package).glob("outputs/*/*/metrics.json"))
    for word in words:
        assert word in out, (word, out[-1500:])
