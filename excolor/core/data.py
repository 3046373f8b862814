"""Colour grids, samplers and the DataModule that feeds every member its own stream of batches.

All randomness is drawn up front from per-member generators, so a member's batches depend only on
its seed: a member trained alone or stacked with 159 others sees exactly the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import lightning as L
import torch
from omegaconf import MISSING
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from excolor.core import colors
from excolor.core.labels import LabelsConfig, draw_labels, hard_labels, label_probabilities

DATA_SEED_OFFSET = 0x5EED_DA7A
"""Data generators use seed ^ this, so data order and initialisation come from different streams."""


class GridKind(Enum):
    hsv = "hsv"
    rgb = "rgb"


class SamplerKind(Enum):
    """`weighted`: SPEC's HSV bias weights, with replacement; `uniform`: every colour alike."""

    weighted = "weighted"
    uniform = "uniform"


@dataclass
class DataConfig:
    """The colours a run trains on; grid and sampler come from the chosen `data/` option."""

    grid: GridKind = MISSING
    grid_shape: list[int] = MISSING
    sampler: SamplerKind = MISSING
    batch_size: int = 64


def check_data(config: DataConfig) -> None:
    """Sizes must be positive and match the grid kind."""
    expected = 3 if config.grid is GridKind.hsv else 1
    if len(config.grid_shape) != expected:
        raise ValueError(
            f"data.grid_shape={list(config.grid_shape)} must have {expected} entr{'ies' if expected > 1 else 'y'} "
            f"for data.grid={config.grid.value} ({'[hues, saturations, values]' if expected > 1 else '[n] for an n^3 cube'})"
        )
    if min(config.grid_shape) < 2:
        raise ValueError(f"data.grid_shape={list(config.grid_shape)}: every size must be >= 2")
    if config.batch_size < 2:
        raise ValueError(f"data.batch_size={config.batch_size} must be >= 2 (Separate compares samples within a batch)")
    if config.sampler is SamplerKind.weighted and config.grid is not GridKind.hsv:
        raise ValueError("data.sampler=weighted uses HSV bias weights: it needs data.grid=hsv (or use data.sampler=uniform)")


def training_grid(config: DataConfig) -> tuple[Tensor, Tensor | None]:
    """The RGB colours to sample from and, for the weighted sampler, their weights."""
    if config.grid is GridKind.rgb:
        return colors.rgb_grid(config.grid_shape[0]), None
    n_hue, n_sat, n_val = config.grid_shape
    hsv = colors.hsv_grid(n_hue, n_sat, n_val)
    weights = colors.hsv_bias(hsv, n_hue, n_sat) if config.sampler is SamplerKind.weighted else None
    return colors.hsv_to_rgb(hsv), weights


def sample_indices(n_colors: int, weights: Tensor | None, count: int, generator: torch.Generator) -> Tensor:
    """`count` grid indices drawn with replacement: by `weights`, or uniformly when None."""
    if weights is None:
        return torch.randint(n_colors, (count,), generator=generator)
    return torch.multinomial(weights, count, replacement=True, generator=generator)


class MemberBatches(Dataset):
    """Step s -> (colours [M,B,3], labels [M,B,L]) for all members, drawn in advance."""

    def __init__(self, grid_rgb: Tensor, indices: Tensor, labels: Tensor) -> None:
        self.grid_rgb, self.indices, self.labels = grid_rgb, indices, labels

    def __len__(self) -> int:
        return self.indices.shape[1]

    def __getitem__(self, step: int) -> tuple[Tensor, Tensor]:
        return self.grid_rgb[self.indices[:, step].long()], self.labels[:, step].float()


class ColorDataModule(L.LightningDataModule):
    """Training batches for M members; member m uses seeds[m] and labels[m]."""

    def __init__(self, config: DataConfig, labels: list[LabelsConfig], seeds: list[int], n_steps: int) -> None:
        super().__init__()
        self.config, self.labels, self.seeds, self.n_steps = config, labels, seeds, n_steps
        self.dataset: MemberBatches | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.dataset is not None:
            return
        grid_rgb, weights = training_grid(self.config)
        count = self.n_steps * self.config.batch_size
        all_indices, all_labels = [], []
        for seed, labels in zip(self.seeds, self.labels):
            generator = torch.Generator().manual_seed(seed ^ DATA_SEED_OFFSET)
            indices = sample_indices(len(grid_rgb), weights, count, generator)
            hard = hard_labels(labels)
            drawn = draw_labels(label_probabilities(grid_rgb, labels)[indices], hard, generator)
            shape = (self.n_steps, self.config.batch_size)
            all_indices.append(indices.to(torch.int32).view(shape))
            all_labels.append(drawn.to(torch.bool if all(hard) else torch.float16).view(*shape, -1))
        self.dataset = MemberBatches(grid_rgb, torch.stack(all_indices), torch.stack(all_labels))

    def train_dataloader(self) -> DataLoader:
        assert self.dataset is not None, "call setup() first"
        return DataLoader(self.dataset, batch_size=None, shuffle=False, num_workers=0)
