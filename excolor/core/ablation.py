"""Concept deletion, after training: zero or prune the concept's latent dims (what the trained-in recipes
do), or erase the concept post hoc from the latents (LEACE, mean difference: excolor/core/erasure.py)."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Optional

import torch
from torch import Tensor
from torch.nn import functional as F

from excolor.core.data import MemberBatches
from excolor.core.erasure import ERASERS as ERASER_FITS
from excolor.core.erasure import Eraser, ErasureError, FitSet, erase
from excolor.core.model import LAYERS, ColorMLP


class AblationMethod(Enum):
    zero = "zero"  # zero the producer rows (and biases) and consumer columns of `dims`
    prune = "prune"  # remove them: K shrinks, the reconstructions are the same as `zero`'s
    leace = "leace"  # post hoc: LEACE on the layer's latents, fitted on the training samples' concept labels
    mean_difference = "mean_difference"  # post hoc: project out the labelled-vs-other mean direction


ERASERS = (AblationMethod.leace, AblationMethod.mean_difference)
"""The post-hoc methods: they erase the concept's labels from the latents, whatever dims hold it."""


@dataclass
class AblationConfig:
    """What to delete and how: `dims` null deletes the concept's dims, `[]` nothing (the `none` option).

    `layer` is `bottleneck` or `encoder`: both name the same K latent dims (after and before the
    normalisation), so both cut the same producer rows and consumer columns; a post-hoc eraser is fitted
    on, and applied to, that layer's latents. `strength` in [0, 1] scales the deletion (zero: the dims'
    weights times 1 - strength; an eraser: x - strength * (x - erased(x))); prune deletes whole dims only.
    """

    dims: Optional[list[int]] = None
    layer: str = "bottleneck"
    method: AblationMethod = AblationMethod.zero
    strength: float = 1.0


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


def ablate(model: ColorMLP, layer: str, dims: list[int], strength: float = 1.0) -> ColorMLP:
    """Copy of `model` whose producer rows (and biases) and consumer columns for `dims` are zero (scaled by
    1 - strength when strength < 1)."""
    check_dims(dims, model.config.k_bottleneck, layer)
    out = copy.deepcopy(model)
    with torch.no_grad():
        if strength >= 1.0:  # exactly zero (not a product with 0, which keeps signs): the default
            out.producer.weight[:, dims, :] = 0.0
            out.producer.bias[:, dims] = 0.0
            out.consumer.weight[:, :, dims] = 0.0
        else:
            out.producer.weight[:, dims, :] *= 1.0 - strength
            out.producer.bias[:, dims] *= 1.0 - strength
            out.consumer.weight[:, :, dims] *= 1.0 - strength
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


class ErasedModel:
    """A trained model whose latents at `layer` pass through one post-hoc eraser per member: what evaluation
    and plots read (`reconstruct`, `encode`), as they read an ablated ColorMLP."""

    def __init__(self, model: ColorMLP, layer: str, erasers: list[Eraser | ErasureError], strength: float) -> None:
        self.model, self.layer, self.strength = model, layer, strength
        self.erasers = [e if isinstance(e, Eraser) else None for e in erasers]
        self.failures = [str(e) if isinstance(e, ErasureError) else None for e in erasers]
        """Per member, why its eraser could not be fitted (that member keeps its latents; its seed fails)."""

    def _latent(self, x: Tensor) -> Tensor:
        raw = self.model.encoder(self.model._stack(x))
        if self.layer == "encoder":
            return F.normalize(erase(raw, self.erasers, self.strength), dim=-1)
        return erase(F.normalize(raw, dim=-1), self.erasers, self.strength)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        return self.model.decoder(self._latent(x)).clamp(0.0, 1.0)

    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        return self._latent(x)

    def member(self, index: int) -> "ErasedModel":
        eraser = self.erasers[index]
        return ErasedModel(self.model.member(index), self.layer,
                           [eraser if eraser is not None else ErasureError(self.failures[index])], self.strength)


def fit_set(model: ColorMLP, layer: str, batches: MemberBatches, poles: int) -> FitSet:
    """What an eraser is fitted on: each member's `layer` latents of the samples it trained on, and their
    labels of the concept's `poles` (the first columns of the labels: excolor/run/concept.py)."""
    members, steps, batch = batches.indices.shape
    with torch.no_grad():
        grid_latents = model(batches.grid_rgb)[1][layer]  # [M, colours, K]: every sample is a grid colour
    index = batches.indices.long().reshape(members, steps * batch, 1)
    latents = torch.gather(grid_latents, 1, index.expand(-1, -1, grid_latents.shape[-1]))
    return FitSet(latents, batches.labels[..., :poles].reshape(members, steps * batch, poles).float())


def apply_ablation(model: ColorMLP, config: AblationConfig,
                   fit: FitSet | None = None) -> ColorMLP | ErasedModel:
    """The model a run evaluates after deletion (the intact model when `dims` is empty); a post-hoc method
    is fitted on `fit` (a member whose eraser cannot be fitted keeps its latents: `ErasedModel.failures`)."""
    if config.method in ERASERS:
        if fit is None:
            raise ValueError(f"ablation.method={config.method.value} is fitted on the training samples: pass them")
        return ErasedModel(model, config.layer, erasers_of(config, fit), config.strength)
    if config.dims is None:
        raise ValueError("ablation.dims is null (the concept's dims): apply the concept to the config first")
    if not config.dims:
        return model
    if config.method is AblationMethod.prune:
        return prune(model, config.layer, list(config.dims))
    return ablate(model, config.layer, list(config.dims), config.strength)


def erasers_of(config: AblationConfig, fit: FitSet) -> list[Eraser | ErasureError]:
    """Each member's eraser, or why it cannot be fitted on that member's samples."""
    out: list[Eraser | ErasureError] = []
    for member in range(fit.latents.shape[0]):
        try:
            out.append(ERASER_FITS[config.method.value](fit, member))
        except ErasureError as error:
            out.append(error)
    return out
