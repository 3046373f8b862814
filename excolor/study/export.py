"""A study's trial as an experiment preset (`excolor-validate --export NAME`): the sweep's experiment plus
every value the trial changed, with its provenance (study, trial, sweep and held-out numbers) in a
comment, checked to compose back to exactly the trial's recipe before anything is written."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf
from optuna.trial import FrozenTrial

from excolor.core.metric_names import heldout_shown
from excolor.errors import ConfigError
from excolor.run.config import CONF_DIR, RECIPE, ExcolorConfig, compose_recipe, user_config_dir
from excolor.run.outcome import Attr
from excolor.run.outputs import writable_dir_problem
from excolor.study.heldout import FLAG_RATIO, failed, is_flagged, spread
from excolor.study.records import study_concept

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def check_export(name: str, export_dir: Path | None) -> Path:
    """Where `--export NAME` writes, refused before any training if it cannot be written truthfully."""
    if not NAME_PATTERN.match(name) or name.endswith(".yaml"):
        raise ConfigError(f"--export {name!r}: a preset name is letters, digits, '_', '.', '-' (no '/', no "
                          ".yaml), e.g. --export ex2_9_1_validated; it becomes experiment=NAME")
    target = (export_dir or user_config_dir() / "experiment") / f"{name}.yaml"
    package = CONF_DIR / "experiment" / f"{name}.yaml"
    if package.exists() and target.resolve() != package.resolve():
        raise ConfigError(f"--export {name!r}: the package already has a preset {name!r}, which excolor-train "
                          "would find first; choose another name")
    if target.exists():
        raise ConfigError(f"--export {name!r}: {target} exists already; choose another name or move it away")
    if problem := writable_dir_problem(str(target.parent), "--export-dir" if export_dir else "the user config dir"):
        raise ConfigError(problem)
    return target


def _leaf_diff(value: Any, base: Any) -> Any:
    """The parts of `value` that differ from `base` (whole lists; None when equal)."""
    if isinstance(value, dict) and isinstance(base, dict):
        diff = {k: d for k, v in value.items() if (d := _leaf_diff(v, base.get(k, _MISSING))) is not None}
        return diff or None
    return None if value == base else value


_MISSING = object()


PRESET_GROUPS = ("concept", "regularizers")
"""Groups a preset chooses by name (`override /concept: blue`) where the trial's choice is not its base's:
merging their values onto the base's options would mix the two (two concepts' poles)."""


def preset_body(name: str, trial: FrozenTrial, cfg: DictConfig) -> dict[str, Any]:
    """The preset: the sweep's experiment plus every recipe value the trial changed. Checked: composing
    it must give back the trial's recipe exactly (else ConfigError, before anything trains)."""
    hydra_yaml = Path(str(trial.user_attrs[Attr.OUTPUT_DIR])) / ".hydra" / "hydra.yaml"
    choices = OmegaConf.select(OmegaConf.load(hydra_yaml), "hydra.runtime.choices", default=None) or {}
    base = str(choices.get("experiment") or "")
    wanted = normalised({k: OmegaConf.to_container(cfg[k], resolve=True, enum_to_str=True) for k in RECIPE})
    base_overrides = [f"experiment={base}"] if base else []
    defaults: list[Any] = [base] if base else []
    composed_base = normalised(compose_recipe(base_overrides))
    for group in PRESET_GROUPS:
        chosen = choices.get(group)
        if group == "regularizers":
            differs = list(wanted[group]) != list(composed_base[group])
            chosen = list(wanted[group])
        else:
            differs = chosen is not None and wanted[group] != composed_base[group]
        if differs:
            defaults.append({f"override /{group}": chosen})
            base_overrides.append(f"{group}=[{','.join(chosen)}]" if isinstance(chosen, list) else f"{group}={chosen}")
    body: dict[str, Any] = {"defaults": defaults, "name": name}
    body.update(_leaf_diff(wanted, normalised(compose_recipe(base_overrides))) or {})
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "experiment").mkdir()
        (Path(scratch) / "experiment" / f"{name}.yaml").write_text(
            "# @package _global_\n" + OmegaConf.to_yaml(OmegaConf.create(body)))
        composed = normalised(compose_recipe([f"hydra.searchpath=[file://{scratch}]", f"experiment={name}"]))
    differing = [k for k in RECIPE if composed[k] != wanted[k]]
    if differing:
        raise ConfigError(f"--export {name!r}: a preset on experiment={base or '(none)'} would not reproduce "
                          f"trial {trial.number} (sections {differing} differ); nothing written")
    return body


def normalised(recipe: dict[str, Any]) -> dict[str, Any]:
    """Recipe sections as today's schema reads them: a trial saved by an earlier version lacks keys that
    have defaults now, which must not count as a difference."""
    merged = OmegaConf.merge(OmegaConf.structured(ExcolorConfig), {k: v for k, v in recipe.items() if k in RECIPE})
    return {k: OmegaConf.to_container(merged[k], resolve=True, enum_to_str=True) for k in RECIPE}


def preset_text(name: str, body: dict[str, Any], trial: FrozenTrial, study: optuna.Study,
                record: dict[str, Any]) -> str:
    """The preset's YAML with its provenance on top: study, trial, sweep and held-out numbers (no paths of
    the machine it came from: a preset travels)."""
    sweep, held = trial.user_attrs, record.get("metrics", {})
    shown = heldout_shown(study_concept(study))
    lines = [
        "# @package _global_",
        f"# Exported by excolor-validate: trial {trial.number} of study {study.study_name!r}; "
        f"{record.get('aggregate', 'median')} [range] over seeds.",
        f"# sweep    seeds {sweep.get(Attr.SEEDS)}: " + ", ".join(f"{k} {spread(sweep, k)}" for k in shown)
        + f", failed seeds {failed(sweep)}",
        f"# held-out seeds {record.get('seeds')}: " + ", ".join(f"{k} {spread(held, k)}" for k in shown)
        + f", failed seeds {failed(held)}" + (f"  (held-out run failed: {record['failure']})"
                                              if record.get("failure") else "")
        + (f"  (FLAGGED: held-out collateral >= {FLAG_RATIO:g}x sweep)" if is_flagged(sweep, record) else ""),
        f"# Run: excolor-train experiment={name} 'trial.seeds=[{','.join(map(str, record.get('seeds', [])))}]'",
    ]
    return "\n".join(lines) + "\n" + OmegaConf.to_yaml(OmegaConf.create(body))
