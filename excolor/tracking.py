"""Experiment tracking: the Lightning logger of a run (csv, wandb or none) and W&B extras.

W&B runs offline unless WANDB_MODE says otherwise; `wandb sync` uploads later. In a sweep, every
trial is one W&B run in a group named after the study, job type `trial`, with its sampled
parameters as top-level config keys and its metrics in the summary.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.types import RunMode

from excolor.targets import build
from excolor.validation import split_override

log = logging.getLogger(__name__)
LOGGER_TARGETS = ["lightning.pytorch.loggers.*"]
"""The classes a `logger/` config may name."""


def _is_wandb(target: str) -> bool:
    """`target`: a logger's class name or its `_target_` path."""
    return target.endswith("WandbLogger")


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


IDENTITY_KEYS = ("trial.study", "trial.number")
"""Overrides the excolor sweeper adds to name a trial; not sampled values."""


def sweep_identity(hydra_cfg: Any, config: Any) -> dict[str, Any] | None:
    """For a trial of an excolor sweep: its study (W&B group), Optuna trial number and sampled values."""
    if hydra_cfg.mode != RunMode.MULTIRUN or config.trial.number is None:
        return None
    overrides = [split_override(o) for o in hydra_cfg.overrides.task]
    return {"study": str(config.trial.study), "number": int(config.trial.number),
            "params": {key: _number(value) for key, value in overrides
                       if value is not None and key not in IDENTITY_KEYS}}


def build_logger(resolved: dict[str, Any], trial: dict[str, Any] | None = None) -> Any:
    """Instantiate the run's `logger` (None for logger=none) and record the full resolved config."""
    spec = resolved.get("logger")
    if spec is None:
        return None
    spec = dict(spec)
    if _is_wandb(str(spec.get("_target_", ""))) and trial:
        run_name = f"{trial['study']}-{trial['number']}"  # unique across workers and resumes
        spec.update(group=trial["study"], job_type="trial", name=run_name, id=run_name)
    config = dict(resolved)
    if trial:
        config.update(trial["params"])  # sampled values as top-level keys: W&B's panels compare them
    try:
        logger = build(spec, LOGGER_TARGETS)
        logger.log_hyperparams(config)  # W&B starts its run here
    except Exception as error:  # tracking must never cost a run: warn, keep the local outputs
        log.warning(f"logger {spec.get('_target_')} unavailable ({type(error).__name__}: {error}); "
                    "continuing without it, local outputs are kept")
        return None
    return logger


def replay_history(logger: Any, history: list[dict[str, float]]) -> None:
    """Send a trial's recorded training curves to its logger after a stacked (batched) fit."""
    if logger is None:
        return
    for row in history:
        step = int(row["step"])
        logger.log_metrics({f"train/{k}": v for k, v in row.items() if k != "step"}, step=step)


def finish_logger(logger: Any, result: Any, output_dir: Path, failed: bool = False) -> None:
    """Summary metrics, named-colour table and plots to W&B; then close the run. Never raises."""
    if logger is None:
        return
    try:
        _finish(logger, result, output_dir, failed)
    except Exception as error:
        log.warning(f"could not finish logger {type(logger).__name__} ({type(error).__name__}: {error}); "
                    "local outputs are kept")


def _finish(logger: Any, result: Any, output_dir: Path, failed: bool) -> None:
    if not _is_wandb(type(logger).__name__):
        logger.finalize("failed" if failed else "success")
        return
    import wandb

    run = logger.experiment
    if result is not None:
        run.summary.update(result.metrics)
        first = result.first_report
        if first is not None:
            columns = list(first.named_colors[0])
            run.log({"named_colors": wandb.Table(columns=columns, data=[list(r.values()) for r in first.named_colors])})
        images = {path.stem: wandb.Image(str(path)) for path in sorted(output_dir.glob("*.png"))}
        if images:
            run.log(images)
    run.finish(exit_code=1 if failed else 0)
