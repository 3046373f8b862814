"""A run dir states its outcome in `status.json`: running, done, pruned, failed, rejected or interrupted.

Written when training starts and rewritten when the run ends, with the reason and the time, so an
unfinished dir says why it is unfinished. `metrics.json` still means "done" on its own.
"""

from __future__ import annotations

import functools
import os
import signal
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

from excolor import outputs
from excolor.commands import NOTHING_RUN

STATUS_FILE = "status.json"
STATES = ("running", "done", "pruned", "failed", "rejected", "interrupted")
_running: list[Path] = []
"""Run dirs this process has marked running and not yet closed (for the Ctrl-C message)."""

T = TypeVar("T")


def mark(output_dir: Path, state: str, reason: str | None = None) -> None:
    """Write `status.json` in `output_dir`; never raises (a status file must not cost a run)."""
    assert state in STATES, state
    record = {"state": state, "reason": reason, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "pid": os.getpid()}
    try:
        outputs.write_json(Path(output_dir) / STATUS_FILE, record)
    except OSError:
        pass
    if state == "running":
        if Path(output_dir) not in _running:  # marked at submission and again when its results arrive
            _running.append(Path(output_dir))
    elif Path(output_dir) in _running:
        _running.remove(Path(output_dir))


def read(output_dir: Path) -> dict[str, Any] | None:
    """The run dir's status record, or None when it has none (or it is unreadable)."""
    import json

    try:
        return json.loads((Path(output_dir) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None


@contextmanager
def recorded(output_dirs: Sequence[Path]) -> Iterator[None]:
    """Mark the dirs running; on the way out by Ctrl-C or an exception, interrupted or failed."""
    for output_dir in output_dirs:
        mark(output_dir, "running")
    try:
        yield
    except KeyboardInterrupt:
        mark_interrupted(output_dirs)
        raise
    except BaseException as error:
        for output_dir in output_dirs:
            mark(output_dir, "failed", f"{type(error).__name__}: {error}")
        raise


def mark_interrupted(output_dirs: Sequence[Path]) -> None:
    """Ctrl-C (or SIGTERM) stopped these dirs' training; they stay named in the Ctrl-C message."""
    for output_dir in output_dirs:
        mark(output_dir, "interrupted", "stopped by Ctrl-C or SIGTERM before it finished")
    _running.extend(Path(d) for d in output_dirs)


def mark_outcomes(output_dirs: Sequence[Path], outcomes: Sequence[Any]) -> None:
    """After outputs are written: done, or failed with the trial's reason (an outcome's `reason()`)."""
    for output_dir, outcome in zip(output_dirs, outcomes):
        reason = outcome.reason() if hasattr(outcome, "reason") else None
        if isinstance(outcome, BaseException) or reason:
            mark(output_dir, "failed", str(outcome) if isinstance(outcome, BaseException) else reason)
        elif getattr(outcome, "pruned", None):
            mark(output_dir, "pruned", outcome.pruned)
        else:
            mark(output_dir, "done")


def marks_rejection(prepare: Callable[[Any], T]) -> Callable[[Any], T]:
    """Decorate a Hydra task's preparation: a config it rejects marks the job's dir `rejected`."""
    from hydra.core.hydra_config import HydraConfig

    from excolor.config import ConfigError

    @functools.wraps(prepare)
    def wrapper(cfg: Any) -> T:
        try:
            return prepare(cfg)
        except ConfigError as error:
            mark(Path(HydraConfig.get().runtime.output_dir), "rejected", str(error))
            raise
    return wrapper


def interrupted_message() -> str:
    """The one line Ctrl-C leaves on the terminal."""
    dirs = list(dict.fromkeys(_running))
    if not dirs:
        return NOTHING_RUN
    where = ", ".join(str(d) for d in dirs[:3]) + (f" and {len(dirs) - 3} more" if len(dirs) > 3 else "")
    return f"excolor: interrupted; the partial run is in {where} ({STATUS_FILE} says interrupted, no metrics.json)"


def interrupt_on_sigterm() -> None:
    """SIGTERM (e.g. `kill`, a scheduler's time limit) ends a run like Ctrl-C: marked interrupted."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt
    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        pass
