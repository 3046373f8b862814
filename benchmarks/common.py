"""Helpers shared by the benchmarks: compose configs exactly as excolor-train would."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from excolor.config import CONF_DIR, ExcolorConfig, check_config, register_schema


def compose_config(overrides: list[str]) -> ExcolorConfig:
    """The typed config of `excolor-train OVERRIDES` (logger off), without running it."""
    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR)):
        cfg = compose("config", overrides=["logger=none", *overrides], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return check_config(cfg)
