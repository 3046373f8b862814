"""The LightningModule: loss = reconstruction + sum_i weight_i(step) * regularizer_i, per member.

It knows nothing about Hydra: it receives built objects and per-member schedule tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import torch
from torch import Tensor

from excolor.model import ColorMLP
from excolor.optim import MemberAdam
from excolor.regularizers import Regularizer


@dataclass
class MemberSchedules:
    """Per-member, per-step values: `lr` [M,S] and one weight table [M,S] per regularizer."""

    lr: Tensor
    weights: dict[str, Tensor]

    @property
    def n_steps(self) -> int:
        return self.lr.shape[1]

    def resized(self, n_steps: int) -> "MemberSchedules":
        """Cut to `n_steps` (trainer.max_steps stops early) or hold the last values beyond the sheet."""
        def fit(table: Tensor) -> Tensor:
            if n_steps <= table.shape[1]:
                return table[:, :n_steps]
            return torch.cat([table, table[:, -1:].expand(-1, n_steps - table.shape[1])], dim=1)
        return MemberSchedules(fit(self.lr), {name: fit(t) for name, t in self.weights.items()})


class ConceptDeletionModule(L.LightningModule):
    """Trains M stacked members at once; the summed loss keeps their gradients independent."""

    def __init__(self, model: ColorMLP, regularizers: dict[str, Regularizer], schedules: MemberSchedules,
                 label_names: list[str], history_every: int = 50) -> None:
        super().__init__()
        self.model = model
        self.regularizers = regularizers
        self.schedules = schedules
        self.label_names = label_names
        self.history_every = history_every
        members = model.members
        self.failed_step = torch.full((members,), -1, dtype=torch.long)
        self.failure_reason: list[str | None] = [None] * members
        self.history: list[dict[str, Tensor]] = []
        # Manual optimization: one zero_grad/backward/step per batch, without the closure machinery
        # of Lightning's automatic loop (measured: ~1 ms per step on two cores; profile_step.py).
        self.automatic_optimization = False

    def configure_optimizers(self) -> MemberAdam:
        return MemberAdam(self.model.parameters(), members=self.model.members)

    def member_losses(self, colors: Tensor, labels: Tensor, step: int) -> dict[str, Tensor]:
        """Every loss term per member [M], unweighted, plus the weighted `loss` total."""
        recon, activations = self.model(colors)
        terms = {"recon": ((recon - colors) ** 2).mean(dim=(1, 2))}
        label_dict = {name: labels[..., i] for i, name in enumerate(self.label_names)}
        total = terms["recon"].clone()
        for name, regularizer in self.regularizers.items():
            weight = self.schedules.weights[name][:, step]
            if not bool((weight > 0).any()):
                continue
            term = regularizer.batch_loss(activations[regularizer.layer], label_dict)
            terms[name] = term
            total = total + torch.where(weight > 0, weight * term, 0.0)
        terms["loss"] = total
        return terms

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor | None:
        colors, labels = batch
        step = self.global_step
        terms = self.member_losses(colors, labels, step)
        total = terms["loss"]
        self._record_failures(total, step)
        alive = self.failed_step < 0
        if not bool(alive.any()):
            self.trainer.should_stop = True
            return None
        if (step + 1) % self.history_every == 0 or step == self.schedules.n_steps - 1:
            self._log_terms(terms, step, alive)
        optimizer = self.optimizers()  # Lightning's wrapper: its step() advances global_step
        optimizer.optimizer.member_lr = self.schedules.lr[:, step]
        optimizer.zero_grad()
        self.manual_backward(torch.where(alive, total, 0.0).sum())
        optimizer.step()
        return None

    def _record_failures(self, total: Tensor, step: int) -> None:
        """A member whose loss turns non-finite is failed from that step on (its gradient is masked)."""
        newly = (~torch.isfinite(total.detach())) & (self.failed_step < 0)
        for member in newly.nonzero().flatten().tolist():
            self.failed_step[member] = step
            self.failure_reason[member] = f"loss became non-finite ({total[member].item()}) at step {step}"

    def _log_terms(self, terms: dict[str, Tensor], step: int, alive: Tensor) -> None:
        """Keep per-member history; send the mean over live members to the Lightning logger."""
        detached = {name: value.detach().clone() for name, value in terms.items()}
        detached["lr"] = self.schedules.lr[:, step].clone()
        self.history.append({"step": torch.tensor(step), **detached})
        for name, value in detached.items():
            self.log(f"train/{name}", value[alive].mean(), on_step=True, prog_bar=name == "loss")
