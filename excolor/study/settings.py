"""What a study was created with, kept on it: experiment, concept, sweep preset, objectives, seeds, steps, the
search space, the sampler and excolor's version. A sweep that would continue a study with other settings
(another experiment, concept, space, seeds or step count) is refused before it runs: its trials would be
mixed onto one front. `sweep.mix=true` continues anyway, and says what differs. The objectives are fixed
when the study is created: no flag changes them (excolor/study/storage.py:open_study refuses it).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

import optuna

from excolor.errors import ConfigError
from excolor.run.outcome import json_safe

SETTINGS_ATTR = "settings"
"""The study user attribute holding the settings it was created with."""
IDENTITY = ("experiment", "concept", "objectives", "seeds", "n_steps", "space")
"""The settings whose change makes a study's trials incomparable (the sampler, its seed and the version
may differ between workers and resumes)."""


def excolor_version() -> str:
    try:
        return version("excolor")
    except PackageNotFoundError:  # a source tree on PYTHONPATH
        return "unknown"


def sweep_settings(*, experiment: str, concept: str, sweep: str, objectives: dict[str, str], seeds: list[int],
                   n_steps: int, space: dict[str, Any], sampler: dict[str, Any]) -> dict[str, Any]:
    """The settings record of a sweep about to run (plain values: it is JSON on the study)."""
    return json_safe({"experiment": experiment, "concept": concept, "sweep": sweep, "objectives": objectives,
                      "seeds": list(seeds), "n_steps": int(n_steps), "space": space, "sampler": sampler,
                      "excolor": excolor_version()})


def stored_settings(study: optuna.Study) -> dict[str, Any] | None:
    """The settings the study was created with (None for a study older than this record)."""
    value = study.user_attrs.get(SETTINGS_ATTR)
    return value if isinstance(value, dict) else None


def differences(stored: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """`key: stored -> wanted` for each identity setting that differs (for the space: which keys)."""
    changed = []
    for key in IDENTITY:
        old, new = stored.get(key), wanted.get(key)
        if key not in stored or old == new:
            continue
        if key == "space" and isinstance(old, dict) and isinstance(new, dict):
            parts = [f"+{k}" for k in new if k not in old] + [f"-{k}" for k in old if k not in new]
            parts += [f"{k} changed" for k in old if k in new and old[k] != new[k]]
            changed.append(f"space: {', '.join(parts)}")
        else:
            changed.append(f"{key}: {old!r} -> {new!r}")
    return changed


def keep_settings(study: optuna.Study, wanted: dict[str, Any], mix: bool) -> list[str]:
    """Record the settings on a new (or unrecorded) study; on a study that has them, refuse a sweep whose
    identity settings differ unless `mix`. Returns the differences that were allowed."""
    stored = stored_settings(study)
    if stored is None:
        study.set_user_attr(SETTINGS_ATTR, wanted)
        return []
    changed = differences(stored, wanted)
    if changed and not mix:
        raise ConfigError(f"study {study.study_name!r} was created with other settings, so this sweep would mix "
                          f"incomparable trials on one front ({'; '.join(changed)}); give it a study of its own "
                          "(hydra.sweeper.study_name=NAME), or continue anyway with sweep.mix=true")
    return changed
