"""Training: the LightningModule (loss = reconstruction + sum_i weight_i(step) * regularizer_i, per
member), the per-member schedule tables it reads, and the fit that drives it on one thread, with a
progress bar that counts steps and none of Lightning's banners.

It knows nothing about Hydra: it receives built objects and per-member schedule tables. Lightning's
start-up lines ("GPU available", "TPU available", its litlogger tip, "`Trainer.fit` stopped") are INFO
records of its rank-zero loggers; they say nothing about an excolor run (the accelerator is fixed by
`trainer.accelerator`), so a fit runs with those loggers at WARNING. Real warnings still show.
"""

from __future__ import annotations

import logging
import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import lightning as L
import torch
from lightning.fabric.utilities import rank_zero as fabric_rank_zero
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.utilities import rank_zero
from torch import Tensor

from excolor.core.data import ColorDataModule
from excolor.core.model import ColorMLP
from excolor.core.optim import MemberAdam
from excolor.core.regularizers import Regularizer


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


LIBRARY_NOISE = (
    # torch deprecates a class Lightning's own pytree helper still uses; nothing a user can change
    (FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated"),
    # excolor trains on the CPU on purpose (tiny kernels; conf/trainer/default.yaml)
    (UserWarning, r"GPU available but not used"),
)
"""(category, message regex) of library warnings that a fit hides; anything else still shows."""


@contextmanager
def quiet_fit() -> Iterator[None]:
    """Hide Lightning's banners and the known library warnings above during one fit; restore after."""
    banner_logs = [logging.getLogger(module.__name__) for module in (rank_zero, fabric_rank_zero)]
    levels = [log.level for log in banner_logs]
    for log in banner_logs:
        log.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            for category, message in LIBRARY_NOISE:
                warnings.filterwarnings("ignore", message=message, category=category)
            yield
    finally:
        for log, level in zip(banner_logs, levels):
            log.setLevel(level)


class StepProgressBar(TQDMProgressBar):
    """One bar over the run's optimisation steps with time left (a run is one pass, so no epoch number)."""

    BAR_FORMAT = "{desc} {n_fmt}/{total_fmt} steps |{bar}| {elapsed} elapsed, {remaining} left{postfix}"

    @property
    def train_description(self) -> str:
        return "training"

    def on_train_epoch_start(self, trainer: Any, *_: Any) -> None:
        total = self.total_train_batches
        if not math.isfinite(total):
            total = None
        if trainer.max_steps and trainer.max_steps > 0:  # the fit stops at max_steps
            total = min(total or trainer.max_steps, trainer.max_steps)
        self.train_progress_bar.reset(total=total)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread, then restore the caller's setting.

    Why: a step's kernels are tiny (64 samples x 16 units per member), so a second thread only adds
    synchronisation (and, on a busy machine, spinning that multiplies the wall time); and with one
    thread a weight gradient is summed in the same order whatever the number of stacked members,
    so a member trained in a stack is bit-identical to the same member trained alone.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def fit(members: ConceptDeletionModule, data: ColorDataModule, trainer_kwargs: dict[str, Any],
        logger: Any, progress: bool) -> None:
    """Lightning fit over all members for exactly the schedule's number of steps."""
    kwargs = dict(trainer_kwargs)
    kwargs.update(max_steps=members.schedules.n_steps, logger=logger if logger is not None else False,
                  enable_progress_bar=progress)
    if progress:
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), StepProgressBar()]
    with quiet_fit():
        trainer = L.Trainer(**kwargs)
        try:
            with one_thread():
                trainer.fit(members, datamodule=data)
        except SystemExit:  # Lightning turns Ctrl-C (and SIGTERM) into a graceful shutdown plus exit(1)
            if trainer.interrupted:
                raise KeyboardInterrupt from None
            raise
