"""A study's storage, on public Optuna APIs only: open it for a sweep (creating what is missing) or for a
command that only reads (creating nothing), with errors that name the storage and the real cause."""

from __future__ import annotations

import os
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import optuna

from excolor.errors import ConfigError

SQLITE_BUSY_TIMEOUT_S = 60
"""How long a worker waits for another to release a SQLite study before failing."""
CREATION_RACES = ("IntegrityError", "ProgrammingError")
"""Errors a worker may meet while another worker creates the same tables; it waits and tries again."""


def shown_url(url: str) -> str:
    """A storage URL with any password masked, for messages and files."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def sqlite_file(url: str) -> Path | None:
    """The database file of a sqlite:/// URL (None for in-memory databases and other back ends)."""
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
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    check_database_file(url, create, key)
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


def check_database_file(url: str, create: bool, key: str) -> None:
    """A SQLite storage's file, checked before connecting: for a command that only reads, it must exist and
    not be empty (connecting would create it); for a sweep, its folder must be creatable and it writable."""
    database = sqlite_file(url)
    if database is not None:
        if not create and not database.is_file():
            raise ConfigError(f"{key}={url!r}: no such database file {database.resolve()} (this command reads an "
                              "existing study storage; it creates none)")
        if not create and database.stat().st_size == 0:
            raise ConfigError(f"{key}={url!r}: {database.resolve()} is empty, not an Optuna storage")
        try:
            database.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"{key}={url!r}: cannot create its folder {database.parent.resolve()} "
                              f"({error.strerror}); choose a writable path, e.g. sqlite:///multirun/optuna.db") from None
        if database.exists() and not os.access(database, os.R_OK | (os.W_OK if create else 0)):
            raise ConfigError(f"{key}={url!r}: {database.resolve()} is not "
                              f"{'writable' if create else 'readable'} by this user")


def root_cause(error: BaseException) -> BaseException:
    """The innermost exception behind `error`: Optuna wraps a driver's error (file is not a database,
    connection refused, no such table) in a generic one whose message names none of them."""
    while error.__cause__ is not None or (error.__context__ is not None and not error.__suppress_context__):
        error = error.__cause__ or error.__context__
    return error


def _storage_error(key: str, url: str, error: Exception) -> None:
    """Raise a ConfigError that names the storage and the real cause."""
    cause = root_cause(error)
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    raise ConfigError(f"{key}={shown_url(url)!r} cannot be opened ({type(cause).__name__}: {text}); "
                      "use sqlite:///path/to/file.db or postgresql://user:pass@host/db") from None


def open_study(storage: optuna.storages.RDBStorage, name: str, directions: list[str], sampler: Any,
               metric_names: list[str]) -> optuna.Study:
    """Create or continue the study; an existing one must have the same objectives (names and directions):
    another list would put incomparable values on one front."""
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
    stored = [d.name.lower() for d in study.directions]
    if stored != list(directions) or (study.metric_names and list(study.metric_names) != list(metric_names)):
        have = dict(zip(study.metric_names or [f"objective_{i}" for i in range(len(stored))], stored))
        raise ConfigError(f"study {name!r} optimises {have}, this sweep {dict(zip(metric_names, directions))}: "
                          "objectives cannot change within a study; give the sweep a study of its own "
                          "(hydra.sweeper.study_name=NAME)")
    if list(study.metric_names or []) != metric_names:
        with quiet_experimental():
            study.set_metric_names(metric_names)
    return study


def study_names(storage: optuna.storages.RDBStorage, url: str, key: str = "--storage") -> dict[str, int]:
    """The studies in a storage and their trial counts; a storage without Optuna's tables is refused."""
    try:
        return {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(storage=storage)}
    except Exception as error:  # e.g. an empty database: no tables (a read-only command creates none)
        _storage_error(key, url, error)
        raise AssertionError("unreachable")


def study_in(storage: optuna.storages.RDBStorage, url: str, name: str, key: str = "--storage") -> optuna.Study:
    """An existing study of an open storage; a missing one is named with the studies that are there."""
    names = list(study_names(storage, url, key))
    if name not in names:
        raise ConfigError(f"--study {name!r}: no such study in {shown_url(url)}; studies there: {names or 'none'}")
    return optuna.load_study(study_name=name, storage=storage)


def load_study(url: str, name: str, key: str = "--storage") -> optuna.Study:
    """An existing study, for a command that only reads or annotates it (nothing is created)."""
    return study_in(open_storage(url, create=False, key=key), url, name, key)


def check_writable(study: optuna.Study, key: str = "--storage") -> None:
    """A command that writes its results on the study (held-out records) tries a harmless write first: a
    read-only storage fails now, with its cause, not after the training it would record."""
    try:
        study.set_user_attr("last_written", time.strftime("%Y-%m-%dT%H:%M:%S"))
    except Exception as error:
        cause = root_cause(error)
        raise ConfigError(f"{key}: study {study.study_name!r} cannot be written ({type(cause).__name__}: "
                          f"{str(cause).strip().splitlines()[0] if str(cause).strip() else ''}); its results are "
                          "kept on the study, so give a storage this user can write") from None


@contextmanager
def quiet_experimental() -> Iterator[None]:
    """Optuna marks a few public APIs experimental; their warnings are noise on a user's terminal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield
