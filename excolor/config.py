"""The typed schema of a run, registered in Hydra's ConfigStore so bad keys and types fail at compose.

Each section's dataclass lives beside the code it configures; this module only assembles them and
checks what a schema cannot express (cross-field rules), raising ConfigError with the key to fix.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from excolor.data import DataConfig, check_data
from excolor.labels import LabelsConfig, check_labels
from excolor.metric_names import SCALAR_METRICS, is_objective, named_after
from excolor.metrics import EvalSettings, check_settings
from excolor.model import ModelConfig
from excolor.regularizers import SCHEMAS, register_schemas
from excolor.resources import ResourceError, check_fits, evaluation_needs, model_need
from excolor.schedule import ScheduleConfig
from excolor.surgery import AblationConfig, check_dims
from excolor.validation import DomainError, check_numbers, check_run_name, check_trainer


CONF_DIR = Path(__file__).resolve().parent / "conf"
"""The config groups, shipped inside the package (excolor/conf/)."""


USER_CONF_ENV = "EXCOLOR_CONFIG_DIR"
"""Names the user config dir (default $XDG_CONFIG_HOME/excolor, else ~/.config/excolor)."""


def user_config_dir() -> Path:
    """A config root searched after the package's (e.g. <dir>/experiment/NAME.yaml from excolor-validate)."""
    if os.environ.get(USER_CONF_ENV):
        return Path(os.environ[USER_CONF_ENV]).expanduser()
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config").expanduser() / "excolor"


def _user_searchpath() -> str:
    """conf/config.yaml's hydra.searchpath entry: the user config dir, or (while it does not exist, so that
    Hydra does not warn about a missing path) the package's own conf dir again."""
    folder = user_config_dir()
    return f"file://{folder.resolve() if folder.is_dir() else CONF_DIR}"


def group_options(group: str) -> list[str]:
    """The options of a config group: the YAML files in excolor/conf/<group>/ and the user config dir."""
    folders = [CONF_DIR / group, user_config_dir() / group]
    return sorted({path.stem for folder in folders for path in folder.glob("*.yaml")})


class ConfigError(ValueError):
    """A user-facing configuration mistake; the message names the key and the allowed values."""


class Direction(Enum):
    minimize = "minimize"
    maximize = "maximize"


class Aggregate(Enum):
    """How a trial's objectives combine its seeds."""

    median = "median"
    mean = "mean"
    worst = "worst"
    second_worst = "second_worst"


@dataclass
class TrialConfig:
    """Seeds scored per trial (null: just `seed`) and how their metrics become objectives."""

    seeds: Optional[list[int]] = None  # null: train `seed` only; a list scores the trial over every seed
    aggregate: Aggregate = Aggregate.median
    fail_threshold: float = 0.02  # a seed fails when collateral_mse (or intact recon_mse) exceeds this
    require_no_failed_seeds: bool = False  # true: a trial with any failed seed is recorded FAILED
    study: Optional[str] = None  # set by the excolor sweeper: this trial's study ...
    number: Optional[int] = None  # ... and its Optuna trial number (names its dir and W&B run) ...
    sampled: list[str] = field(default_factory=list)  # ... and the config keys its sampler chose


@dataclass
class OutputsConfig:
    """What a run writes besides metrics.json; `quiet` drops the end-of-run tables (sweeps set it)."""

    plots: bool = True
    weights: bool = True
    quiet: bool = False


@dataclass
class SweepConfig:
    """Search space of `-m sweep=NAME`: every selected regularizer's weight, log-uniform."""

    name: str = "sweep"
    storage: str = "sqlite:///multirun/optuna.db"  # the study's Optuna storage (hydra.sweeper.storage reads it)
    weight_range: Optional[list[float]] = None
    ranges: dict[str, list[float]] = field(default_factory=dict)
    total_trials: Optional[int] = None  # run until the study has this many complete trials (resume-safe)
    heartbeat_s: int = 20  # a worker records a heartbeat on its running trials this often ...
    grace_s: int = 120  # ... and a RUNNING trial silent this long belongs to a dead worker (any host)


@dataclass
class ExcolorConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    regularizers: dict[str, Any] = field(default_factory=dict)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    ablation: AblationConfig = field(default_factory=AblationConfig)
    eval: EvalSettings = field(default_factory=EvalSettings)
    trainer: dict[str, Any] = field(default_factory=dict)
    logger: Optional[dict[str, Any]] = None
    trial: TrialConfig = field(default_factory=TrialConfig)
    outputs: OutputsConfig = field(default_factory=OutputsConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    objectives: dict[str, Direction] = field(default_factory=dict)
    seed: int = 0
    name: str = "excolor"


def register_schema() -> None:
    """Make `base_config`, the regularizer schemas and the user config dir's resolver available to excolor/conf/."""
    ConfigStore.instance().store(name="base_config", node=ExcolorConfig, replace=True)
    register_schemas()
    # OmegaConf 2.4 renamed register_new_resolver (now deprecated, with a warning) to register_resolver
    register = getattr(OmegaConf, "register_resolver", None) or OmegaConf.register_new_resolver
    register("excolor_user_conf", _user_searchpath, replace=True)


def compose_config(overrides: list[str]) -> "ExcolorConfig":
    """The checked config `excolor-train OVERRIDES` would run (logger off), composed without running it."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict

    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR)):
        cfg = compose("config", overrides=["logger=none", *overrides], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    return check_config(cfg)


def typed_regularizers(cfg: DictConfig) -> dict[str, dict[str, Any]]:
    """Every selected regularizer as a plain dict of its class's schema, its `_target_` allow-listed.

    A composed config is typed already (each conf/regularizers/*.yaml names its schema, so Hydra checks
    keys and types at composition); a run's saved config, which has no defaults list, is typed here.
    """
    typed: dict[str, dict[str, Any]] = {}
    for name, node in cfg.regularizers.items():
        target = node.get("_target_") if isinstance(node, DictConfig) else None
        if target not in SCHEMAS:
            raise ConfigError(
                f"regularizers.{name}: _target_={target!r} is not a known regularizer class; "
                f"allowed: {sorted(SCHEMAS)}"
            )
        if OmegaConf.get_type(node) is not SCHEMAS[target]:
            try:
                node = OmegaConf.merge(OmegaConf.structured(SCHEMAS[target]), node)
            except OmegaConfBaseException as error:
                raise ConfigError(f"regularizers.{name}.{error.key or ''}: {error.msg}") from None
        typed[name] = OmegaConf.to_container(node, resolve=True)
    return typed


def check_config(cfg: DictConfig) -> ExcolorConfig:
    """Every rule a schema cannot express, checked before anything is trained."""
    if OmegaConf.get_type(cfg) is not ExcolorConfig:  # e.g. a run's saved .hydra/config.yaml
        try:
            cfg = OmegaConf.merge(OmegaConf.structured(ExcolorConfig), cfg)
        except OmegaConfBaseException as error:
            raise ConfigError(f"{error.full_key}: {error.msg}") from None
    typed: ExcolorConfig = OmegaConf.to_object(cfg)
    typed.regularizers = typed_regularizers(cfg)
    try:
        check_numbers(typed)  # every number finite and in its domain (excolor/validation.py)
        check_run_name(typed.name)
    except DomainError as error:
        raise ConfigError(str(error)) from None
    for name, regularizer in typed.regularizers.items():
        unknown = sorted(set(regularizer.get("labels") or {}) - set(typed.labels.concepts))
        if unknown:
            raise ConfigError(
                f"regularizers.{name}.labels names {unknown}, but the run's labels are {list(typed.labels.concepts)} "
                f"(labels=...); choose labels that define them or set regularizers.{name}.labels=null"
            )
    accelerator = str(typed.trainer.get("accelerator", "cpu"))
    if accelerator != "cpu":
        raise ConfigError(f"trainer.accelerator={accelerator}: excolor trains on the CPU (allowed: cpu); "
                          "a ~1,000-parameter model gains nothing from a GPU, stack more members instead")
    try:
        check_trainer(typed.trainer)
        members = len(typed.trial.seeds or [typed.seed])
        model = typed.model
        check_fits([model_need(model.k_bottleneck, model.width, model.n_hidden, members),
                    *evaluation_needs(list(typed.eval.hsv_cube), typed.eval.rgb_grid_size, typed.eval.chunk_size,
                                      members, model.width, model.n_hidden, model.k_bottleneck)])
    except (DomainError, ResourceError) as error:
        raise ConfigError(str(error)) from None
    checks = [
        (lambda: check_data(typed.data)),
        (lambda: check_labels(typed.labels)),
        (lambda: check_settings(typed.eval)),
        (lambda: check_dims(list(typed.ablation.dims), typed.model.k_bottleneck, typed.ablation.layer) if typed.ablation.dims else None),
    ]
    for check in checks:
        try:
            check()
        except ValueError as error:
            raise ConfigError(str(error)) from None
    if not typed.objectives:
        raise ConfigError(f"objectives is empty: choose objectives=... ({', '.join(group_options('objectives'))})")
    allowed = [*SCALAR_METRICS, named_after("<colour>")]
    for metric in typed.objectives:
        if not is_objective(metric):
            raise ConfigError(f"objectives names {metric!r}, which is no metric; allowed: {', '.join(allowed)}")
    return typed
