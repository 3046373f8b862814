"""Concept deletion: ablate (zero) or prune (remove) latent dims at a named layer."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Optional

import torch

from excolor.core.model import LAYERS, ColorMLP


class AblationMethod(Enum):
    zero = "zero"
    prune = "prune"


@dataclass
class AblationConfig:
    """What to delete and how: `dims` null deletes the concept's dims, `[]` nothing (the `none` option).

    `layer` is `bottleneck` or `encoder`: both name the same K latent dims (after and before the
    normalisation), so both cut the same producer rows and consumer columns.
    """

    dims: Optional[list[int]] = None
    layer: str = "bottleneck"
    method: AblationMethod = AblationMethod.zero


def check_dims(dims: list[int], k_bottleneck: int, layer: str) -> None:
    """Fail with a message naming the bad value before any training starts."""
    if layer not in LAYERS:
        raise ValueError(f"ablation.layer={layer!r} is not an addressable layer; allowed: {list(LAYERS)}")
    bad = [d for d in dims if not 0 <= d < k_bottleneck]
    if bad:
        raise ValueError(
            f"ablation.dims={dims} has {bad} outside the bottleneck: model.k_bottleneck={k_bottleneck} "
            f"allows dims 0..{k_bottleneck - 1}"
        )
    if len(set(dims)) != len(dims):
        raise ValueError(f"ablation.dims={dims} lists a dim twice; give each dim once")
    if len(dims) >= k_bottleneck:
        raise ValueError(f"ablation.dims={dims} would delete every dim of a {k_bottleneck}-D bottleneck")


def ablate(model: ColorMLP, layer: str, dims: list[int]) -> ColorMLP:
    """Copy of `model` whose producer rows (and biases) and consumer columns for `dims` are zero."""
    check_dims(dims, model.config.k_bottleneck, layer)
    out = copy.deepcopy(model)
    with torch.no_grad():
        out.producer.weight[:, dims, :] = 0.0
        out.producer.bias[:, dims] = 0.0
        out.consumer.weight[:, :, dims] = 0.0
    return out


def prune(model: ColorMLP, layer: str, dims: list[int]) -> ColorMLP:
    """Copy of `model` with the `dims` rows/columns removed: the bottleneck shrinks to K - len(dims)."""
    check_dims(dims, model.config.k_bottleneck, layer)
    keep = [d for d in range(model.config.k_bottleneck) if d not in dims]
    out = copy.deepcopy(model)
    out.config = dataclasses.replace(model.config, k_bottleneck=len(keep))
    producer, consumer = out.producer, out.consumer
    producer.weight = torch.nn.Parameter(producer.weight.detach()[:, keep, :].clone())
    producer.bias = torch.nn.Parameter(producer.bias.detach()[:, keep].clone())
    consumer.weight = torch.nn.Parameter(consumer.weight.detach()[:, :, keep].clone())
    return out


def apply_ablation(model: ColorMLP, config: AblationConfig) -> ColorMLP:
    """The model a run evaluates after deletion (the intact model when `dims` is empty)."""
    if config.dims is None:
        raise ValueError("ablation.dims is null (the concept's dims): apply the concept to the config first")
    if not config.dims:
        return model
    surgery = ablate if config.method is AblationMethod.zero else prune
    return surgery(model, config.layer, list(config.dims))
