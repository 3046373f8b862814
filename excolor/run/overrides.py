"""Overrides (`excolor-train`'s command line, or `excolor.api.compose`'s list), checked before Hydra sees
them: group options that do not exist (with a did-you-mean), `+key` for a key the schema does not have, a
run name or output directory that cannot be written, and `sweep=NAME` implying `-m`. Each problem is one
line of text, so the command can refuse it before any directory is created."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Optional

from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from excolor.core.domains import DomainError, check_run_name
from excolor.run.config import CONF_DIR, group_options, split_override
from excolor.run.outputs import writable_dir_problem


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
            return (f"{group}={value}: no {group} option {', '.join(map(repr, missing))}"
                    f"{did_you_mean(missing[0], available)}; available: {', '.join(available)}")
    return None


def did_you_mean(word: str, candidates: list[str]) -> str:
    """` (did you mean 'ex2_9'?)`, or nothing when no candidate is close."""
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


OPEN = object()
"""A node whose keys are free (a dict of regularizers, labels, Trainer arguments ...): any key may be set."""


def schema_tree(schema: type) -> dict[str, Any]:
    """The keys a dataclass schema allows, nested; OPEN where a field is a free mapping or untyped."""
    tree: dict[str, Any] = {}
    hints = typing.get_type_hints(schema)
    for field in dataclasses.fields(schema):
        kind = hints[field.name]
        if typing.get_origin(kind) in (typing.Union, types.UnionType):  # Optional[X] -> X
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        tree[field.name] = schema_tree(kind) if dataclasses.is_dataclass(kind) else (
            OPEN if typing.get_origin(kind) in (dict, list) or kind is Any else None)
    return tree


def entry_schema(parts: list[str]) -> type | None:
    """The schema of an entry in an open mapping whose entries are typed: a built-in regularizer option
    (`regularizers.anchor` -> its YAML's schema) or a label (`labels.concepts.<name>` -> LabelSpec)."""
    from excolor.core.labels import LabelSpec
    from excolor.core.regularizers import SCHEMAS
    from excolor.run.config import schema_name

    if parts[:2] == ["labels", "concepts"] and len(parts) == 3:
        return LabelSpec
    if parts[:1] == ["regularizers"] and len(parts) == 2 and (CONF_DIR / "regularizers" / f"{parts[1]}.yaml").is_file():
        text = (CONF_DIR / "regularizers" / f"{parts[1]}.yaml").read_text()
        return next((s for s in SCHEMAS.values() if f"schema/{schema_name(s)}@" in text), None)
    return None


def schema_problem(argv: list[str]) -> str | None:
    """A `key=value` (also `+key`, `++key`) for a key the run's schema does not have: Hydra would answer a
    typo with `To append use +...`, and with the `+` the key would be added and silently ignored."""
    from excolor.run.config import ExcolorConfig

    tree = schema_tree(ExcolorConfig)
    for arg in argv:
        key, value = split_override(arg)
        if value is None or arg.startswith("-") or "/" in key or key.split(".")[0] == "hydra":
            continue
        if "." not in key and (CONF_DIR / key).is_dir():
            continue  # a group choice (group_override_problem)
        problem = key_problem(arg, key.split("."), tree)
        if problem:
            return problem
    return None


def key_problem(arg: str, parts: list[str], tree: dict[str, Any]) -> str | None:
    """Walk `parts` down the schema tree; an entry of a free mapping is checked against its own schema where
    it has one (`regularizers.anchor`, `labels.concepts.red`), else anything below it goes."""
    node: Any = tree
    for depth, part in enumerate(parts):
        if node is OPEN:
            schema = entry_schema(parts[:depth + 1])
            if schema is None:
                return None
            node = schema_tree(schema)
            continue
        where = ".".join(parts[:depth]) or "the config"
        if not isinstance(node, dict):
            return f"{arg}: {where} is a value, not a section with keys (excolor-train --cfg job prints the config)"
        if part not in node:
            return (f"{arg}: {where} has no key {part!r}{did_you_mean(part, sorted(node))}; its keys: "
                    f"{', '.join(sorted(node))} (excolor-train --cfg job prints the whole config)")
        node = node[part]
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


REFUSED_KEYS = {"hydra.sweeper.direction": "a sweep's objectives and their directions come from `objectives=` "
                                           "(conf/objectives/, e.g. objectives=pareto, or "
                                           "+objectives.similarity_r2=maximize); hydra.sweeper.direction is not read"}
"""Keys of Hydra's plugins that excolor does not read: setting one is refused rather than ignored."""


def refused_key_problem(argv: list[str]) -> Optional[str]:
    for arg in argv:
        key, value = split_override(arg)
        if value is not None and key in REFUSED_KEYS:
            return f"{arg}: {REFUSED_KEYS[key]}"
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


def overrides_problem(argv: list[str]) -> Optional[str]:
    """The first problem of the overrides that can be named before composing them, or None."""
    return (group_override_problem(argv) or refused_key_problem(argv) or schema_problem(argv)
            or command_line_problem(argv))


COMPOSITION_ERRORS = (HydraException, OmegaConfBaseException)
"""What Hydra and OmegaConf raise for a config the user got wrong (composition, override grammar, types)."""


def hydra_message(error: BaseException) -> str:
    """Hydra's own message, as one paragraph (its cause too, where it names the key)."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    cause = error.__cause__
    if isinstance(cause, OmegaConfBaseException) and str(cause).strip() and str(cause).strip() not in text:
        text += " (" + " ".join(line.strip() for line in str(cause).splitlines() if line.strip()) + ")"
    return text
