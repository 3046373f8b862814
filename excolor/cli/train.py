"""`excolor-train`: the Hydra entrypoint. Reads top to bottom like one experiment.

    compose + schema check -> prepare (check_config) -> run_prepared (fit, ablate, evaluate)
    -> outputs + logger -> outcome (objectives for a sweeper)

The run code lives in excolor/run/runner.py, shared with the batched launcher and the validator; this
module is only the command line and Hydra's main. Nothing imports it.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from excolor.errors import BAD_INPUT_EXIT, INTERRUPTED_EXIT, ConfigError
from excolor.run import outputs
from excolor.run.config import CONF_DIR, register_schema
from excolor.run.outcome import TrialOutcome
from excolor.run.overrides import COMPOSITION_ERRORS, hydra_message, overrides_problem, with_multirun
from excolor.run.runner import prepare_trial, run_prepared

register_schema()


def run(cfg: DictConfig) -> TrialOutcome:
    """One trial (all its seeds) in this process."""
    [outcome] = run_prepared([prepare_trial(cfg)], live=True)
    return outcome


TRUSTED_TARGETS = ("excolor.*", "hydra_plugins.*", "logging.*", "lightning.*", "optuna.*")
"""What the composed config may instantiate through Hydra (its callbacks, sweeper, launcher, logging):
excolor's own classes, Hydra's launcher plugins, the standard logging handlers, Lightning's loggers and
Optuna's samplers. A user's own classes come in through excolor's `plugins` allow-list instead."""


@hydra.main(config_path=str(CONF_DIR), config_name="config", execution_whitelist=TRUSTED_TARGETS)
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
    argv = sys.argv[1:]
    problem = overrides_problem(argv)
    if problem:
        print(f"excolor: configuration error: {problem}", file=sys.stderr)
        sys.exit(BAD_INPUT_EXIT)
    outputs.interrupt_on_sigterm()
    # A log handler that cannot write (a full disk under the run's train.log) must not print logging's own
    # tracebacks: the run or sweep reports the failure itself, once.
    logging.raiseExceptions = False
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")  # Hydra raises its errors (not print + exit 1): see below
    try:
        return main()
    except KeyboardInterrupt:
        print(outputs.interrupted_message(), file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT)
    except COMPOSITION_ERRORS as error:  # composition and override grammar: the user's
        print(f"excolor: configuration error: {hydra_message(error)}", file=sys.stderr)
        sys.exit(BAD_INPUT_EXIT)


if __name__ == "__main__":
    cli()
