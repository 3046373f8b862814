"""`excolor-train`: the Hydra entrypoint. Reads top to bottom like one experiment.

    compose + schema check -> prepare (check_config) -> run_trials (fit, ablate, evaluate)
    -> outputs + logger -> objectives

The same two steps serve the batched launcher (excolor/launcher.py), which prepares a whole batch of
sweep trials and trains them as one stacked model.
"""

from __future__ import annotations

import logging
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from excolor import console, outputs, plots, status
from excolor.config import CONF_DIR, ConfigError, ExcolorConfig, check_config, group_options, register_schema
from excolor.experiment import TrialResult, build_regularizers, build_schedule, run_trials
from excolor.schedule import Dopesheet
from excolor.surgery import apply_ablation
from excolor.tracking import build_logger, finish_logger, replay_history, sweep_identity
from excolor.validation import command_line_problem

register_schema()
Objectives = float | tuple[float, ...]


class TrialFailed(RuntimeError):
    """Every seed of the trial failed (e.g. its loss went non-finite); the message says why."""


@dataclass
class PreparedTrial:
    """A checked config, its fully resolved form (for loggers) and where its outputs go."""

    config: ExcolorConfig
    sheet: Dopesheet
    resolved: dict[str, Any]
    output_dir: Path
    sweep_trial: dict[str, Any] | None = None


@status.marks_rejection
def prepare_trial(cfg: DictConfig) -> PreparedTrial:
    """Everything that can fail on bad input, before any training (runs inside Hydra's job context)."""
    config = check_config(cfg)
    sheet = build_schedule(config)
    build_regularizers(config)  # its errors too belong before training
    resolved = OmegaConf.to_container(cfg, resolve=True)
    hydra_cfg = HydraConfig.get()
    return PreparedTrial(config, sheet, resolved, Path(hydra_cfg.runtime.output_dir), sweep_identity(hydra_cfg))


def write_outputs(result: TrialResult, output_dir: Path) -> None:
    """metrics.json, per-seed metrics, named colours, history, weights and plots of one trial."""
    outputs.write_json(output_dir / outputs.SEED_METRICS_FILE, [
        {"seed": s.seed, "failure": s.failure, **(s.report.metrics if s.report else {})} for s in result.seeds])
    outputs.write_rows(output_dir / outputs.HISTORY_FILE, result.history)
    first = result.first_report
    if first is not None:
        outputs.write_rows(output_dir / outputs.NAMED_COLORS_FILE, first.named_colors)
    if result.model is not None and result.config.outputs.weights:
        outputs.save_model(output_dir / outputs.WEIGHTS_FILE, result.model)
    if result.model is not None and result.config.outputs.plots and first is not None:
        ablated = apply_ablation(result.model, result.config.ablation)
        plots.plot_color_slices(result.model.reconstruct, ablated.reconstruct, output_dir / "colors.png")
        plots.plot_error_vs_hue(result.model.reconstruct, ablated.reconstruct, output_dir / "error_vs_hue.png")
        plots.plot_latents(result.model.encode, output_dir / "latents.png")
        plots.plot_latents(ablated.encode, output_dir / "latents_ablated.png")
    outputs.write_json(output_dir / outputs.METRICS_FILE, result.metrics)  # last: its presence means "done"


def report(result: TrialResult, output_dir: Path) -> None:
    """The end of a run on the terminal: named colours (first seed) and key metrics."""
    first = result.first_report
    if first is not None:
        seed = next(s.seed for s in result.seeds if s.report is first)
        print(f"\nNamed colours, seed {seed} (MSE before / after ablation):")
        print(console.named_color_table(first.named_colors))
    scored = sum(s.report is not None for s in result.seeds)
    rule = result.config.trial.aggregate.value
    print(f"\nKey metrics ({f'{rule} over {scored} scored seeds' if len(result.seeds) > 1 else f'seed {result.seeds[0].seed}'}):")
    print(console.metrics_table(result.metrics))
    print(f"\nwall time {result.wall_s:.1f} s; outputs: {output_dir}")


def _quiet_libraries() -> None:
    """Trials in a sweep print one line each (from the sweeper), not Lightning's banners."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="lightning")


def _objectives(result: TrialResult) -> Objectives:
    """The sweep's objectives; a trial with no usable seed, or a failed seed under
    trial.require_no_failed_seeds, is a failure (the sweeper records it as FAILED with this reason)."""
    if result.failure:
        raise TrialFailed(result.failure)
    if result.config.trial.require_no_failed_seeds and result.failed_seeds:
        raise TrialFailed(f"{result.failed_seeds} of {len(result.seeds)} seeds failed "
                          f"(collateral_mse or recon_mse > {result.config.trial.fail_threshold}) "
                          "and trial.require_no_failed_seeds=true")
    return result.objectives[0] if len(result.objectives) == 1 else tuple(result.objectives)


def run_prepared(trials: list[PreparedTrial], live: bool = False) -> list[Objectives | BaseException]:
    """Train the trials as one stacked model; write each one's outputs and logs; return objectives.
    Each run dir's status.json says running, then done / failed / interrupted."""
    dirs = [t.output_dir for t in trials]
    with status.recorded(dirs):
        returns = _run_prepared(trials, live)
    status.mark_outcomes(dirs, returns)
    return returns


def _run_prepared(trials: list[PreparedTrial], live: bool = False) -> list[Objectives | BaseException]:
    """run_prepared without the status file.

    `live`: a single trial whose Lightning logger records during training (and shows a progress bar
    on a terminal); otherwise each trial's logger receives its recorded history afterwards.
    """
    if any(t.config.outputs.quiet for t in trials):
        _quiet_libraries()
    live_logger = build_logger(trials[0].resolved, trials[0].sweep_trial) if live else None
    progress = live and sys.stderr.isatty() and not trials[0].config.outputs.quiet
    try:
        results = run_trials([t.config for t in trials], logger=live_logger, progress=progress,
                             sheets=[t.sheet for t in trials])
    except BaseException:
        finish_logger(live_logger, None, trials[0].output_dir, failed=True)
        raise
    returns: list[Objectives | BaseException] = []
    for trial, result in zip(trials, results):
        write_outputs(result, trial.output_dir)
        logger = live_logger if live else build_logger(trial.resolved, trial.sweep_trial)
        if logger is not None and not live:
            replay_history(logger, result.history)
        finish_logger(logger, result, trial.output_dir, failed=result.failure is not None)
        if not trial.config.outputs.quiet:
            report(result, trial.output_dir)
        try:
            returns.append(_objectives(result))
        except TrialFailed as error:
            returns.append(error)
    return returns


def run(cfg: DictConfig) -> Objectives:
    """One trial (all its seeds) in this process."""
    [outcome] = run_prepared([prepare_trial(cfg)], live=True)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def unknown_group_options(argv: list[str]) -> str | None:
    """Hydra names a missing option of a list-valued group (regularizers=[a,b]) without the choices:
    catch that first and list them."""
    for arg in argv:
        group, sep, value = arg.lstrip("+~").partition("=")
        if not sep or group.startswith("hydra/") or not (CONF_DIR / group).is_dir() or "(" in value:
            continue  # not one of our groups (Hydra's own plugins list theirs), or sweep syntax
        available = group_options(group)
        chosen = [v.strip() for v in value.strip("[]").split(",") if v.strip() and v.strip() != "null"]
        missing = [v for v in chosen if v not in available]
        if missing:
            return f"{group}={value}: no {group} option {', '.join(map(repr, missing))}; available: {', '.join(available)}"
    return None


@hydra.main(config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> Any:
    try:
        return run(cfg)
    except (ConfigError, TrialFailed) as error:
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise
        kind = "configuration error" if isinstance(error, ConfigError) else "trial failed"
        print(f"excolor: {kind}: {error}", file=sys.stderr)
        sys.exit(2 if isinstance(error, ConfigError) else 1)


def cli() -> Any:
    """Console entry point: a pre-flight check of group options, then Hydra."""
    for flag in ("--config-path", "-cp"):  # Hydra reads a relative path as a package path: anchor it here
        if flag in sys.argv[:-1]:
            at = sys.argv.index(flag) + 1
            sys.argv[at] = str(Path(sys.argv[at]).resolve())
    problem = unknown_group_options(sys.argv[1:]) or command_line_problem(sys.argv[1:])
    if problem:
        print(f"excolor: configuration error: {problem}", file=sys.stderr)
        sys.exit(2)
    status.interrupt_on_sigterm()
    try:
        return main()
    except KeyboardInterrupt:
        print(status.interrupted_message(), file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    cli()
