"""Adam with one learning rate per stacked member (the schedule sets it every step)."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor


class MemberAdam(torch.optim.Optimizer):
    """torch.optim.Adam's update, element-wise, with `member_lr[m]` scaling member m's parameters.

    Every parameter has the member axis first. Nothing couples members: no global norms, no shared
    statistics, so member m trains exactly as it would alone.
    """

    def __init__(self, params: Iterable[Tensor], members: int, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        super().__init__(params, dict(betas=betas, eps=eps))
        self.member_lr = torch.zeros(members)

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.lerp_(p.grad, 1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                denom = (v / (1 - beta2**t)).sqrt_().add_(group["eps"])
                lr = self.member_lr.view(-1, *([1] * (p.dim() - 1)))
                p.sub_(lr / (1 - beta1**t) * m / denom)
        return loss
