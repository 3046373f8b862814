"""Checks a sweep makes once, before its study is opened: its counts, its base config, its study name, the
optional packages its sampler and storage need, and its heartbeat settings.

A base config that every trial would reject (a NaN weight, a negative learning rate in the
schedule) fails here, with the key, instead of failing every trial one by one.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from excolor.core.domains import DomainError, check_run_name, check_sweep_counts
from excolor.errors import ConfigError
from excolor.run.checks import check_config
from excolor.run.config import ExcolorConfig
from excolor.run.trials import build_regularizers, build_schedule


def check_sweep(config: DictConfig, n_trials: Any, n_jobs: Any, max_failure_rate: Any = 0.0) -> ExcolorConfig:
    """The sweep's base config, checked (ConfigError names the key when it or the sweep's counts are unusable)."""
    sweep = config.get("sweep") or {}
    try:
        check_sweep_counts(n_trials, n_jobs, sweep.get("total_trials"), max_failure_rate)
    except DomainError as error:
        raise ConfigError(str(error)) from None
    base = OmegaConf.masked_copy(config, [key for key in config if key != "hydra"])
    with open_dict(base):
        base.logger = None  # its interpolations need a job's runtime; the logger is not what is checked
    checked = check_config(base)
    build_schedule(checked)
    build_regularizers(checked)
    if checked.sweep.grace_s < 2 * checked.sweep.heartbeat_s:
        raise ConfigError(f"sweep.grace_s={checked.sweep.grace_s:g} must be at least twice sweep.heartbeat_s="
                          f"{checked.sweep.heartbeat_s:g}: a live worker on another host would be judged dead "
                          "between two of its heartbeats")
    return checked


def check_study_name(name: Any) -> None:
    """A study name names its directory (multirun/<study>) and is handed to every trial on the command
    line: refused like a run name, before the study is opened."""
    try:
        check_run_name(name, key="hydra.sweeper.study_name")
    except DomainError as error:
        raise ConfigError(str(error)) from None


NEEDS = {"GPSampler": ("scipy", "gp"), "QMCSampler": ("scipy", "gp"), "CmaEsSampler": ("cmaes", None)}
"""Optuna samplers and the package each imports only when it first samples: (module, excolor extra)."""


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def check_dependencies(sampler: Any, storage: Any) -> None:
    """A sampler's or storage's optional package, missing, is named with its install command before the
    study is opened (Optuna would import it after trials were asked)."""
    target = str(OmegaConf.select(sampler, "_target_", default="") if isinstance(sampler, DictConfig) else "")
    module, extra = NEEDS.get(target.rpartition(".")[2], (None, None))
    if module and not installed(module):
        how = f"pip install -e '.[{extra}]'" if extra else f"pip install {module}"
        raise ConfigError(f"hydra.sweeper.sampler {target} needs the {module} package, which is not installed: {how}")
    if str(storage or "").startswith("postgresql") and not any(installed(m) for m in ("psycopg", "psycopg2")):
        raise ConfigError("hydra.sweeper.storage is PostgreSQL, whose driver is not installed: "
                          "pip install -e '.[postgres]'")
