"""Penalties on the weights, added to the loss: L1, L2 and a general p-norm; and L1's proximal step.

Written once for both engines: `penalty_term` and `soft_threshold_` take coefficients that are plain numbers
(one model, `core.engines.module`) or tensors that broadcast against the weights (one row per model,
`core.engines.stacked`). Which tensors are penalised and decayed is `core.models.penalised` (biases and
frozen parameters are left out unless asked).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Union

import torch

Coef = Union[float, torch.Tensor]


def _on(coef: Coef | None) -> bool:
    # a tensor coefficient is on: the stacked engine passes None for a term no model uses
    return coef is not None and (isinstance(coef, torch.Tensor) or coef != 0)


def penalty_term(w: torch.Tensor, l1: Coef | None = None, l2: Coef | None = None, lp: Coef | None = None,
                 p: Coef = 2.0) -> torch.Tensor | float:
    """λ1·Σ|w| + λ2/2·Σw² + λp/p·Σ|w|^p; each coefficient a number or a tensor broadcasting against w."""
    total: torch.Tensor | float = 0.0
    if _on(l1):
        total = total + (l1 * w.abs()).sum()
    if _on(l2):
        total = total + (l2 / 2 * (w * w)).sum()
    if _on(lp):
        # |w|^p is not differentiable at 0 for p <= 1; the tiny floor keeps the gradient finite
        total = total + (lp / p * w.abs().clamp_min(1e-12).pow(p)).sum()
    return total


@torch.no_grad()
def soft_threshold_(w: torch.Tensor, shrink: Coef) -> None:
    """In place w ← sign(w)·max(|w| − shrink, 0): L1's proximal step, which lands exactly on zero."""
    w.copy_(torch.sign(w) * (w.abs() - shrink).clamp_min(0.0))


@dataclass(frozen=True)
class Penalty:
    """λ1·Σ|w| + λ2/2·Σw² + λp/p·Σ|w|^p over the given weights."""

    l1: float = 0.0
    l2: float = 0.0
    lp: float = 0.0
    p: float = 2.0
    l1_mode: str = "loss"  # 'loss': L1 term in the loss (subgradient); 'proximal': soft-threshold after each step

    @property
    def active(self) -> bool:
        """Whether any term is added to the loss."""
        return (self.l1 > 0 and self.l1_mode == "loss") or self.l2 > 0 or self.lp > 0

    @property
    def proximal(self) -> bool:
        """Whether L1 acts as a soft-thresholding step after each optimizer step."""
        return self.l1 > 0 and self.l1_mode == "proximal"

    def __call__(self, weights: Sequence[torch.Tensor]) -> torch.Tensor | float:
        """The penalty term to add to the mean data loss."""
        l1 = self.l1 if self.l1_mode == "loss" else 0.0
        total: torch.Tensor | float = 0.0
        for w in weights:
            total = total + penalty_term(w, l1, self.l2, self.lp, self.p)
        return total

    def proximal_step(self, weights: Sequence[torch.Tensor], lr: float) -> None:
        """Soft-thresholding w ← sign(w)·max(|w| − lr·λ1, 0) of every weight (proximal mode only)."""
        if self.proximal:
            for w in weights:
                soft_threshold_(w, lr * self.l1)
