"""`excolor-train`: the Hydra entrypoint. Reads top to bottom like one experiment.

    compose + schema check -> prepare (check_config) -> run_prepared (fit, ablate, evaluate)
    -> outputs + logger -> outcome (objectives for a sweeper)

The run code lives in excolor/run/runner.py, shared with the batched launcher and the validator; this
module is only the command line and Hydra's main. Nothing imports it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from excolor.cli.arguments import command_line_problem, group_override_problem, with_multirun
from excolor.errors import BAD_INPUT_EXIT, INTERRUPTED_EXIT, ConfigError
from excolor.run import outputs
from excolor.run.config import CONF_DIR, register_schema
from excolor.run.outcome import TrialOutcome
from excolor.run.runner import prepare_trial, run_prepared

register_schema()


def run(cfg: DictConfig) -> TrialOutcome:
    """One trial (all its seeds) in this process."""
    [outcome] = run_prepared([prepare_trial(cfg)], live=True)
    return outcome


@hydra.main(config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> Any:
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        outcome = run(cfg)
    except ConfigError as error:
        if multirun:  # the sweeper records the trial as FAILED with this reason
            raise
        print(f"excolor: configuration error: {error}", file=sys.stderr)
        sys.exit(BAD_INPUT_EXIT)
    if outcome.failed and not multirun:
        print(f"excolor: trial failed: {outcome.reason()}", file=sys.stderr)
        sys.exit(1)
    return outcome


def cli() -> Any:
    """Console entry point: a pre-flight check of group options, then Hydra."""
    for flag in ("--config-path", "-cp"):  # Hydra reads a relative path as a package path: anchor it here
        if flag in sys.argv[:-1]:
            at = sys.argv.index(flag) + 1
            sys.argv[at] = str(Path(sys.argv[at]).resolve())
    sys.argv[1:] = with_multirun(sys.argv[1:])
    problem = group_override_problem(sys.argv[1:]) or command_line_problem(sys.argv[1:])
    if problem:
        print(f"excolor: configuration error: {problem}", file=sys.stderr)
        sys.exit(BAD_INPUT_EXIT)
    outputs.interrupt_on_sigterm()
    try:
        return main()
    except KeyboardInterrupt:
        print(outputs.interrupted_message(), file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT)


if __name__ == "__main__":
    cli()
