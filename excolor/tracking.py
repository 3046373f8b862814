"""Experiment tracking: the Lightning logger of a run (csv, wandb or none) and W&B extras.

W&B runs offline unless WANDB_MODE says otherwise; `wandb sync` uploads later.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)
LOGGER_TARGETS = ["lightning.pytorch.loggers.*"]
"""The classes a `logger/` config may name."""


def build_logger(cfg: DictConfig, output_dir: Path) -> Any:
    """Instantiate `cfg.logger` (None for logger=none) and record the full resolved config."""
    if cfg.get("logger") is None:
        return None
    logger = instantiate(cfg.logger, _execution_whitelist_=LOGGER_TARGETS)
    logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    return logger


def _is_wandb(logger: Any) -> bool:
    return type(logger).__name__ == "WandbLogger"


def finish_logger(logger: Any, result: Any, output_dir: Path, failed: bool = False) -> None:
    """Summary metrics, named-colour table and plots to W&B; then close the run."""
    if logger is None:
        return
    if not _is_wandb(logger):
        logger.finalize("failed" if failed else "success")
        return
    import wandb

    run = logger.experiment
    if result is not None:
        run.summary.update(result.metrics)
        first = result.seeds[0].report
        if first is not None:
            columns = list(first.named_colors[0])
            run.log({"named_colors": wandb.Table(columns=columns, data=[list(r.values()) for r in first.named_colors])})
        images = {path.stem: wandb.Image(str(path)) for path in sorted(output_dir.glob("*.png"))}
        if images:
            run.log(images)
    run.finish(exit_code=1 if failed else 0)
