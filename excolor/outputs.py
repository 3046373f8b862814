"""Everything a run leaves in its output dir, each file written atomically (temp file + rename)."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import torch

from excolor.model import ColorMLP, ModelConfig

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


def write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda stream: stream.write(text.encode()))


def write_json(path: Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    """A CSV with the first row's keys as header."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
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
