"""Workers of one study, on any number of machines: who runs a trial, a heartbeat while it runs, a
directory claimed before it runs, and what happens to the trials of a worker that died.

A trial's identity is (storage, study, Optuna trial number), everywhere: its directory is
`<hydra.sweep.dir>/<number>` (by default `multirun/<study>/<number>`), its W&B run is
`<study>-<number>`. Workers record a heartbeat on their running trials; a worker that starts fails the
RUNNING trials of dead workers (a dead pid on this host, or a heartbeat older than the grace period on
any host) with the reason `abandoned`, and their directories' `status.json` says so too.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import optuna
from optuna.trial import FrozenTrial, TrialState

from excolor.run import outputs
from excolor.run.outcome import Attr
from excolor.study.records import set_trial_attrs
from excolor.study.storage import shown_url
from excolor.sweep.ledger import mark_unfinished

TRIAL_FILE = "trial.json"
"""Written into a trial's directory before it runs: which study and trial the directory belongs to."""


def worker_id() -> str:
    """`host:pid` of this process; EXCOLOR_WORKER_HOST overrides the host (containers that share a name)."""
    return f"{os.environ.get('EXCOLOR_WORKER_HOST') or socket.gethostname()}:{os.getpid()}"


def _alive_here(worker: str) -> bool | None:
    """For a worker on this host: is its process alive? None when it is on another host."""
    host, _, pid = worker.rpartition(":")
    if host != worker_id().rpartition(":")[0] or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def abandoned_reason(trial: FrozenTrial, grace_s: float, now: float) -> str | None:
    """Why a RUNNING trial belongs to a dead worker, or None while its worker may be alive."""
    worker = str(trial.user_attrs.get(Attr.WORKER, ""))
    alive = _alive_here(worker)
    if alive is False:
        return f"abandoned: its worker {worker} died"
    if alive:  # a live process on this host is never judged by its heartbeat: it may be busy, not dead
        return None
    beat = trial.user_attrs.get(Attr.HEARTBEAT)
    if isinstance(beat, (int, float)) and now - beat > grace_s:
        return f"abandoned: no heartbeat from worker {worker} for {now - beat:.0f} s (grace {grace_s:.0f} s)"
    return None


def fail_abandoned_trials(storage: optuna.storages.RDBStorage, study: optuna.Study, grace_s: float,
                          everything: bool = False) -> list[int]:
    """Mark RUNNING trials of dead workers (`everything`: all RUNNING trials) FAILED, reason first, then
    state; returns their numbers."""
    now, failed = time.time(), []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        reason = "abandoned: failed by hand (excolor-recover --all)" if everything else \
            abandoned_reason(trial, grace_s, now)
        if reason is None:
            continue
        try:
            set_trial_attrs(storage, study, trial.number, {Attr.REASON: reason})
            study.tell(trial.number, state=TrialState.FAIL)
            failed.append(trial.number)
        except (RuntimeError, ValueError, optuna.exceptions.UpdateFinishedTrialError):
            continue  # another worker got there first
        # its directory says so too, where it is on this machine (a killed worker could not write it)
        mark_unfinished(trial.user_attrs.get(Attr.OUTPUT_DIR), reason)
    return failed


class Heartbeat:
    """A background thread that stamps this worker's running trials every `interval_s` seconds."""

    def __init__(self, storage: optuna.storages.RDBStorage, study: optuna.Study, numbers: Iterable[int],
                 interval_s: float) -> None:
        self.storage, self.study, self.numbers, self.interval_s = storage, study, list(numbers), interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="excolor-heartbeat", daemon=True)

    def beat(self) -> None:
        stamp = {Attr.HEARTBEAT: time.time()}
        for number in self.numbers:
            try:
                set_trial_attrs(self.storage, self.study, number, stamp)
            except Exception:  # a finished trial (told already) or a busy database: try again next time
                pass

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.beat()

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@dataclass(frozen=True)
class TrialClaim:
    """A trial's directory, claimed before it runs."""

    number: int
    directory: Path
    conflict: str | None = None  # why the directory cannot be used (the trial is then failed, not run)


def claim_directory(sweep_dir: Path, study: optuna.Study, storage_url: str, number: int) -> TrialClaim:
    """`<sweep_dir>/<number>`: must be new or empty; gets trial.json naming its study and trial.

    Trial numbers are never reused in a study, so a directory that already holds files was left by
    another study or storage: it is never written into.
    """
    directory = sweep_dir / str(number)
    if directory.exists() and not directory.is_dir():
        return TrialClaim(number, directory, f"{directory} is a file, not a trial directory; it is left as it is "
                                             "(move it away, or give hydra.sweep.dir a new folder)")
    if directory.exists() and any(directory.iterdir()):
        previous = directory / TRIAL_FILE
        owner = json.loads(previous.read_text()) if previous.is_file() else "an unknown run"
        return TrialClaim(number, directory, f"{directory} already holds files of {owner}; it is left as it "
                                             "is (move it away, or give hydra.sweep.dir a new folder)")
    identity = {"study": study.study_name, "number": number, "storage": shown_url(storage_url)}
    outputs.write_json(directory / TRIAL_FILE, identity)
    return TrialClaim(number, directory)
