"""Adam with one learning rate per stacked member (the schedule sets it every step)."""

from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor


class MemberAdam(torch.optim.Optimizer):
    """torch.optim.Adam's update, element-wise, with `member_lr[m]` scaling member m's parameters.

    Every parameter has the member axis first. Nothing couples members: no global norms, no shared
    statistics, so member m trains exactly as it would alone. The update runs as a handful of
    multi-tensor (`torch._foreach_*`, the kernels behind torch.optim.Adam(foreach=True)) calls over
    all parameters at once: per step a few kernels instead of a dozen per parameter tensor.
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
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
            t = self.state[params[0]]["step"]  # every parameter steps together
            grads = [p.grad for p in params]
            exp_avg = [self.state[p]["exp_avg"] for p in params]
            exp_avg_sq = [self.state[p]["exp_avg_sq"] for p in params]
            torch._foreach_lerp_(exp_avg, grads, 1 - beta1)
            torch._foreach_mul_(exp_avg_sq, beta2)
            torch._foreach_addcmul_(exp_avg_sq, grads, grads, value=1 - beta2)
            denom = torch._foreach_div(exp_avg_sq, 1 - beta2**t)
            torch._foreach_sqrt_(denom)
            torch._foreach_add_(denom, group["eps"])
            step_size = self.member_lr / (1 - beta1**t)
            update = torch._foreach_mul(exp_avg, [step_size.view(-1, *([1] * (p.dim() - 1))) for p in params])
            torch._foreach_div_(update, denom)
            torch._foreach_sub_(params, update)
        return loss
