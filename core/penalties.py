"""Penalties on the weights, added to the loss: L1, L2 and a general p-norm; and L1's proximal step.

Biases are left out unless asked (see `core.models.weight_tensors`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


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
        return self.l1 > 0 or self.l2 > 0 or self.lp > 0

    def __call__(self, weights: list[torch.Tensor]) -> torch.Tensor | float:
        """The penalty term to add to the mean data loss."""
        total: torch.Tensor | float = 0.0
        for w in weights:
            if self.l1 > 0 and self.l1_mode == "loss":
                total = total + self.l1 * w.abs().sum()
            if self.l2 > 0:
                total = total + self.l2 / 2 * w.pow(2).sum()
            if self.lp > 0:
                # |w|^p is not differentiable at 0 for p <= 1; the tiny floor keeps the gradient finite
                total = total + self.lp / self.p * w.abs().clamp_min(1e-12).pow(self.p).sum()
        return total

    @torch.no_grad()
    def proximal_step(self, weights: list[torch.Tensor], lr: float) -> None:
        """Soft-thresholding w ← sign(w)·max(|w| − lr·λ1, 0): the step of L1 that lands exactly on zero."""
        if self.l1 > 0 and self.l1_mode == "proximal":
            shrink = lr * self.l1
            for w in weights:
                w.copy_(torch.sign(w) * (w.abs() - shrink).clamp_min(0.0))
