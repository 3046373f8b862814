"""Objects a config names by `_target_`: excolor's own, checked against an allow-list, and code of the user's
own (plug-ins).

Hydra's `instantiate` takes its allow-list through a keyword that changes between releases; looking the
target up with `hydra.utils.get_method` after our own check keeps one behaviour on every release.

Plug-ins are code of the user's own that a config may name: a regularizer class (`regularizers.<name>._target_`) or a
label source function (`labels.concepts.<name>.source`, `concept.poles.<name>.source`), from any package
on the Python path that the run's `plugins` allow (`plugins=[mypkg.*]`: exact dotted paths, or prefixes
ending in `.*`). Each is imported and tried on a small input before anything trains, so a plug-in that
does not import, takes the wrong arguments or returns the wrong shape is refused with its key.

A regularizer plug-in is a subclass of `excolor.core.regularizers.Regularizer` with a `Config` dataclass
(a subclass of `RegularizerConfig` whose `_target_` default names the class) and a `per_sample(z)` that
maps latents [M,B,K] to one loss per sample [M,B]. A label source maps colours rgb [N,3] in [0,1] to a
score [N] in [0,1]; P(label) = scale * score ** power.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Mapping, Sequence

import torch
from hydra.utils import get_method

from excolor.core.labels import SOURCES, LabelSpec, is_builtin, source_function
from excolor.core.regularizers import SCHEMAS, Context, Regularizer, RegularizerConfig
from excolor.errors import ConfigError


class TargetError(ValueError):
    """A `_target_` outside the allow-list, or arguments the target rejects."""


def allowed(target: str, patterns: Sequence[str]) -> bool:
    """`patterns`: exact dotted names, or prefixes ending in `.*`."""
    return any(target == p or (p.endswith(".*") and target.startswith(p[:-1])) for p in patterns)


def resolve(target: str, patterns: Sequence[str]) -> Any:
    """The object a `_target_` path names, once the allow-list admits it."""
    if not allowed(target, patterns):
        raise TargetError(f"_target_={target!r} is not allowed here; allowed: {', '.join(patterns)}")
    hydra_log = logging.getLogger("hydra.utils")
    level = hydra_log.level
    hydra_log.setLevel(logging.CRITICAL)  # get_method logs its error before raising it: the caller says it once
    try:
        return get_method(target)
    finally:
        hydra_log.setLevel(level)


def build(spec: Mapping[str, Any], patterns: Sequence[str], **extra: Any) -> Any:
    """Call `spec["_target_"]` with the other keys (plain values) plus `extra`."""
    kwargs = {k: v for k, v in spec.items() if k not in ("_target_", "_partial_", "_recursive_", "_convert_")}
    target = str(spec.get("_target_", ""))
    factory = resolve(target, patterns)
    try:
        return factory(**kwargs, **extra)
    except TypeError as error:
        raise TargetError(f"{target} rejects its settings: {error}") from None


BUILTIN_REGULARIZERS = tuple(SCHEMAS)
"""The `_target_`s of excolor's own regularizers (always allowed)."""
PLUGINS_KEY = "plugins"


def _first_line(error: BaseException) -> str:
    """The error's type and first line; a first line that only introduces its cause (ends in `:`) with it."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    head = " ".join(lines[:2]) if lines[0].endswith(":") and len(lines) > 1 else lines[0]
    return f"{type(error).__name__}: {head}"


def _refuse(key: str, target: str, plugins: Sequence[str], why: str) -> ConfigError:
    return ConfigError(f"{key}={target!r} {why}; a class or function of your own package must be importable "
                       f"(on PYTHONPATH or installed) and allowed by {PLUGINS_KEY}=[...] (now {list(plugins)}), "
                       f"e.g. {PLUGINS_KEY}=[{target.rpartition('.')[0] or target}.*]")


def regularizer_schema(target: str, plugins: Sequence[str], key: str) -> type[RegularizerConfig]:
    """The schema (`Config` dataclass) of the regularizer class `target` names, built-in or plug-in."""
    if target in SCHEMAS:
        return SCHEMAS[target]
    return regularizer_class(target, plugins, key).Config


def regularizer_class(target: str, plugins: Sequence[str], key: str) -> type[Regularizer]:
    """The class `target` names, once the allow-list admits it and it is a Regularizer with a Config."""
    try:
        found = resolve(target, [*BUILTIN_REGULARIZERS, *plugins])
    except TargetError:
        raise _refuse(key, target, plugins, "is not allowed") from None
    except Exception as error:  # ImportError, AttributeError, ... from the user's package
        raise _refuse(key, target, plugins, f"cannot be imported ({_first_line(error)})") from None
    if not (isinstance(found, type) and issubclass(found, Regularizer)):
        raise ConfigError(f"{key}={target!r} is not a regularizer class: it must subclass "
                          "excolor.core.regularizers.Regularizer")
    config = getattr(found, "Config", None)
    if not (dataclasses.is_dataclass(config) and issubclass(config, RegularizerConfig)):
        raise ConfigError(f"{key}={target!r} has no Config schema: give the class a `Config` dataclass that "
                          "subclasses excolor.core.regularizers.RegularizerConfig")
    return found


def built_regularizer(settings: RegularizerConfig, context: Context, plugins: Sequence[str],
                      key: str) -> Regularizer:
    """The regularizer `settings` describe, built and tried on a small batch of latents: it must give one
    finite loss per sample."""
    cls = regularizer_class(settings._target_, plugins, f"{key}._target_")
    try:
        regularizer = cls(settings, context)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{key}: {error}") from None
    z = torch.nn.functional.normalize(torch.randn(2, 8, context.k_bottleneck, generator=torch.Generator()
                                                  .manual_seed(0)), dim=-1)
    try:
        loss = regularizer.per_sample(z)
    except Exception as error:  # a plug-in's own bug: name it before training
        raise ConfigError(f"{key}: {settings._target_}.per_sample failed on latents of shape "
                          f"{list(z.shape)} ({_first_line(error)})") from None
    if not isinstance(loss, torch.Tensor) or tuple(loss.shape) != (2, 8):
        shape = list(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ConfigError(f"{key}: {settings._target_}.per_sample must map latents [M,B,K] to losses [M,B]; "
                          f"given {list(z.shape)} it returned {shape}")
    if not bool(torch.isfinite(loss).all()):
        raise ConfigError(f"{key}: {settings._target_}.per_sample returned non-finite losses on unit latents")
    return regularizer


def check_source(spec: LabelSpec, plugins: Sequence[str], key: str) -> None:
    """A label source is a built-in feature or an allowed, importable function giving [N] scores."""
    source = str(spec.source)
    if is_builtin(source):
        return
    if "." not in source:
        raise ConfigError(f"{key}={source!r} is not a label source; built-in: likeness, {', '.join(SOURCES)}; "
                          "or a function of your own, package.module.function, allowed by plugins=[...]")
    if not allowed(source, plugins):
        raise _refuse(key, source, plugins, "is not allowed")
    colours = torch.rand(16, 3, generator=torch.Generator().manual_seed(0))
    try:
        scores = source_function(spec)(colours)
    except Exception as error:
        raise _refuse(key, source, plugins, f"cannot be imported or called ({_first_line(error)})") from None
    if not isinstance(scores, torch.Tensor) or tuple(scores.shape) != (16,):
        shape = list(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ConfigError(f"{key}={source!r} must map colours [N,3] to scores [N]; given [16, 3] it returned {shape}")


def as_list(plugins: Any) -> list[str]:
    return [str(p) for p in (plugins or [])]
