"""What a run shows while it trains: a progress bar that counts steps, and no library banners.

Lightning's start-up lines ("GPU available", "TPU available", its litlogger tip, "`Trainer.fit`
stopped") are INFO records of its rank-zero loggers; they say nothing about an excolor run (the
accelerator is fixed by `trainer.accelerator`), so a fit runs with those loggers at WARNING. Real
warnings still show. What excolor itself reports goes through logging, which Hydra's job log
(conf/hydra/job_logging/excolor.yaml) sends to the terminal and to `train.log` alike.
"""

from __future__ import annotations

import logging
import math
import warnings
from contextlib import contextmanager
from typing import Any, Iterator

from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.fabric.utilities import rank_zero as fabric_rank_zero
from lightning.pytorch.utilities import rank_zero

LIBRARY_NOISE = (
    # torch deprecates a class Lightning's own pytree helper still uses; nothing a user can change
    (FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated"),
    # excolor trains on the CPU on purpose (tiny kernels; conf/trainer/default.yaml)
    (UserWarning, r"GPU available but not used"),
)
"""(category, message regex) of library warnings that a fit hides; anything else still shows."""


@contextmanager
def quiet_fit() -> Iterator[None]:
    """Hide Lightning's banners and the known library warnings above during one fit; restore after."""
    banner_logs = [logging.getLogger(module.__name__) for module in (rank_zero, fabric_rank_zero)]
    levels = [log.level for log in banner_logs]
    for log in banner_logs:
        log.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for category, message in LIBRARY_NOISE:
                warnings.filterwarnings("ignore", message=message, category=category)
            yield
    finally:
        for log, level in zip(banner_logs, levels):
            log.setLevel(level)


class StepProgressBar(TQDMProgressBar):
    """One bar over the run's optimisation steps with time left (a run is one pass, so no epoch number)."""

    BAR_FORMAT = "{desc} {n_fmt}/{total_fmt} steps |{bar}| {elapsed} elapsed, {remaining} left{postfix}"

    @property
    def train_description(self) -> str:
        return "training"

    def on_train_epoch_start(self, trainer: Any, *_: Any) -> None:
        total = self.total_train_batches
        if not math.isfinite(total):
            total = None
        if trainer.max_steps and trainer.max_steps > 0:  # the fit stops at max_steps
            total = min(total or trainer.max_steps, trainer.max_steps)
        self.train_progress_bar.reset(total=total)
