"""A Hydra callback that refuses an output directory that cannot be written, whatever set it (the command
line, a preset, the local config), before Hydra creates it: one paragraph, exit 2."""

from __future__ import annotations

import sys
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from excolor.errors import BAD_INPUT_EXIT
from excolor.run.outputs import writable_dir_problem


def refuse(problem: str) -> None:
    print(f"excolor: configuration error: {problem}", file=sys.stderr)
    raise SystemExit(BAD_INPUT_EXIT)


class OutputDirs(Callback):
    """Registered in conf/config.yaml (hydra.callbacks): checks hydra.run.dir or hydra.sweep.dir."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        if problem := writable_dir_problem(str(config.hydra.run.dir), "hydra.run.dir"):
            refuse(problem)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if problem := writable_dir_problem(str(config.hydra.sweep.dir), "hydra.sweep.dir"):
            refuse(problem)
