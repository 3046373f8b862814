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
from omegaconf import DictConfig, OmegaConf, open_dict

from excolor.core.ablation import AblationConfig
from excolor.core.concepts import Concept, ConceptConfig, hex_name
from excolor.core.concepts import resolve as resolve_concept
from excolor.core.data import DataConfig
from excolor.core.labels import LabelsConfig
from excolor.core.metric_names import DEFAULT_CONCEPT
from excolor.core.metrics import EvalSettings
from excolor.core.model import ModelConfig
from excolor.core.regularizers import SCHEMAS, RegularizerConfig
from excolor.core.schedule import ScheduleConfig
from excolor.errors import ConfigError

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
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


def study_name(*parts: Any, _root_: DictConfig) -> str:
    """The `excolor_study` resolver, the default study name: `<sweep.name>-<name>`, then `-<concept>` for a
    concept other than red (so red's studies keep the names they always had), then any `parts`."""
    concept = _root_.get("concept")
    if concept is not None and concept.get("rgb") is not None:
        name = hex_name(list(concept.rgb))
    else:
        name = str(concept.get("name")) if concept is not None else DEFAULT_CONCEPT
    pieces = [str(_root_.sweep.name), str(_root_.name), *([] if name == DEFAULT_CONCEPT else [name])]
    return "-".join([*pieces, *(str(p) for p in parts)])


def group_options(group: str) -> list[str]:
    """The options of a config group: the YAML files in excolor/conf/<group>/ and the user config dir."""
    folders = [CONF_DIR / group, user_config_dir() / group]
    return sorted({path.stem for folder in folders for path in folder.glob("*.yaml")})


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


DEFAULT_STORAGE = "sqlite:///multirun/optuna.db"
"""Where a sweep keeps its study unless `sweep.storage` (or a machine's local config) says otherwise."""


@dataclass
class SweepConfig:
    """Search space of `-m sweep=NAME`: every selected regularizer's weight, log-uniform."""

    name: str = "sweep"
    storage: str = DEFAULT_STORAGE  # the study's Optuna storage (hydra.sweeper.storage reads it)
    weight_range: Optional[list[float]] = None
    ranges: dict[str, list[float]] = field(default_factory=dict)
    total_trials: Optional[int] = None  # run until the study has this many complete trials (resume-safe)
    heartbeat_s: float = 20  # a worker records a heartbeat on its running trials this often ...
    grace_s: float = 120  # ... and a RUNNING trial silent this long belongs to a dead worker on another host
    mix: bool = False  # true: continue a study created with other settings (excolor/study/settings.py)


@dataclass
class ExcolorConfig:
    concept: ConceptConfig = field(default_factory=ConceptConfig)
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
    plugins: list[str] = field(default_factory=list)  # import paths your own classes may come from: [mypkg.*]


def concept_of(config: ExcolorConfig) -> Concept:
    """The run's concept, resolved against its bottleneck (excolor/run/concept.py makes it explicit first)."""
    try:
        return resolve_concept(config.concept, config.model.k_bottleneck)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def schema_name(schema: type[RegularizerConfig]) -> str:
    """`AngularAnchorConfig` -> `angular_anchor`: its name in ConfigStore's `regularizers/schema` group."""
    stem = schema.__name__.removesuffix("Config")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in stem).lstrip("_")


def register_schemas() -> None:
    """Store every schema as `regularizers/schema/<name>`, for the YAML files' defaults lists."""
    store = ConfigStore.instance()
    for schema in SCHEMAS.values():
        store.store(group="regularizers/schema", name=schema_name(schema), node=schema, replace=True)


def register_schema() -> None:
    """Make `base_config`, the regularizer schemas and excolor's resolvers available to excolor/conf/."""
    ConfigStore.instance().store(name="base_config", node=ExcolorConfig, replace=True)
    register_schemas()
    # OmegaConf 2.4 renamed register_new_resolver (now deprecated, with a warning) to register_resolver
    register = getattr(OmegaConf, "register_resolver", None) or OmegaConf.register_new_resolver
    register("excolor_user_conf", _user_searchpath, replace=True)
    register("excolor_study", study_name, replace=True)


RECIPE = ("concept", "model", "data", "labels", "regularizers", "schedule", "ablation", "eval", "trainer")
"""The sections that make a trial what it is (an exported preset must reproduce them exactly)."""


def compose(overrides: list[str], config_dir: Path = CONF_DIR, with_hydra: bool = False) -> DictConfig:
    """`OVERRIDES` composed onto `config_dir`'s config.yaml, nothing run; with `with_hydra`,
    Hydra's own node is kept and made current, so interpolations of `hydra:` resolve."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    register_schema()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir)):
            cfg = hydra_compose("config", overrides=list(overrides), return_hydra_config=with_hydra)
    finally:
        GlobalHydra.instance().clear()
    if with_hydra:
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            del cfg["hydra"]
    return cfg


def compose_recipe(overrides: list[str]) -> dict[str, Any]:
    """The RECIPE sections of `excolor-train OVERRIDES`, composed and resolved (nothing runs)."""
    cfg = compose(["logger=none", *overrides])
    return {k: OmegaConf.to_container(cfg[k], resolve=True, enum_to_str=True) for k in RECIPE}


def split_override(arg: str) -> tuple[str, Optional[str]]:
    """`key=value`, `+key=value`, `++key=value`, `~key` -> (key, value or None): the one place an
    override string is taken apart (its value is left as written; Hydra's grammar parses it)."""
    key, sep, value = arg.partition("=")
    return key.lstrip("+~"), (value if sep else None)


def weight_key(regularizer: str) -> str:
    """The config key of a regularizer's weight multiplier (parsed back by `short_name`)."""
    return f"regularizers.{regularizer}.weight"


def short_name(param: str) -> str:
    """`regularizers.anchor.weight` -> `anchor`; other parameters keep their full key."""
    return param.removeprefix("regularizers.").removesuffix(".weight")
