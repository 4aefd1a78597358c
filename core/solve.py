"""The closed-form fit (optimizer=lstsq): the exact least-squares solution for a model's trainable last layer.

A model whose only trainable parameters are the weights of its last linear layer — random features (a frozen
random first layer), a polynomial on fixed features, an ensemble of such models — is fitted exactly, not by steps:
the features Φ of the training inputs are computed once and the last layer's weights W solve

    minimise  mean over examples and outputs of (Φ·W − Y)²  +  l2/2 · ‖W‖²

(Y: the regression targets, or the one-hot targets of class labels). With l2 = 0 this is the minimum-norm
least-squares solution (every singular direction above float64 round-off is kept, so it interpolates once the
features outnumber the examples); with l2 > 0 it is ridge regression. Computed in float64 from one SVD:
W = V · diag(s / (s² + α)) · Uᵀ · Y with α = n·K·l2/2 (the penalty's weight against a mean over n·K terms).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def least_squares(features: torch.Tensor, targets: torch.Tensor, l2: float = 0.0) -> torch.Tensor:
    """W minimising mean((features·W − targets)²) + l2/2·‖W‖², in float64; batched over leading dimensions.

    features [..., n, P], targets [..., n, K] → W [..., P, K]; l2 = 0 gives the minimum-norm solution.
    """
    A, Y = features.double(), targets.double()
    n, k = A.shape[-2], Y.shape[-1]
    U, s, Vh = torch.linalg.svd(A, full_matrices=False)
    alpha = n * k * l2 / 2
    # singular values at round-off level carry no information: dropping them is what lstsq/pinv do too
    cutoff = s.amax(-1, keepdim=True) * torch.finfo(torch.float64).eps * max(A.shape[-2:])
    inverse = torch.where(s > cutoff, s / (s * s + alpha), torch.zeros_like(s))
    return Vh.transpose(-1, -2) @ (inverse.unsqueeze(-1) * (U.transpose(-1, -2) @ Y))


def targets_of(y: torch.Tensor, task: str, outputs: int) -> torch.Tensor:
    """What the outputs are fitted to: y itself for regression, the one-hot vectors of class labels."""
    return F.one_hot(y, outputs).double() if task == "classification" else y.double().reshape(len(y), -1)


@torch.no_grad()
def solve_(model: nn.Module, X: torch.Tensor, y: torch.Tensor, task: str, l2: float = 0.0) -> None:
    """Fit the model's last linear layer in closed form, in place; ValueError when the model has other trainable parts.

    A model may solve itself (`model.solve_(X, targets, l2)`, e.g. an ensemble of many models); otherwise it must
    be an nn.Sequential whose last layer is a Linear without bias and every earlier parameter frozen.
    """
    if hasattr(model, "solve_"):
        model.solve_(X, y, l2)
        return
    if not isinstance(model, nn.Sequential) or not isinstance(model[-1], nn.Linear) or model[-1].bias is not None:
        raise ValueError("optimizer: lstsq solves a last linear layer without bias in closed form; this model has none")
    head = model[-1]
    if any(p.requires_grad for layer in list(model)[:-1] for p in layer.parameters()):
        raise ValueError("optimizer: lstsq fits only the last layer, so every earlier layer must be frozen "
                         "(random features); train this model with a gradient optimizer")
    was_training = model.training
    model.eval()
    features = model[:-1](X)
    model.train(was_training)
    W = least_squares(features, targets_of(y, task, head.out_features), l2)
    head.weight.copy_(W.t().to(head.weight.dtype))
