"""Experiment tracking: the Lightning logger of a run (csv, wandb or none) and W&B extras.

W&B runs offline unless WANDB_MODE says otherwise; `wandb sync` uploads later. In a sweep, every
trial is one W&B run `<study>-<number>` (its id too) in a group named after the study, job type
`trial`, tagged with study, sweep preset and experiment. Its config is the resolved config as
composed, plus the sampled values as flat `sampled/<key>` entries; its summary holds the metrics,
per-seed values and spreads, the trial's state and fail reason, and a failed trial finishes as a
failed run (exit code 1). The study-level run is excolor/study/wandb_run.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from hydra.types import RunMode
from optuna.trial import TrialState

from excolor.run.build import build
from excolor.run.outcome import SPREAD_PREFIX, Attr, TrialOutcome, seed_spread

log = logging.getLogger(__name__)
LOGGER_TARGETS = ["lightning.pytorch.loggers.*"]
"""The classes a `logger/` config may name."""
SAMPLED_PREFIX = "sampled/"
"""W&B config key of a sampled value: `sampled/<config key>` (the Optuna parameter name)."""
TRIAL_JOB_TYPE = "trial"
TERMINAL_SETTINGS = ("silent", "quiet", "show_info", "show_warnings", "show_errors")
"""W&B settings that decide what it prints: applied process-wide before a run starts (wandb.setup)."""
REPLAY_NOTE = ("Trained in a batched (stacked) fit; its curves were sent after the fit, so _runtime and "
               "_timestamp are send times, not training times: plot against trainer/global_step.")


def is_wandb(target: str) -> bool:
    """`target`: a logger's class name or its `_target_` path."""
    return target.endswith("WandbLogger")


def trial_run_name(study: str, number: int) -> str:
    """A trial's W&B run name and id: unique across workers and resumes (numbers are never reused)."""
    return f"{study}-{number}"


@dataclass(frozen=True)
class SweepTrial:
    """Who a sweep trial is: its study, Optuna number, sampled config keys, sweep preset and experiment."""

    study: str
    number: int
    sampled: tuple[str, ...]
    sweep: str
    experiment: str

    @property
    def run_name(self) -> str:
        return trial_run_name(self.study, self.number)

    def tags(self) -> list[str]:
        return [f"study:{self.study}", f"sweep:{self.sweep}", f"experiment:{self.experiment}"]


def sweep_identity(hydra_cfg: Any, config: Any) -> SweepTrial | None:
    """For a trial of an excolor sweep (the sweeper sets trial.study/number/sampled): who it is."""
    if hydra_cfg.mode != RunMode.MULTIRUN or config.trial.number is None:
        return None
    return SweepTrial(str(config.trial.study), int(config.trial.number), tuple(config.trial.sampled),
                      str(config.sweep.name), str(config.name))


def _lookup(resolved: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted config key (an override key may carry Hydra's +/~ prefix)."""
    node: Any = resolved
    for part in key.lstrip("+~").split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node


def sampled_values(resolved: Mapping[str, Any], trial: SweepTrial) -> dict[str, Any]:
    """`sampled/<key>`: each sampled value as the run used it (typed by the config, not re-parsed)."""
    values = {}
    for key in trial.sampled:
        try:
            values[SAMPLED_PREFIX + key] = _lookup(resolved, key)
        except KeyError:
            log.warning(f"sampled key {key!r} is not in the resolved config; not added to the W&B config")
    return values


def quiet_wandb(settings: Mapping[str, Any] | None) -> None:
    """Apply the logger's terminal settings process-wide: W&B prints some lines before a run's own
    settings take effect (e.g. Lightning's `anonymous` argument warns during wandb.init)."""
    import wandb

    terminal = {k: v for k, v in (settings or {}).items() if k in TERMINAL_SETTINGS}
    if terminal:
        wandb.setup(settings=wandb.Settings(**terminal))


def build_logger(resolved: dict[str, Any], trial: SweepTrial | None = None) -> Any:
    """Instantiate the run's `logger` (None for logger=none) and record the resolved config."""
    spec = resolved.get("logger")
    if spec is None:
        return None
    spec = dict(spec)
    config = dict(resolved)
    if trial:
        config.update(sampled_values(resolved, trial))  # flat keys: W&B's panels compare them directly
    try:
        if is_wandb(str(spec.get("_target_", ""))):
            quiet_wandb(spec.get("settings"))  # `settings` itself goes to wandb.init as a dict, as it accepts
            if trial:
                spec.update(group=trial.study, job_type=TRIAL_JOB_TYPE, name=trial.run_name, id=trial.run_name,
                            tags=[*(spec.get("tags") or []), *trial.tags()])
                config["logger"] = dict(spec)  # the run's config says what the run is (not the preset's null group)
        logger = build(spec, LOGGER_TARGETS)
        logger.log_hyperparams(config)  # W&B starts its run here
    except Exception as error:  # tracking must never cost a run: warn, keep the local outputs
        log.warning(f"logger {spec.get('_target_')} unavailable ({type(error).__name__}: {error}); "
                    "continuing without it, local outputs are kept")
        return None
    if is_wandb(type(logger).__name__) and spec.get("save_dir"):
        _check_wandb_dir(Path(str(spec["save_dir"])), Path(logger.experiment.dir))
    return logger


def _check_wandb_dir(wanted: Path, files: Path) -> None:
    """W&B falls back to a temp dir when it cannot write where it was told; with W&B silent, say so here."""
    if not files.resolve().is_relative_to(wanted.resolve()):
        log.warning(f"W&B could not write under {wanted}; this run's W&B files are in {files.parent}")


def replay_history(logger: Any, history: list[dict[str, float]]) -> None:
    """Send a trial's recorded training curves to its logger after a stacked (batched) fit, each row at
    its training step (trainer/global_step in W&B); the W&B run says so in its notes."""
    if logger is None:
        return
    for row in history:
        step = int(row["step"])
        logger.log_metrics({f"train/{k}": v for k, v in row.items() if k != "step"}, step=step)
    if is_wandb(type(logger).__name__) and history:
        logger.experiment.notes = REPLAY_NOTE
        logger.experiment.summary["history_replayed"] = True


def trial_summary(outcome: TrialOutcome | None, reason: str | None = None) -> dict[str, Any]:
    """A trial's record for its W&B summary: state, fail reason, seeds, per-seed values and spreads."""
    failed = reason is not None or (outcome is not None and outcome.failed)
    reason = reason or (outcome.reason() if outcome is not None else None)
    pruned = None if failed or outcome is None else outcome.pruned
    state = TrialState.FAIL if failed else TrialState.PRUNED if pruned else TrialState.COMPLETE
    summary: dict[str, Any] = {"trial_state": state.name}
    if reason:
        summary[Attr.REASON] = reason
    if pruned:
        summary[Attr.PRUNED_REASON] = pruned
    if outcome is None:
        return summary
    summary[Attr.SEEDS] = outcome.seeds
    summary["wall_s"] = outcome.wall_s
    for metric, values in outcome.seed_values.items():
        summary[f"{Attr.SEED_PREFIX}{metric}"] = values
        spread = seed_spread(values)
        if spread is not None:
            summary[f"{SPREAD_PREFIX}{metric}"] = spread
    if any(outcome.seed_failures):
        summary[Attr.SEED_FAILURES] = outcome.seed_failures
    return summary


def finish_logger(logger: Any, result: Any, output_dir: Path, outcome: TrialOutcome | None = None,
                  reason: str | None = None) -> None:
    """Summary, named-colour table and plots to W&B; then close the run, failed when the trial failed
    (`outcome` says so, or `reason` is given: the fit raised). Never raises."""
    if logger is None:
        return
    try:
        _finish(logger, result, output_dir, trial_summary(outcome, reason))
    except Exception as error:
        log.warning(f"could not finish logger {type(logger).__name__} ({type(error).__name__}: {error}); "
                    "local outputs are kept")


def _finish(logger: Any, result: Any, output_dir: Path, summary: dict[str, Any]) -> None:
    failed = summary["trial_state"] == TrialState.FAIL.name
    if not is_wandb(type(logger).__name__):
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
    run.summary.update(summary)
    run.finish(exit_code=1 if failed else 0)  # W&B shows a non-zero exit as a failed run
