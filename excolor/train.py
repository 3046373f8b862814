"""`excolor-train`: the Hydra entrypoint. Reads top to bottom like one experiment.

    compose + schema check -> prepare (check_config) -> run_prepared (fit, ablate, evaluate)
    -> outputs + logger -> outcome (objectives for a sweeper)

The run code lives in excolor/runner.py, shared with the batched launcher and the validator; this
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

from excolor.config import CONF_DIR, ConfigError, group_options, register_schema
from excolor import status
from excolor.commands import BAD_INPUT_EXIT, INTERRUPTED_EXIT
from excolor.outcome import TrialOutcome
from excolor.runner import prepare_trial, run_prepared
from excolor.validation import command_line_problem, split_override

register_schema()


def run(cfg: DictConfig) -> TrialOutcome:
    """One trial (all its seeds) in this process."""
    [outcome] = run_prepared([prepare_trial(cfg)], live=True)
    return outcome


def group_override_problem(argv: list[str]) -> str | None:
    """Hydra names a missing option of a list-valued group (regularizers=[a,b]) without the choices, and
    answers `+experiment=X` with a conflict: catch both first and say what to write."""
    for arg in argv:
        group, value = split_override(arg)
        if value is None or group.startswith("hydra/") or not (CONF_DIR / group).is_dir() or "(" in value:
            continue  # not one of our groups (Hydra's own plugins list theirs), or sweep syntax
        if arg.startswith("+") and not arg.startswith("++"):
            return (f"{arg}: `{group}` is already in the config's defaults list (excolor/conf/config.yaml), "
                    f"so it is chosen without the +: write {group}={value}")
        available = group_options(group)
        chosen = [v.strip() for v in value.strip("[]").split(",") if v.strip() and v.strip() != "null"]
        missing = [v for v in chosen if v not in available]
        if missing:
            return f"{group}={value}: no {group} option {', '.join(map(repr, missing))}; available: {', '.join(available)}"
    return None


NOT_A_RUN = ("-m", "--multirun", "-c", "--cfg", "-i", "--info", "-h", "--help", "--hydra-help", "-sc",
             "--shell-completion")
"""Hydra flags that already choose what to do (sweep, print, help) instead of running once."""


def with_multirun(argv: list[str]) -> list[str]:
    """A sweep preset (sweep=NAME) runs its sweep with or without -m: Hydra picks run or multirun before
    composing, so a config group cannot choose it (`hydra.mode` there is refused); the command line can."""
    sweep = any(split_override(arg)[0] == "sweep" and split_override(arg)[1] not in (None, "", "null")
                for arg in argv)
    chosen = any(arg.split("=", 1)[0] in NOT_A_RUN for arg in argv)
    return ["-m", *argv] if sweep and not chosen else argv


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
    status.interrupt_on_sigterm()
    try:
        return main()
    except KeyboardInterrupt:
        print(status.interrupted_message(), file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT)


if __name__ == "__main__":
    cli()
