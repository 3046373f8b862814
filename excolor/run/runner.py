"""Run code shared by the entrypoint, the batched launcher and the validator.

    prepare_trial (checks, before training) -> run_prepared (one stacked fit) -> outputs + logger
    -> TrialOutcome (objectives, metrics, per-seed values, failure reason), returned as a value

Nothing here knows about the command line; `excolor/cli/train.py` is only Hydra's main around it.
"""

from __future__ import annotations

import logging
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from excolor.core.metric_names import CONSOLE_METRICS, FAILED_SEEDS, N_SEEDS, SEED_METRICS, for_concept
from excolor.core.regularizers import Regularizer
from excolor.core.schedule import Dopesheet
from excolor.run import outputs, plots
from excolor.run.checks import check_config
from excolor.run.config import ExcolorConfig, concept_of
from excolor.run.outcome import TrialOutcome
from excolor.run.tracking import SweepTrial, build_logger, finish_logger, replay_history, sweep_identity
from excolor.run.trials import TrialResult, build_regularizers, build_schedule, group_by_stack, run_trials

log = logging.getLogger(__name__)


@dataclass
class PreparedTrial:
    """A checked config, its fully resolved form (for loggers) and where its outputs go."""

    config: ExcolorConfig
    sheet: Dopesheet
    regularizers: dict[str, Regularizer]
    resolved: dict[str, Any]
    output_dir: Path
    sweep_trial: SweepTrial | None = None


def prepare(cfg: DictConfig, output_dir: Path, sweep_trial: SweepTrial | None = None) -> PreparedTrial:
    """Everything that can fail on bad input, before any training."""
    config = check_config(cfg)
    sheet = build_schedule(config)
    regularizers = build_regularizers(config)  # its errors too belong before training; built once
    # plain values for loggers: the config as checked, so it says what ran (the concept made explicit)
    resolved = OmegaConf.to_container(OmegaConf.structured(config), resolve=True, enum_to_str=True)
    return PreparedTrial(config, sheet, regularizers, resolved, output_dir, sweep_trial)


@outputs.marks_rejection
def prepare_trial(cfg: DictConfig) -> PreparedTrial:
    """`prepare` inside Hydra's job context: the run dir and sweep identity come from Hydra."""
    hydra_cfg = HydraConfig.get()
    return prepare(cfg, Path(hydra_cfg.runtime.output_dir), sweep_identity(hydra_cfg, cfg))


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
    if result.model is not None and result.ablated is not None and result.config.outputs.plots and first is not None:
        ablated = result.ablated
        plots.plot_color_slices(result.model.reconstruct, ablated.reconstruct, output_dir / "colors.png")
        plots.plot_error_vs_hue(result.model.reconstruct, ablated.reconstruct, output_dir / "error_vs_hue.png")
        plots.plot_latents(result.model.encode, output_dir / "latents.png")
        plots.plot_latents(ablated.encode, output_dir / "latents_ablated.png")
    outputs.write_json(output_dir / outputs.METRICS_FILE, result.metrics)  # last: its presence means "done"


def report(result: TrialResult, output_dir: Path) -> None:
    """The end of a run, through logging (terminal and train.log): named colours (first seed), key metrics."""
    first = result.first_report
    if first is not None:
        seed = next(s.seed for s in result.seeds if s.report is first)
        log.info(f"\nNamed colours, seed {seed} (MSE before / after ablation):\n"
                 + named_color_table(first.named_colors))
    scored = sum(s.report is not None for s in result.seeds)
    rule = result.config.trial.aggregate.value
    over = f"{rule} over {scored} scored seeds" if len(result.seeds) > 1 else f"seed {result.seeds[0].seed}"
    log.info(f"\nKey metrics ({over}):\n{metrics_table(result.metrics, result.config.concept.name)}")
    log.info(f"\nwall time {result.wall_s:.1f} s; outputs: {output_dir}")


def quiet_libraries() -> None:
    """Trials in a sweep print one line each (from the sweeper), not Lightning's banners."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="lightning")


def trial_failure(result: TrialResult) -> str | None:
    """Why the trial cannot be scored: no usable seed, or a failed seed under trial.require_no_failed_seeds."""
    if result.failure:
        return result.failure
    if result.config.trial.require_no_failed_seeds and result.failed_seeds:
        return (f"{result.failed_seeds} of {len(result.seeds)} seeds failed "
                f"(collateral_mse or recon_mse > {result.config.trial.fail_threshold}) "
                "and trial.require_no_failed_seeds=true")
    return None


def outcome_of(result: TrialResult, output_dir: Path) -> TrialOutcome:
    """The value a sweeper records: every metric the trial produced, failed or not, and its reason."""
    concept = concept_of(result.config)
    seed_values = {key: [s.report.metrics.get(key) if s.report else None for s in result.seeds]
                   for key in dict.fromkeys([*SEED_METRICS, *for_concept(SEED_METRICS, concept.name)])}
    return TrialOutcome(objectives=[float(v) for v in result.objectives], metrics=dict(result.metrics),
                        seeds=[s.seed for s in result.seeds], seed_values=seed_values,
                        seed_failures=[s.failure for s in result.seeds], output_dir=str(output_dir),
                        failure=trial_failure(result), wall_s=result.wall_s, pruned=result.pruned,
                        concept=concept.name, named_colours=concept.named_colours)


def train(trials: list[PreparedTrial], logger: Any = None, progress: bool = False) -> list[TrialResult]:
    """Fit and evaluate prepared trials as one stacked model, in this process (their checked configs,
    dopesheets and the first trial's regularizers: nothing is built twice)."""
    return run_trials([t.config for t in trials], logger=logger, progress=progress,
                      sheets=[t.sheet for t in trials], regularizers=trials[0].regularizers)


Trained = Callable[[], list[TrialResult]]
"""The trials' results when another process trained them (the batched launcher's workers)."""


def run_prepared(trials: list[PreparedTrial], live: bool = False, trained: Trained | None = None) -> list[TrialOutcome]:
    """Train the trials as one stacked model; write each one's outputs and logs; return their outcomes.
    Each run dir's status.json says running, then done / failed / interrupted."""
    dirs = [t.output_dir for t in trials]
    with outputs.status_recorded(dirs):
        outcomes = _run_prepared(trials, live, trained)
    outputs.mark_outcomes(dirs, outcomes)
    return outcomes


def _run_prepared(trials: list[PreparedTrial], live: bool = False, trained: Trained | None = None) -> list[TrialOutcome]:
    """run_prepared without the status file.

    `live`: a single trial whose Lightning logger records during training (and shows a progress bar
    on a terminal); otherwise each trial's logger receives its recorded history afterwards.
    `trained`: waits for results trained elsewhere instead of training here (never with `live`).
    """
    if any(t.config.outputs.quiet for t in trials):
        quiet_libraries()
    live_logger = build_logger(trials[0].resolved, trials[0].sweep_trial) if live else None
    # Lightning draws its bar on stdout: only a terminal gets one (a log file would fill with redraws)
    progress = live and sys.stdout.isatty() and not trials[0].config.outputs.quiet
    try:
        if trained is not None:
            results = trained()
        else:
            results = train(trials, logger=live_logger, progress=progress)
    except BaseException as error:
        finish_logger(live_logger, None, trials[0].output_dir, reason=f"{type(error).__name__}: {error}")
        raise
    outcomes = []
    for trial, result in zip(trials, results):
        write_outputs(result, trial.output_dir)
        outcome = outcome_of(result, trial.output_dir)
        logger = live_logger if live else build_logger(trial.resolved, trial.sweep_trial)
        if logger is not None and not live:
            replay_history(logger, result.history)
        finish_logger(logger, result, trial.output_dir, outcome)
        if not trial.config.outputs.quiet:
            report(result, trial.output_dir)
        outcomes.append(outcome)
    return outcomes


def run_groups(trials: list[PreparedTrial]) -> list[TrialOutcome | str]:
    """Train prepared trials in as few stacked fits as they allow (one per group of stackable trials, as
    the batched launcher does); an outcome per trial, in order, or why its group's fit failed."""
    outcomes: list[TrialOutcome | str] = [""] * len(trials)
    for members in group_by_stack(list(range(len(trials))), lambda i: trials[i]):
        try:
            results: list[TrialOutcome | str] = list(run_prepared([trials[i] for i in members]))
        except Exception as error:  # the stacked fit failed: every trial in it has no outcome
            results = [f"{type(error).__name__}: {error}"] * len(members)
        for i, result in zip(members, results):
            outcomes[i] = result
    return outcomes


def named_color_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'colour':<11} {'rgb':<17} {'mse before':>11} {'mse after':>11} {'rise':>10}"]
    for row in rows:
        rgb = f"({row['r']:.2f},{row['g']:.2f},{row['b']:.2f})"
        rise = row["mse_after"] - row["mse_before"]
        lines.append(f"{row['name']:<11} {rgb:<17} {row['mse_before']:>11.2e} {row['mse_after']:>11.2e} {rise:>10.2e}")
    return "\n".join(lines)


def metrics_table(metrics: dict[str, float], concept: str) -> str:
    """The key metrics (the concept's error under its own name), each with its range over seeds."""
    shown = [key for key in for_concept(CONSOLE_METRICS, concept) if key in metrics]
    lines = []
    for key in shown:
        spread = ""
        if f"{key}_min" in metrics:
            spread = f"   (range {metrics[f'{key}_min']:.3g} .. {metrics[f'{key}_max']:.3g})"
        lines.append(f"{key:<18} {metrics[key]:.4g}{spread}")
    if FAILED_SEEDS in metrics:
        lines.append(f"{FAILED_SEEDS:<18} {int(metrics[FAILED_SEEDS])} of {int(metrics[N_SEEDS])}")
    return "\n".join(lines)
