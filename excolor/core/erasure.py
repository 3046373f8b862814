"""Post-hoc concept erasure: leave training alone, then remove the concept from the latents the decoder reads.

- `leace`: LEAst-squares Concept Erasure (EleutherAI's `concept-erasure` package): the affine map with the
  least change to the latents after which no linear function of them predicts the concept's labels.
- `mean_difference`: project out the single direction between the mean latent of concept-labelled
  samples and that of the others (around the mean of all, so the latents stay where the decoder saw them).

Both are fitted per member on the latents of the samples the member trained on, with the labels it was
given (one column per pole of the concept: labelled with that pole or not), and applied with a
`strength` in [0, 1]: x - strength * (x - erased(x)) (1 erases fully).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

LEACE_SVD_TOL = 1e-8
"""The package's default (1e-2) is an absolute floor on the label/latent cross-covariance below which it
erases nothing, silently: sparse labels (0.07 % of samples for red) stay below it. Erase whatever is there."""


class ErasureError(ValueError):
    """An eraser that cannot be fitted on a member's samples; the message says why and what to change."""


@dataclass(frozen=True)
class Eraser:
    """x -> x - ((x - bias) @ right^T) @ left^T: the identity minus a rank-r affine correction (LEACE's form;
    mean_difference is r = 1 with left = right = the unit direction). Tensors only, so results pickle."""

    bias: Tensor  # [K]
    left: Tensor  # [K, r]
    right: Tensor  # [r, K]

    def __call__(self, latents: Tensor) -> Tensor:
        x = latents.double()
        return (x - ((x - self.bias) @ self.right.mH) @ self.left.mH).to(latents.dtype)


@dataclass(frozen=True)
class FitSet:
    """What erasers are fitted on: per member, the latents of its training samples [M, N, K] and their
    concept labels [M, N, P] (P poles, 0/1 or a probability)."""

    latents: Tensor
    labels: Tensor


def missing_dependency() -> str | None:
    """Why `leace` cannot run here (its package is not installed), or None."""
    try:
        import concept_erasure  # noqa: F401
    except ImportError:
        return "ablation=leace needs the concept-erasure package: pip install concept-erasure (pip install -e . " \
               "installs it with excolor)"
    return None


def _checked(fit: FitSet, member: int, what: str) -> tuple[Tensor, Tensor]:
    x, z = fit.latents[member].double(), fit.labels[member].double()
    if not bool(torch.isfinite(x).all()):
        raise ErasureError(f"{what}: member {member}'s latents are not all finite; the eraser cannot be fitted")
    positives = (z > 0).any(dim=-1)
    if not bool(positives.any()):
        raise ErasureError(f"{what}: none of member {member}'s {len(z):,} training samples is labelled with the "
                           "concept, so there is nothing to erase (raise labels.poles.scale, or choose labels "
                           "that mark the concept)")
    if bool(positives.all()):
        raise ErasureError(f"{what}: every training sample of member {member} is labelled with the concept, so "
                           "there is no contrast to erase")
    return x, z


def leace(fit: FitSet, member: int) -> Eraser:
    """The LEACE eraser of one member (fitted in float64; applied in the latents' dtype)."""
    from concept_erasure import LeaceEraser

    x, z = _checked(fit, member, "ablation=leace")
    try:
        fitted = LeaceEraser.fit(x, z, svd_tol=LEACE_SVD_TOL)
    except RuntimeError as error:  # torch.linalg's failures (e.g. eigh not converging)
        raise ErasureError(f"ablation=leace: the eraser of member {member} cannot be fitted ({error})") from None
    bias = fitted.bias if fitted.bias is not None else torch.zeros_like(x[0])
    return Eraser(bias, fitted.proj_left, fitted.proj_right)


def mean_difference(fit: FitSet, member: int) -> Eraser:
    """Project out the unit direction between the mean latent of labelled and unlabelled samples."""
    x, z = _checked(fit, member, "ablation=mean_difference")
    labelled = (z > 0).any(dim=-1)
    direction = x[labelled].mean(dim=0) - x[~labelled].mean(dim=0)
    norm = direction.norm()
    if not float(norm) > 0:
        raise ErasureError(f"ablation=mean_difference: member {member}'s labelled and unlabelled samples have the "
                           "same mean latent: there is no direction to remove")
    unit = direction / norm
    return Eraser(x.mean(dim=0), unit[:, None], unit[None, :])


ERASERS: dict[str, Callable[[FitSet, int], Eraser]] = {"leace": leace, "mean_difference": mean_difference}


def erase(latents: Tensor, erasers: list[Eraser | None], strength: float) -> Tensor:
    """latents [M, N, K] with member m's eraser applied at `strength` (1: fully erased); a member without
    an eraser (it could not be fitted: that seed fails with the reason) keeps its latents."""
    out = torch.stack([latents[m] if eraser is None else eraser(latents[m]) for m, eraser in enumerate(erasers)])
    return out if strength == 1.0 else latents + strength * (out - latents)
