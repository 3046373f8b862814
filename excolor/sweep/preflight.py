"""Checks a sweep makes once, before its study is opened: its counts and its base config.

A base config that every trial would reject (a NaN weight, a negative learning rate in the
schedule) fails here, with the key, instead of failing every trial one by one.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from excolor.core.domains import DomainError, check_sweep_counts
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
    return checked
