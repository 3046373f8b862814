"""The bottlenecked colour MLP, stacked: M independent members trained as one module.

Every tensor carries a leading member axis M. A single run is M=1; replicas (seeds) and batched
Optuna trials are M>1. Members never interact: each has its own parameters, its own seed-derived
initialisation and (in the data module) its own data order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from omegaconf import MISSING
from torch import Tensor, nn

LAYERS = ("encoder", "bottleneck")
"""Addressable activations: `encoder` is the raw encoder output, `bottleneck` the unit-normalised one."""


@dataclass
class ModelConfig:
    """Shape of the autoencoder; K and N come from the chosen `model/` option (conf/model/k<K>_n<N>.yaml)."""

    k_bottleneck: int = MISSING
    n_hidden: int = MISSING
    width: int = 16


class StackedLinear(nn.Module):
    """M independent Linear layers applied as one batched matmul: x[M,B,in] -> y[M,B,out]."""

    def __init__(self, members: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(members, out_features, in_features))
        self.bias = nn.Parameter(torch.empty(members, out_features))

    def reset_member(self, member: int, generator: torch.Generator) -> None:
        """nn.Linear's default initialisation for one member, drawn from its own generator."""
        bound = 1.0 / math.sqrt(self.weight.shape[-1])
        with torch.no_grad():
            self.weight[member].uniform_(-bound, bound, generator=generator)
            self.bias[member].uniform_(-bound, bound, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))


def _mlp(members: int, sizes: list[int]) -> nn.Sequential:
    """Linear/GELU stack over `sizes`, with no activation after the last Linear."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(StackedLinear(members, n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.GELU())
    return nn.Sequential(*layers)


class ColorMLP(nn.Module):
    """RGB -> K-D unit-sphere bottleneck -> RGB, for M members at once."""

    def __init__(self, config: ModelConfig, seeds: list[int]) -> None:
        super().__init__()
        self.config = config
        self.members = len(seeds)
        k, w, n = config.k_bottleneck, config.width, config.n_hidden
        self.encoder = _mlp(self.members, [3] + [w] * n + [k])
        self.decoder = _mlp(self.members, [k] + [w] * n + [3])
        for member, seed in enumerate(seeds):
            generator = torch.Generator().manual_seed(seed)
            for layer in self.linears():
                layer.reset_member(member, generator)

    def linears(self) -> list[StackedLinear]:
        """All Linear layers in forward order (the initialisation order)."""
        return [m for m in (*self.encoder, *self.decoder) if isinstance(m, StackedLinear)]

    @property
    def producer(self) -> StackedLinear:
        """The Linear that writes the latent (last of the encoder)."""
        return self.encoder[-1]

    @property
    def consumer(self) -> StackedLinear:
        """The Linear that reads the latent (first of the decoder)."""
        return self.decoder[0]

    def _stack(self, x: Tensor) -> Tensor:
        """Accept [N,3] (shared by all members) or [M,B,3]."""
        return x.unsqueeze(0).expand(self.members, -1, -1) if x.dim() == 2 else x

    def forward(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Reconstruction [M,B,3] (unclamped, for training) and the addressable activations."""
        raw = self.encoder(self._stack(x))
        latent = nn.functional.normalize(raw, dim=-1)
        return self.decoder(latent), {"encoder": raw, "bottleneck": latent}

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Inference: reconstruction clamped to [0,1]."""
        return self(x)[0].clamp(0.0, 1.0)

    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        """The unit-normalised latents [M,N,K]."""
        return self(x)[1]["bottleneck"]

    def member(self, index: int) -> "ColorMLP":
        """A one-member copy of member `index` (for saving or evaluating one trial alone)."""
        single = ColorMLP(self.config, [0])
        with torch.no_grad():
            for mine, theirs in zip(single.linears(), self.linears()):
                mine.weight.copy_(theirs.weight[index : index + 1])
                mine.bias.copy_(theirs.bias[index : index + 1])
        return single
