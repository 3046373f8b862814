"""Shared helpers: compose a config the way excolor-train does, and run the CLI in a temp dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from excolor.config import CONF_DIR, ExcolorConfig, check_config, register_schema

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FAST = ["schedule.n_steps=150", "eval.hsv_cube=[24,8,8]", "eval.rgb_grid_size=12", "outputs.plots=false",
        "logger=none"]
"""Overrides that make a run take a second or two: short schedule, coarse evaluation grids."""


def compose_config(overrides: list[str]) -> ExcolorConfig:
    """The typed config `excolor-train <overrides>` would run (without launching it)."""
    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR)):
        cfg = compose("config", overrides=["logger=none", *overrides], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return check_config(cfg)


def run_cli(args: list[str], cwd: Path, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m excolor.train ARGS` in `cwd`, output captured."""
    full_env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", **(env or {})}
    return subprocess.run([sys.executable, "-m", "excolor.train", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared (reference material) is not beside this clone")
    return SHARED
