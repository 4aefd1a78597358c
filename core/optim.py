"""The optimizers, written once for both engines: sgd, sgd with momentum, adam and adamw.

`step_` is torch.optim's single-tensor arithmetic (Adam's bias corrections, AdamW's decoupled decay
p ← p·(1 − lr·λ), L2-style weight decay g ← g + λ·p for the others), applied in place to one tensor. Its
coefficients are numbers (the module engine: one model, a weight decay per parameter group) or tensors that
broadcast against the parameters (the stacked engine: one row per model, a decay coefficient per element).

Why not torch.optim itself: constructing a torch optimizer imports torch._dynamo, which costs 1.5-3.5 s of
start-up on this machine for every CLI run and worker process; the arithmetic is a dozen lines.
"""

from __future__ import annotations

from typing import Any, Iterable, Union

import torch

KINDS = ("sgd", "momentum", "adam", "adamw")
BETA1, BETA2, EPS = 0.9, 0.999, 1e-8  # torch.optim.Adam/AdamW defaults
Coef = Union[float, torch.Tensor]


def _f32(x: Coef) -> Coef:
    return x.float() if isinstance(x, torch.Tensor) else x


def _sub_scaled_(p: torch.Tensor, t: torch.Tensor, c: Coef) -> None:
    """p ← p − c·t."""
    if isinstance(c, torch.Tensor):
        p.sub_(t * c)
    else:
        p.add_(t, alpha=-c)


@torch.no_grad()
def step_(kind: str, p: torch.Tensor, g: torch.Tensor, state: dict[str, Any], lr: Coef, weight_decay: Coef | None = None,
          momentum: float = 0.9) -> None:
    """One optimizer step on `p` with gradient `g`, in place; `state` keeps the step count and moment buffers."""
    decay = weight_decay is not None and (isinstance(weight_decay, torch.Tensor) or weight_decay != 0)
    if kind == "adamw":
        if decay:
            p.mul_(_f32(1 - lr * weight_decay))
    elif decay:
        g = g + weight_decay * p
    if kind == "sgd":
        _sub_scaled_(p, g, _f32(lr))
    elif kind == "momentum":
        buf = state.get("buf")
        if buf is None:
            state["buf"] = buf = g.clone()
        else:
            buf.mul_(momentum).add_(g)
        _sub_scaled_(p, buf, _f32(lr))
    elif kind in ("adam", "adamw"):
        if "exp_avg" not in state:
            state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(p), torch.zeros_like(p)
        state["step"] = state.get("step", 0) + 1
        step, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(g, 1 - BETA1)
        exp_avg_sq.mul_(BETA2).addcmul_(g, g, value=1 - BETA2)
        step_size = _f32(lr / (1 - BETA1**step))
        denom = (exp_avg_sq.sqrt() / _f32((1 - BETA2**step) ** 0.5)).add_(EPS)
        if isinstance(step_size, torch.Tensor):
            p.sub_(exp_avg / denom * step_size)
        else:
            p.addcdiv_(exp_avg, denom, value=-step_size)
    else:
        raise ValueError(f"optimizer: {kind!r} is not allowed; expected one of {'|'.join(KINDS)}")


class Optimizer:
    """sgd, momentum, adam or adamw over parameter groups, with the surface of a torch optimizer
    (`param_groups` with lr and weight_decay, `step()`, `zero_grad()`, `state_dict()`)."""

    def __init__(self, kind: str, groups: Iterable[dict[str, Any]], lr: float, momentum: float = 0.9):
        if kind not in KINDS:
            raise ValueError(f"optimizer: {kind!r} is not allowed; expected one of {'|'.join(KINDS)}")
        self.kind, self.momentum = kind, momentum
        self.param_groups = [{"params": list(g["params"]), "lr": g.get("lr", lr), "weight_decay": g.get("weight_decay", 0.0)}
                             for g in groups]
        self.state: dict[torch.Tensor, dict[str, Any]] = {}

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    step_(self.kind, p, p.grad, self.state.setdefault(p, {}), group["lr"], group["weight_decay"], self.momentum)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "param_groups": [{"lr": g["lr"], "weight_decay": g["weight_decay"]} for g in self.param_groups]}
