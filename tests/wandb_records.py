"""Read an offline W&B run back from its `.wandb` file, record by record (test helper).

wandb 0.31 ships no public reader of its transaction log, so this decodes the documented framing (a
7-byte `:W&B` header, then LevelDB-log blocks of 32 KiB whose chunks carry a 7-byte header: crc32, length,
type) and parses each record with wandb's public protobuf messages (`wandb.proto.wandb_internal_pb2`).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wandb.proto import wandb_internal_pb2 as pb

BLOCK = 32 * 1024
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> list[pb.Record]:
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B transaction log"
    out, pending, pos = [], b"", HEADER
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # the rest of a block too short for a chunk header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        chunk = data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind == 0 and length == 0:
            break
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            record = pb.Record()
            record.ParseFromString(pending)
            out.append(record)
    return out


@dataclass
class OfflineRun:
    """What a W&B server would show for the run: identity, config, summary, history, exit code."""

    directory: Path
    run_id: str = ""
    name: str = ""
    group: str = ""
    job_type: str = ""
    tags: list[str] = field(default_factory=list)
    notes: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int | None = None


def _path(item: Any) -> list[str]:
    return list(item.nested_key) if item.nested_key else [item.key]


def _put(target: dict, item: Any) -> None:
    *parents, last = _path(item)
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = json.loads(item.value_json)


def read_run(directory: Path) -> OfflineRun:
    """An offline run directory (`offline-run-*`), decoded."""
    [log] = directory.glob("*.wandb")
    run = OfflineRun(directory)
    for record in records(log):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            r = record.run
            run.run_id, run.name, run.group, run.job_type = r.run_id, r.display_name, r.run_group, r.job_type
            run.tags, run.notes = list(r.tags), r.notes or run.notes
            for item in r.config.update:
                _put(run.config, item)
        elif kind == "config":
            for item in record.config.update:
                _put(run.config, item)
        elif kind == "summary":
            for item in record.summary.update:
                _put(run.summary, item)
        elif kind == "history":
            row: dict[str, Any] = {}
            for item in record.history.item:
                _put(row, item)
            run.history.append(row)
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
    return run


def table(run: OfflineRun, key: str) -> dict[str, Any]:
    """A wandb.Table logged under `key`, from the file its summary entry points to."""
    ref = run.summary[key]
    return json.loads((run.directory / "files" / ref["path"]).read_text())
