"""A study in its storage, on public Optuna APIs only: open it, name its trials, keep workers honest.

A trial's identity is (storage, study, Optuna trial number), everywhere: its directory is
`<hydra.sweep.dir>/<number>` (by default `multirun/<study>/<number>`), its W&B run is
`<study>-<number>`, and its attributes below live on the Optuna trial. Workers record a heartbeat on
their running trials; a worker that starts fails the RUNNING trials of dead workers (a dead pid on
this host, or a heartbeat older than the grace period on any host) with the reason `abandoned`, and
their directories' `status.json` says so too.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import optuna
from omegaconf import OmegaConf
from optuna.trial import FrozenTrial, TrialState

from excolor import outputs, status
from excolor.config import ConfigError


class Attr:
    """Names of the user attributes excolor keeps on an Optuna trial or study (one place for all readers)."""

    REASON = "fail_reason"
    PRUNED_REASON = "pruned_reason"  # why a race over seeds stopped the trial (excolor/racing.py)
    OUTPUT_DIR = "output_dir"
    WORKER = "worker"  # "host:pid" of the sweep process that runs the trial
    HEARTBEAT = "heartbeat"  # unix time of that worker's last sign of life
    SEEDS = "seeds"
    SEED_PREFIX = "seeds_"  # seeds_<metric>: one value per seed
    SEED_FAILURES = "seed_failures"
    # On the STUDY, not the trial: Optuna refuses to update a finished trial's attributes.
    HELDOUT_PREFIX = "heldout:"  # heldout:<trial number> -> held-out record (excolor/heldout.py)


def heldout_key(number: int) -> str:
    """The study user attribute that holds trial `number`'s held-out record."""
    return f"{Attr.HELDOUT_PREFIX}{number}"


def store_heldout(study: optuna.Study, number: int, record: dict[str, Any]) -> None:
    """Keep a trial's held-out record (seeds, metrics, output dir) on its study; replaces an older one."""
    study.set_user_attr(heldout_key(number), json_safe(record))


def read_heldout(study: optuna.Study) -> dict[int, dict[str, Any]]:
    """Every held-out record of the study, by trial number (excolor-validate writes them)."""
    records = {}
    for key, value in study.user_attrs.items():
        number = key.removeprefix(Attr.HELDOUT_PREFIX)
        if key.startswith(Attr.HELDOUT_PREFIX) and number.isdigit() and isinstance(value, dict):
            records[int(number)] = value
    return records


TRIAL_FILE = "trial.json"
"""Written into a trial's directory before it runs: which study and trial the directory belongs to."""
SUMMARY_FILE = "optimization_results.yaml"
SUMMARY_LOCK = ".optimization_results.lock"
SQLITE_BUSY_TIMEOUT_S = 60
"""How long a worker waits for another to release a SQLite study before failing."""


def worker_id() -> str:
    """`host:pid` of this process; EXCOLOR_WORKER_HOST overrides the host (containers that share a name)."""
    return f"{os.environ.get('EXCOLOR_WORKER_HOST') or socket.gethostname()}:{os.getpid()}"


def shown_url(url: str) -> str:
    """A storage URL with any password masked, for messages and files."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _sqlite_path(url: str) -> Path | None:
    """The database file of a sqlite:/// URL (None for in-memory or other back ends)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def open_storage(url: str, create: bool = True, key: str = "storage") -> optuna.storages.RDBStorage:
    """Optuna RDB storage; SQLite gets its folder created and a busy timeout (workers queue, not fail).

    `create=False` (read-only commands): a SQLite file that does not exist is an error, not a new file.
    `key` names the setting the URL came from, in error messages.
    """
    engine_kwargs: dict[str, Any] = {}
    database = _sqlite_path(url)
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    if database is not None:
        if not create and not database.is_file():
            raise ConfigError(f"{key}={url!r}: no such database file {database.resolve()}")
        try:
            database.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"{key}={url!r}: cannot create its folder {database.parent.resolve()} "
                              f"({error.strerror}); choose a writable path, e.g. sqlite:///multirun/optuna.db") from None
        if database.exists() and not os.access(database, os.R_OK | (os.W_OK if create else 0)):
            raise ConfigError(f"{key}={url!r}: {database.resolve()} is not "
                              f"{'writable' if create else 'readable'} by this user")
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, skip_table_creation=not create)
        except Exception as error:  # sqlalchemy / driver errors: name the real cause
            racing = type(error).__name__ in CREATION_RACES or "already exists" in str(error)
            if attempt < 4 and racing:  # workers creating one schema at once: the loser retries
                time.sleep(0.5 + attempt)
                continue
            _storage_error(key, url, error)
    raise AssertionError("unreachable")


CREATION_RACES = ("IntegrityError", "ProgrammingError")
"""Errors a worker may meet while another worker creates the same tables; it waits and tries again."""


def _storage_error(key: str, url: str, error: Exception) -> None:
    """Raise a ConfigError that names the storage and the real cause."""
    cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    raise ConfigError(f"{key}={shown_url(url)!r} cannot be opened ({type(error).__name__}: {cause}); "
                      "use sqlite:///path/to/file.db or postgresql://user:pass@host/db") from None


def open_study(storage: optuna.storages.RDBStorage, name: str, directions: list[str], sampler: Any,
               metric_names: list[str]) -> optuna.Study:
    """Create or continue the study; directions must match a study that exists; metric names are set."""
    for attempt in range(3):  # workers starting together race to create the study: the loser loads it
        try:
            study = optuna.create_study(study_name=name, storage=storage, sampler=sampler,
                                        directions=directions, load_if_exists=True)
            break
        except ValueError as error:  # e.g. directions differ from the stored study
            raise ConfigError(f"study {name!r}: {error}") from None
        except Exception as error:
            if attempt < 2 and type(error).__name__ in ("IntegrityError", "DuplicatedStudyError"):
                time.sleep(1.0 + attempt)
                continue
            raise
    if list(study.metric_names or []) != metric_names:
        with _quiet_experimental():
            study.set_metric_names(metric_names)
    return study


class _quiet_experimental:
    """Optuna marks a few public APIs experimental; their warnings are noise on a user's terminal."""

    def __enter__(self) -> None:
        import warnings

        self._context = warnings.catch_warnings()
        self._context.__enter__()
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)

    def __exit__(self, *exc: Any) -> None:
        self._context.__exit__(*exc)


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
    if _alive_here(worker) is False:
        return f"abandoned: its worker {worker} died"
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
        mark_directory_abandoned(trial.user_attrs.get(Attr.OUTPUT_DIR), reason)
    return failed


def mark_directory_abandoned(output_dir: Any, reason: str) -> None:
    """The trial's directory says `failed` with the study's reason, where it is on this machine and says
    `running` or nothing yet (a killed worker could not write it; a worker alive after all rewrites it)."""
    if not output_dir or not Path(str(output_dir)).is_dir():
        return
    directory = Path(str(output_dir))
    record = status.read(directory)
    if record is None or record.get("state") == "running":
        status.mark(directory, "failed", reason)


def _trial_id(study: optuna.Study, storage: optuna.storages.RDBStorage, number: int) -> int:
    study_id = storage.get_study_id_from_name(study.study_name)
    return storage.get_trial_id_from_study_id_trial_number(study_id, number)


def set_trial_attrs(storage: optuna.storages.RDBStorage, study: optuna.Study, number: int,
                    attrs: dict[str, Any]) -> None:
    """User attributes on a trial of the study by number, through the storage's public API."""
    trial_id = _trial_id(study, storage, number)
    for key, value in attrs.items():
        storage.set_trial_user_attr(trial_id, key, json_safe(value))


def json_safe(value: Any) -> Any:
    """JSON-safe: non-finite floats become None (RDB user attributes are JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    return value


SPREAD_PREFIX = "spread_"
"""`spread_<metric>`: a metric's max - min over a trial's scored seeds (in W&B summaries and tables)."""


def seed_spread(values: Iterable[float | None]) -> float | None:
    """max - min over the seeds that have a finite value; None with fewer than two."""
    finite = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return max(finite) - min(finite) if len(finite) >= 2 else None


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
    if directory.exists() and any(directory.iterdir()):
        previous = directory / TRIAL_FILE
        owner = json.loads(previous.read_text()) if previous.is_file() else "an unknown run"
        return TrialClaim(number, directory, f"{directory} already holds files of {owner}; it is left as it "
                                             "is (move it away, or give hydra.sweep.dir a new folder)")
    identity = {"study": study.study_name, "number": number, "storage": shown_url(storage_url)}
    outputs.write_json(directory / TRIAL_FILE, identity)
    return TrialClaim(number, directory)


def objective_names(study: optuna.Study) -> list[str]:
    """The study's metric names (an excolor sweep sets them from its objectives), else objective_<i>."""
    return list(study.metric_names or [f"objective_{i}" for i in range(len(study.directions))])


def best_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The Pareto front (several objectives) or the best trial (one), by number; [] before any COMPLETE trial."""
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return []
    best = study.best_trials if len(study.directions) > 1 else [study.best_trial]
    return sorted(best, key=lambda t: t.number)


def front_numbers(study: optuna.Study) -> set[int]:
    """Numbers of `best_trials`: the trials a table or plot marks."""
    return {t.number for t in best_trials(study)}


def summary(study: optuna.Study) -> dict[str, Any]:
    """The sweep-level record, computed from the storage: best trial or Pareto front, counts."""
    trials = study.get_trials(deepcopy=False)
    names = objective_names(study)
    directions = [d.name.lower() for d in study.directions]
    best = best_trials(study)
    label = "pareto_front" if len(directions) > 1 else "best_trial"
    counts = {state.name.lower(): sum(t.state == state for t in trials) for state in TrialState}
    return {"study": study.study_name, "objectives": dict(zip(names, directions)),
            "trials": {k: v for k, v in counts.items() if v},
            label: [{"number": t.number, "values": dict(zip(names, t.values)), "params": t.params,
                     "output_dir": t.user_attrs.get(Attr.OUTPUT_DIR)} for t in sorted(best, key=lambda t: t.number)]}


def write_summary(study: optuna.Study, sweep_dir: Path) -> Path:
    """Atomically (re)write the summary, read from the storage under a lock on the sweep dir.

    Why the lock: every worker reports its trials before it writes, so whichever worker holds the lock
    last reads every report; without it, a worker that read the storage earlier could rename its stale
    summary over a newer one.
    """
    sweep_dir.mkdir(parents=True, exist_ok=True)
    with open(sweep_dir / SUMMARY_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = OmegaConf.to_yaml(OmegaConf.create(summary(study)))
        return outputs.write_text(sweep_dir / SUMMARY_FILE, text)
