"""Saved work read back: a run directory's config and weights, and a sweep trial rebuilt from the config
its directory recorded. Directories written by earlier versions load too (their `_target_` paths are
mapped to today's by excolor/run/checks.py `current_target`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict
from optuna.trial import FrozenTrial

from excolor.core.concepts import Concept
from excolor.core.data import ColorDataModule
from excolor.core.metrics import MemberReport, evaluate
from excolor.core.model import ColorMLP
from excolor.errors import ConfigError
from excolor.run import outputs
from excolor.run.checks import check_config
from excolor.run.config import CONF_DIR, ExcolorConfig, compose, concept_of, group_options, split_override
from excolor.run.outcome import Attr
from excolor.run.trials import build_schedule, deleted, trained_steps

SAVED_CONFIG = Path(".hydra") / "config.yaml"
"""Where a run directory keeps the exact config it ran with (Hydra's layout)."""
RUN_DIR_HINT = "RUN_DIR must be the output dir of an excolor-train run"
EVAL_OVERRIDABLE = ("ablation", "eval")
"""What a re-evaluation can change; everything else (model, data, schedule, ...) needs a new training run."""


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def read_saved_config(path: Path, hint: str) -> DictConfig:
    """A saved config file as a mapping of config keys; `hint` ends the error (what the path should be)."""
    try:
        cfg = OmegaConf.load(path)
        if not isinstance(cfg, DictConfig):
            raise ValueError("it is not a mapping of config keys")
    except Exception as error:  # yaml's and OmegaConf's parse errors
        raise ConfigError(f"{path}: not a run's saved config ({type(error).__name__}: {_first_line(error)}); "
                          f"{hint}") from None
    return cfg


def check_eval_overrides(overrides: list[str]) -> dict[str, str]:
    """Refuse an override a re-evaluation cannot apply, rather than ignore it; the group choices among them
    (`ablation=none`), which a saved config (no defaults list) takes as a whole node."""
    groups = {}
    for override in overrides:
        key, value = split_override(override)
        top = key.split(".", 1)[0].split("/", 1)[0]
        if value is None:
            raise ConfigError(f"{override!r} is not an override KEY=VALUE (excolor-eval RUN_DIR [ablation=...] "
                              "[eval.KEY=VALUE] [--out FILE])")
        if top not in EVAL_OVERRIDABLE:
            raise ConfigError(f"{override}: excolor-eval can change only the {' and '.join(EVAL_OVERRIDABLE)} "
                              f"settings of a trained model; {key} needs a new training run (excolor-train)")
        if key == top and (CONF_DIR / top).is_dir():
            groups[top] = value
    return groups


def load_run(run_dir: Path, overrides: list[str]) -> tuple[ExcolorConfig, ColorMLP]:
    """A finished run's checked config (plus `overrides` of its ablation and eval) and its first seed's model."""
    saved, weights = run_dir / SAVED_CONFIG, run_dir / outputs.WEIGHTS_FILE
    for needed in (saved, weights):
        if not needed.exists():
            raise ConfigError(f"{needed} not found: {RUN_DIR_HINT}")
    groups = check_eval_overrides(overrides)
    loaded = read_saved_config(saved, RUN_DIR_HINT)
    missing = [key for key in ("model", "eval", "ablation", "objectives") if key not in loaded]
    if missing:
        raise ConfigError(f"{saved}: not a run's saved config (it has no {', '.join(missing)} section); "
                          f"{RUN_DIR_HINT}")
    try:
        cfg = compose([o for o in overrides if o.split("=", 1)[0] not in groups], config_dir=saved.parent.resolve())
    except Exception as error:  # Hydra's override grammar and key errors
        raise ConfigError(f"cannot apply the overrides {overrides} to {saved}: {_first_line(error)}") from None
    with open_dict(cfg):
        cfg.logger = None  # evaluation logs nothing; the run's logger config may need Hydra's runtime
        for group, option in groups.items():
            path = CONF_DIR / group / f"{option}.yaml"
            if not path.exists():
                raise ConfigError(f"{group}={option}: no such option; allowed: {group_options(group)}")
            cfg[group] = OmegaConf.load(path)
    config = check_config(cfg)
    try:
        model = outputs.load_model(weights)
    except Exception as error:  # not a torch file, not our payload, or a shape that differs from the config
        raise ConfigError(f"{weights}: not weights saved by excolor-train for this run's model "
                          f"({type(error).__name__}: {_first_line(error)})") from None
    if model.config.k_bottleneck != config.model.k_bottleneck:
        raise ConfigError(f"{weights}: its bottleneck has {model.config.k_bottleneck} dims but the run's config "
                          f"says model.k_bottleneck={config.model.k_bottleneck}")
    return config, model


def saved_seed(run_dir: Path, config: ExcolorConfig) -> int:
    """The seed whose weights a run saved: its first seed that trained (seed_metrics.json says which failed)."""
    seeds = list(config.trial.seeds or [config.seed])
    try:
        records = json.loads((run_dir / outputs.SEED_METRICS_FILE).read_text())
        return next(r["seed"] for r in records if not r.get("failure"))
    except (OSError, ValueError, StopIteration, KeyError, TypeError):
        return seeds[0]


def evaluate_run(run_dir: Path, overrides: list[str]) -> tuple[MemberReport, Concept]:
    """The first seed's model of a finished run, evaluated under its config plus `overrides`; the concept
    it deletes (whose name its metrics use). A post-hoc eraser is fitted on the samples that seed trained
    on, drawn again from its config (all randomness comes from the seed)."""
    config, model = load_run(run_dir, overrides)
    concept = concept_of(config)
    ablated = deleted(model, config, training_data(config, saved_seed(run_dir, config)))
    failure = next((f for f in getattr(ablated, "failures", []) if f), None)
    if failure:
        raise ConfigError(failure)
    [report] = evaluate(model.reconstruct, ablated.reconstruct, config.eval, concept)
    return report, concept


def training_data(config: ExcolorConfig, seed: int) -> ColorDataModule:
    """The batches one seed of a run trained on, drawn again (bit for bit: they depend on the seed only)."""
    data = ColorDataModule(config.data, [config.labels], [seed], trained_steps(config, build_schedule(config)))
    data.setup()
    return data


def trial_config(trial: FrozenTrial, seeds: list[int]) -> DictConfig:
    """The config a sweep trial's directory recorded, its searched values checked against the study's and
    its seeds replaced by `seeds` (held-out seeds: none of them may be one the sweep used)."""
    saved = Path(str(trial.user_attrs.get(Attr.OUTPUT_DIR, ""))) / SAVED_CONFIG
    owner = f"trial {trial.number}"
    if not saved.is_file():
        raise ConfigError(f"{owner}: its config {saved} is not there (the trial's output_dir "
                          "attribute names its directory; run excolor-validate where the sweep's files are)")
    cfg = read_saved_config(saved, f"{owner} cannot be rebuilt from its directory")
    for key, value in trial.params.items():
        recorded = OmegaConf.select(cfg, key)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (recorded, value))
        if not (math.isclose(recorded, value, rel_tol=1e-9) if numbers else recorded == value):
            raise ConfigError(f"{owner}: {saved} has {key}={recorded}, the study {value}; the "
                              "directory belongs to another run, so the trial cannot be rebuilt truthfully")
    swept = set(trial.user_attrs.get(Attr.SEEDS) or [])
    reused = sorted(swept & set(seeds))
    if reused:
        raise ConfigError(f"--seeds: {owner} was scored on seeds {sorted(swept)} in the sweep; held-out seeds "
                          f"must be new ones (overlap: {reused}), e.g. --seeds {max(swept) + 1}-{max(swept) + 10}")
    with open_dict(cfg):
        cfg.trial.seeds = seeds
        cfg.logger = None
        cfg.outputs.plots = False
        cfg.outputs.quiet = True
    return cfg
