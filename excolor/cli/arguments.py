"""The command line of `excolor-train`, checked before Hydra sees it: group options that do not exist, a
run name or output directory that cannot be written, and `sweep=NAME` implying `-m`. Each problem is
one line of text, so the command can refuse it before any directory is created."""

from __future__ import annotations

import os
from typing import Optional

from excolor.core.domains import DomainError, check_run_name
from excolor.run.config import CONF_DIR, group_options, split_override


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


def _override(argv: list[str], key: str) -> Optional[str]:
    """The last value the command line gives `key` (also as +key / ++key), or None."""
    value = None
    for arg in argv:
        name, text = split_override(arg)
        if text is not None and name == key:
            value = text.strip("'\"")
    return value


def writable_dir_problem(path: str, key: str) -> Optional[str]:
    """Why outputs cannot be written under `path` (its nearest existing ancestor is probed), or None."""
    import tempfile
    from pathlib import Path

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


def command_line_problem(argv: list[str]) -> Optional[str]:
    """What `excolor-train ARGV` must refuse before Hydra creates any directory: a run name that
    leaves outputs/, or an output directory that cannot be written."""
    name = _override(argv, "name")
    if name is not None:
        try:
            check_run_name(name)
        except DomainError as error:
            return str(error)
    multirun = "-m" in argv or "--multirun" in argv
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    directory = _override(argv, key)
    if directory is None or "${" in directory:
        directory, key = ("multirun" if multirun else "outputs"), key
    return writable_dir_problem(directory, key)
