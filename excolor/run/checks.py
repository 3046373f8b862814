"""Everything about a run's config that a schema cannot express, checked before anything is trained:
numbers in their domains, cross-field rules, the regularizers' own schemas, Lightning's Trainer
arguments and the memory the run will need. A mistake raises ConfigError naming the key to fix."""

from __future__ import annotations

import re
from typing import Any, Mapping

from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from excolor.core.ablation import ERASERS, AblationMethod, check_dims
from excolor.core.concepts import Concept
from excolor.core.data import check_data, training_grid
from excolor.core.domains import DomainError, check_numbers, check_run_name
from excolor.core.erasure import missing_dependency
from excolor.core.labels import LabelSpec, check_labels, label_probabilities
from excolor.core.memory import ResourceError, check_fits, evaluation_needs, model_need
from excolor.core.metric_names import (
    CONCEPT_PLACEHOLDER,
    DEFAULT_CONCEPT,
    SCALAR_METRICS,
    concept_metric,
    is_objective,
    named_after,
)
from excolor.core.metrics import check_settings
from excolor.core.regularizers import RegularizerConfig
from excolor.errors import ConfigError
from excolor.run.build import BUILTIN_REGULARIZERS, as_list, check_source, regularizer_schema
from excolor.run.concept import apply_concept
from excolor.run.config import CONF_DIR, ExcolorConfig, compose, group_options


def compose_config(overrides: list[str]) -> "ExcolorConfig":
    """The checked config `excolor-train OVERRIDES` would run (logger off), composed without running it."""
    return check_config(compose(["logger=none", *overrides], with_hydra=True))


LEGACY_TARGETS = {"excolor.regularizers.": "excolor.core.regularizers."}
"""Where `_target_` paths saved by earlier versions (e.g. a 0.1.0 run dir's .hydra/config.yaml) live today."""


def current_target(target: str) -> str:
    """A saved `_target_` path as today's code names it."""
    for old, new in LEGACY_TARGETS.items():
        if target.startswith(old):
            return new + target.removeprefix(old)
    return target


def upgraded(cfg: DictConfig) -> DictConfig:
    """A config saved by an earlier version, as today's schema reads it: configs from before concepts were
    configurable are about red (the `concept/` group's default option)."""
    if "concept" not in cfg:
        cfg = cfg.copy()
        with open_dict(cfg):
            cfg.concept = OmegaConf.load(CONF_DIR / "concept" / f"{DEFAULT_CONCEPT}.yaml").concept
    return cfg


def typed_regularizers(cfg: DictConfig, plugins: list[str]) -> dict[str, RegularizerConfig]:
    """Every selected regularizer as an instance of its class's schema, its `_target_` allowed.

    A composed config is typed already (each conf/regularizers/*.yaml names its schema, so Hydra checks
    keys and types at composition); a run's saved config, or a plug-in's YAML, is typed here.
    """
    typed: dict[str, RegularizerConfig] = {}
    selected = [n for n, node in cfg.regularizers.items() if isinstance(node, DictConfig) and node.get("_target_")]
    for name, node in cfg.regularizers.items():
        if isinstance(node, DictConfig) and not node.get("_target_") and name in group_options("regularizers"):
            raise ConfigError(f"regularizers.{name} is set ({', '.join(map(str, node))}) but {name} is not among the "
                              f"selected regularizers ({', '.join(selected)}): a preset (experiment=...) may set its "
                              f"weight; select it too (regularizers=[{','.join([*selected, name])}]) or drop the "
                              "setting")
        if not isinstance(node, DictConfig) or not node.get("_target_"):
            raise ConfigError(f"regularizers.{name} has no _target_: it must name a regularizer class, e.g. "
                              f"{BUILTIN_REGULARIZERS[0]}")
        target = current_target(str(node.get("_target_")))
        schema = regularizer_schema(target, plugins, f"regularizers.{name}._target_")
        try:
            merged = OmegaConf.merge(OmegaConf.structured(schema), node, {"_target_": target})
        except OmegaConfBaseException as error:
            raise ConfigError(f"regularizers.{name}.{error.key or ''}: {error.msg}") from None
        typed[name] = OmegaConf.to_object(merged)
    return typed


def typed_config(cfg: DictConfig) -> ExcolorConfig:
    """The config as its schema's dataclasses (a saved config is merged onto the schema first)."""
    cfg = upgraded(cfg)
    try:
        if OmegaConf.get_type(cfg) is not ExcolorConfig:  # e.g. a run's saved .hydra/config.yaml
            cfg = OmegaConf.merge(OmegaConf.structured(ExcolorConfig), cfg)
        typed: ExcolorConfig = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{error.full_key}: {error.msg}") from None
    typed.plugins = as_list(typed.plugins)
    typed.regularizers = typed_regularizers(cfg, typed.plugins)
    typed.labels.concepts = {name: typed_label(name, node) for name, node in cfg.labels.concepts.items()}
    return typed


def typed_label(name: str, node: Any) -> LabelSpec:
    """One label of `labels.concepts` as its schema (a node may leave any field to the concept's pole)."""
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(LabelSpec), node or {}))
    except OmegaConfBaseException as error:
        raise ConfigError(f"labels.concepts.{name}.{error.key or ''}: {error.msg}") from None


def check_config(cfg: DictConfig) -> ExcolorConfig:
    """Every rule a schema cannot express, checked before anything is trained; the concept made explicit."""
    typed = typed_config(cfg)
    try:
        check_numbers(typed)  # every number finite and in its domain (excolor/core/domains.py)
        check_run_name(typed.name)
    except DomainError as error:
        raise ConfigError(str(error)) from None
    given = {name: spec.source for name, spec in typed.labels.concepts.items()}  # before the poles fill them in
    concept = apply_concept(typed)
    for name, spec in typed.labels.concepts.items():
        if spec.source is not None:  # blame the key the source came from: the label's own, or its pole's
            where = "labels.concepts" if given.get(name) is not None or name not in typed.concept.poles else "concept.poles"
            check_source(spec, typed.plugins, f"{where}.{name}.source")
    check_references(typed)
    check_resources(typed)
    for check in (lambda: check_data(typed.data), lambda: check_labels(typed.labels),
                  lambda: check_settings(typed.eval, concept),
                  lambda: check_dims(list(typed.ablation.dims), typed.model.k_bottleneck, typed.ablation.layer)
                  if typed.ablation.dims else None):
        try:
            check()
        except ValueError as error:
            raise ConfigError(str(error)) from None
    check_objectives(typed, concept)
    check_ablation(typed)
    return typed


def check_ablation(typed: ExcolorConfig) -> None:
    """What a deletion method needs that can be known before training: a post-hoc eraser's package and
    labelled samples to fit on; pruning deletes whole dims only."""
    ablation = typed.ablation
    method = ablation.method.value
    if ablation.method is AblationMethod.prune and ablation.strength != 1.0:
        raise ConfigError(f"ablation.strength={ablation.strength} with ablation.method=prune: pruning removes "
                          "whole dims (strength 1); use ablation.method=zero to scale a deletion")
    if ablation.method not in ERASERS:
        return
    if ablation.method is AblationMethod.leace and (problem := missing_dependency()):
        raise ConfigError(problem)
    grid, _ = training_grid(typed.data)
    poles = list(typed.concept.poles)
    possible = label_probabilities(grid, typed.labels)[:, :len(poles)].amax(dim=0)
    never = [pole for pole, p in zip(poles, possible.tolist()) if p <= 0]
    if never:
        raise ConfigError(f"ablation.method={method} is fitted on training samples labelled with the concept, but "
                          f"no training colour can be labelled {never} (labels.concepts.{never[0]}: scale "
                          f"{typed.labels.concepts[never[0]].scale}); raise labels.poles.scale, or choose labels "
                          "that mark the concept")


def check_references(typed: ExcolorConfig) -> None:
    """Names one part of the config gives another: labels a regularizer weighs by, the accelerator."""
    for name, regularizer in typed.regularizers.items():
        needed = getattr(regularizer, "label", None)  # a regularizer that reads one label's values (placement)
        if isinstance(needed, str) and needed not in typed.labels.concepts:
            raise ConfigError(
                f"regularizers.{name}.label={needed} names no label of the run (its labels are "
                f"{list(typed.labels.concepts)}); define it, e.g. labels.concepts.{needed}: {{source: likeness, "
                "rgb: <the concept's colour>, scale: 1, power: 1, hard: false}, or use a preset that does "
                "(experiment=ex2_9_1_placed)")
        unknown = sorted(set(regularizer.labels or {}) - set(typed.labels.concepts))
        if unknown:
            raise ConfigError(
                f"regularizers.{name}.labels names {unknown}, but the run's labels are {list(typed.labels.concepts)} "
                f"(labels=...); choose labels that define them or set regularizers.{name}.labels=null"
            )
    accelerator = str(typed.trainer.get("accelerator", "cpu"))
    if accelerator != "cpu":
        raise ConfigError(f"trainer.accelerator={accelerator}: excolor trains on the CPU (allowed: cpu); "
                          "a ~1,000-parameter model gains nothing from a GPU, stack more members instead")


def check_resources(typed: ExcolorConfig) -> None:
    """Lightning accepts the trainer arguments; the model and evaluation fit in memory."""
    try:
        check_trainer(typed.trainer)
        members = len(typed.trial.seeds or [typed.seed])
        model = typed.model
        check_fits([model_need(model.k_bottleneck, model.width, model.n_hidden, members),
                    *evaluation_needs(list(typed.eval.hsv_cube), typed.eval.rgb_grid_size, typed.eval.chunk_size,
                                      members, model.width, model.n_hidden, model.k_bottleneck)])
    except (DomainError, ResourceError) as error:
        raise ConfigError(str(error)) from None


def check_objectives(typed: ExcolorConfig, concept: Concept) -> None:
    if not typed.objectives:
        raise ConfigError(f"objectives is empty: choose objectives=... ({', '.join(group_options('objectives'))})")
    allowed = [*SCALAR_METRICS, concept_metric(concept.name), concept_metric(CONCEPT_PLACEHOLDER),
               named_after("<colour>")]
    for metric in typed.objectives:
        if not is_objective(metric, concept.name):
            raise ConfigError(f"objectives names {metric!r}, which is no metric of concept {concept.name!r}; "
                              f"allowed: {', '.join(allowed)}")


def check_trainer(trainer: Mapping[str, Any]) -> None:
    """Let Lightning judge the `trainer` arguments now, so its rejection names our key, not its traceback."""
    import logging
    import warnings

    import lightning as L

    kwargs = {**trainer, "max_steps": 1, "logger": False, "enable_progress_bar": False}
    quiet = logging.getLogger("lightning.pytorch")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # its "GPU available" banner is printed once, by the real Trainer
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            L.Trainer(**kwargs)
    except Exception as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        unexpected = re.search(r"unexpected keyword argument '(\w+)'", message)
        if unexpected:
            raise DomainError(f"trainer.{unexpected.group(1)} is not a Lightning Trainer argument; "
                              "see `lightning.pytorch.Trainer` for the allowed ones") from None
        named = [key for key in trainer if key in message]
        key = ", ".join(f"trainer.{k}={trainer[k]!r}" for k in named) or f"trainer={dict(trainer)}"
        raise DomainError(f"{key} is rejected by Lightning's Trainer: {message}") from None
    finally:
        quiet.setLevel(level)
