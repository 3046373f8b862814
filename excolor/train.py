"""`excolor-train`: the Hydra entrypoint. Reads top to bottom like one experiment.

    compose + schema check -> check_config -> run_trials (fit, ablate, evaluate) -> outputs -> objectives
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from excolor import console, outputs, plots
from excolor.config import CONF_DIR, ConfigError, ExcolorConfig, check_config, register_schema
from excolor.experiment import TrialResult, run_trials
from excolor.surgery import apply_ablation
from excolor.tracking import build_logger, finish_logger

log = logging.getLogger("excolor")
register_schema()


def write_outputs(result: TrialResult, output_dir: Path) -> None:
    """metrics.json, per-seed metrics, named colours, history, weights and plots of one trial."""
    outputs.write_json(output_dir / outputs.METRICS_FILE, result.metrics)
    outputs.write_json(output_dir / outputs.SEED_METRICS_FILE, [
        {"seed": s.seed, "failure": s.failure, **(s.report.metrics if s.report else {})} for s in result.seeds])
    outputs.write_rows(output_dir / outputs.HISTORY_FILE, result.history)
    first = result.seeds[0].report
    if first is not None:
        outputs.write_rows(output_dir / outputs.NAMED_COLORS_FILE, first.named_colors)
    if result.model is not None and result.config.outputs.weights:
        outputs.save_model(output_dir / outputs.WEIGHTS_FILE, result.model)
    if result.model is not None and result.config.outputs.plots:
        ablated = apply_ablation(result.model, result.config.ablation)
        plots.plot_color_slices(result.model.reconstruct, ablated.reconstruct, output_dir / "colors.png")
        plots.plot_error_vs_hue(result.model.reconstruct, ablated.reconstruct, output_dir / "error_vs_hue.png")
        plots.plot_latents(result.model.encode, output_dir / "latents.png")
        plots.plot_latents(ablated.encode, output_dir / "latents_ablated.png")


def report(result: TrialResult) -> None:
    """The end of a run on the terminal: named colours (first seed) and key metrics."""
    first = result.seeds[0].report
    if first is not None:
        print(f"\nNamed colours, seed {result.seeds[0].seed} (MSE before / after ablation):")
        print(console.named_color_table(first.named_colors))
    print(f"\nKey metrics ({'median over ' + str(len(result.seeds)) + ' seeds' if len(result.seeds) > 1 else 'seed ' + str(result.seeds[0].seed)}):")
    print(console.metrics_table(result.metrics))
    print(f"\nwall time {result.wall_s:.1f} s")


def run(cfg: DictConfig) -> float | tuple[float, ...]:
    """One trial: check, train every seed, evaluate, write outputs; return the objectives."""
    config: ExcolorConfig = check_config(cfg)
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    logger = build_logger(cfg, output_dir)
    try:
        progress = sys.stderr.isatty() and not config.outputs.quiet
        [result] = run_trials([config], logger=logger, progress=progress)
        write_outputs(result, output_dir)
        finish_logger(logger, result, output_dir)
    except BaseException:
        finish_logger(logger, None, output_dir, failed=True)
        raise
    if result.failure:
        raise RuntimeError(f"trial failed: {result.failure}")
    if not config.outputs.quiet:
        report(result)
        print(f"outputs: {output_dir}")
    return result.objectives[0] if len(result.objectives) == 1 else tuple(result.objectives)


@hydra.main(config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> Any:
    try:
        return run(cfg)
    except ConfigError as error:
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            raise
        print(f"excolor: configuration error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
