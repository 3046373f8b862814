"""Everything a run leaves in its output dir, each file written atomically (temp file + rename), and
`status.json`, which states the run's outcome: running, done, pruned, failed, rejected or interrupted.

The status is written when training starts and rewritten when the run ends, with the reason and the
time, so an unfinished dir says why it is unfinished. `metrics.json` is written last: its presence
alone means "done".
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import signal
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TypeVar

import torch

from excolor.core.model import ColorMLP, ModelConfig
from excolor.errors import NOTHING_RUN, ConfigError

METRICS_FILE = "metrics.json"
SEED_METRICS_FILE = "seed_metrics.json"
NAMED_COLORS_FILE = "named_colors.csv"
WEIGHTS_FILE = "model.pt"
HISTORY_FILE = "history.csv"


def atomic_write(path: Path, write: Callable[[io.BufferedWriter], None]) -> Path:
    """Write via a temp file in the same dir, then rename: readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600: give the mode a plain open() would
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process umask (reading it means setting it: set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def writable_dir_problem(path: str, key: str) -> str | None:
    """Why outputs cannot be written under `path` (its nearest existing ancestor is probed), or None."""
    target = Path(path).expanduser().absolute()
    existing = next((p for p in (target, *target.parents) if p.exists()), None)
    if existing is None:
        return None
    if not existing.is_dir():
        return f"{key}={path}: {existing} is a file, not a directory; choose a directory for the run's outputs"
    try:  # os.access says yes to root even on a read-only mount: try it
        os.rmdir(tempfile.mkdtemp(prefix=".excolor-probe-", dir=existing))
    except OSError as error:
        return (f"{key}={path}: cannot create the run's output directory in {existing} ({error.strerror}); "
                f"run from a writable directory or set {key} to a writable path")
    return None


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda stream: stream.write(text.encode()))


def write_json(path: Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    """A CSV whose header is every key of any row, in first-seen order (a term that switches on later in
    training appears in later rows only; earlier rows leave its cell empty)."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(dict.fromkeys(k for row in rows for k in row)))
        writer.writeheader()
        writer.writerows(rows)
    return write_text(path, buffer.getvalue())


def save_model(path: Path, model: ColorMLP) -> Path:
    """The trained weights plus the model shape needed to rebuild them."""
    payload = {"config": vars(model.config), "state_dict": model.state_dict()}
    return atomic_write(path, lambda stream: torch.save(payload, stream))


def load_model(path: Path) -> ColorMLP:
    payload = torch.load(path, map_location="cpu", weights_only=True)
    model = ColorMLP(ModelConfig(**payload["config"]), [0])
    model.load_state_dict(payload["state_dict"])
    return model.eval()


STATUS_FILE = "status.json"
STATES = ("running", "done", "pruned", "failed", "rejected", "interrupted")
_running: list[Path] = []
"""Run dirs this process has marked running and not yet closed (for the Ctrl-C message)."""

T = TypeVar("T")


def mark_status(output_dir: Path, state: str, reason: str | None = None) -> None:
    """Write `status.json` in `output_dir`; never raises (a status file must not cost a run)."""
    assert state in STATES, state
    record = {"state": state, "reason": reason, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "pid": os.getpid()}
    try:
        write_json(Path(output_dir) / STATUS_FILE, record)
    except OSError:
        pass
    if state == "running":
        if Path(output_dir) not in _running:  # marked at submission and again when its results arrive
            _running.append(Path(output_dir))
    elif Path(output_dir) in _running:
        _running.remove(Path(output_dir))


def read_status(output_dir: Path) -> dict[str, Any] | None:
    """The run dir's status record, or None when it has none (or it is unreadable)."""
    try:
        return json.loads((Path(output_dir) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return None


@contextmanager
def status_recorded(output_dirs: Sequence[Path]) -> Iterator[None]:
    """Mark the dirs running; on the way out by Ctrl-C or an exception, interrupted or failed."""
    for output_dir in output_dirs:
        mark_status(output_dir, "running")
    try:
        yield
    except KeyboardInterrupt:
        mark_interrupted(output_dirs)
        raise
    except BaseException as error:
        for output_dir in output_dirs:
            mark_status(output_dir, "failed", f"{type(error).__name__}: {error}")
        raise


def mark_interrupted(output_dirs: Sequence[Path]) -> None:
    """Ctrl-C (or SIGTERM) stopped these dirs' training; they stay named in the Ctrl-C message."""
    for output_dir in output_dirs:
        mark_status(output_dir, "interrupted", "stopped by Ctrl-C or SIGTERM before it finished")
    _running.extend(Path(d) for d in output_dirs)


def mark_outcomes(output_dirs: Sequence[Path], outcomes: Sequence[Any]) -> None:
    """After outputs are written: done, or failed with the trial's reason (an outcome's `reason()`)."""
    for output_dir, outcome in zip(output_dirs, outcomes):
        reason = outcome.reason() if hasattr(outcome, "reason") else None
        if isinstance(outcome, BaseException) or reason:
            mark_status(output_dir, "failed", str(outcome) if isinstance(outcome, BaseException) else reason)
        elif getattr(outcome, "pruned", None):
            mark_status(output_dir, "pruned", outcome.pruned)
        else:
            mark_status(output_dir, "done")


def marks_rejection(prepare: Callable[[Any], T]) -> Callable[[Any], T]:
    """Decorate a Hydra task's preparation: a config it rejects marks the job's dir `rejected`."""
    from hydra.core.hydra_config import HydraConfig

    @functools.wraps(prepare)
    def wrapper(cfg: Any) -> T:
        try:
            return prepare(cfg)
        except ConfigError as error:
            mark_status(Path(HydraConfig.get().runtime.output_dir), "rejected", str(error))
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
