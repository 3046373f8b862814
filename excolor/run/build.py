"""Build an object from a config's `_target_` checked against an allow-list, with Hydra's public lookup.

Hydra's `instantiate` takes its allow-list through a keyword that changes between releases; looking
the target up with `hydra.utils.get_method` after our own check keeps one behaviour on every release.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from hydra.utils import get_method


class TargetError(ValueError):
    """A `_target_` outside the allow-list, or arguments the target rejects."""


def allowed(target: str, patterns: Sequence[str]) -> bool:
    """`patterns`: exact dotted names, or prefixes ending in `.*`."""
    return any(target == p or (p.endswith(".*") and target.startswith(p[:-1])) for p in patterns)


def resolve(target: str, patterns: Sequence[str]) -> Any:
    """The object a `_target_` path names, once the allow-list admits it."""
    if not allowed(target, patterns):
        raise TargetError(f"_target_={target!r} is not allowed here; allowed: {', '.join(patterns)}")
    return get_method(target)


def build(spec: Mapping[str, Any], patterns: Sequence[str], **extra: Any) -> Any:
    """Call `spec["_target_"]` with the other keys (plain values) plus `extra`."""
    kwargs = {k: v for k, v in spec.items() if k not in ("_target_", "_partial_", "_recursive_", "_convert_")}
    target = str(spec.get("_target_", ""))
    factory = resolve(target, patterns)
    try:
        return factory(**kwargs, **extra)
    except TypeError as error:
        raise TargetError(f"{target} rejects its settings: {error}") from None
