"""Regularization helpers: penalty methods by name, and inverted against classic dropout in expectation.

`penalty_values(method, strength)` turns "L1 penalty (proximal)" and a λ into the weight-decay study's
parameters, so pages and tests sweep every method the same way.

`compare_dropout_schemes` checks numerically what the textbooks state. A unit is kept with
probability q = 1 − p (p is PyTorch's drop probability):

- inverted dropout (PyTorch): while training, kept units are scaled by 1/q; at test time nothing changes;
- classic dropout (the original paper): while training, kept units are not scaled; at test time the
  outgoing weights (equivalently the activations) are multiplied by q.

For the linear layer right after dropout, the mean of the training-time output over masks equals that
scheme's test-time output exactly: E[W(m⊙x)/q] = Wx and E[W(m⊙x)] = qWx. The Monte Carlo average over
many sampled masks approaches it at the rate std/√n. After a further nonlinearity the match is only
approximate (the "weight scaling inference rule"), which the `after_relu` rows show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

# method label -> (parameter of the weight-decay study, extra fixed parameters)
PENALTY_METHODS: dict[str, tuple[str, dict]] = {
    "weight decay": ("weight_decay", {}),
    "L2 penalty": ("l2", {}),
    "L1 penalty (proximal)": ("l1", {"l1_mode": "proximal"}),
    "L1 penalty (subgradient)": ("l1", {"l1_mode": "loss"}),
}


def penalty_values(method: str, strength: float) -> dict:
    """The weight-decay study's parameters for one method at strength λ, e.g. {'l1': 0.1, 'l1_mode': 'proximal'}."""
    if method not in PENALTY_METHODS:
        raise ValueError(f"method: {method!r} is not allowed; expected one of {' | '.join(PENALTY_METHODS)}")
    name, extra = PENALTY_METHODS[method]
    return {name: float(strength), **extra}


def strength_grid(center: float, decades: int = 2, low: float = 1e-3, high: float = 100.0) -> list[float]:
    """Strengths center·10^k for k = −decades..decades that lie in [low, high]: a sweep around a chosen λ
    (which it contains, so that run is shared with the rest of the page)."""
    if not low <= center <= high:
        raise ValueError(f"strength: {center:g} is not allowed; expected a float in [{low:g}, {high:g}]")
    values = (float(f"{center * 10.0 ** k:.6g}") for k in range(-decades, decades + 1))
    return [v for v in values if low <= v <= high]


SCHEMES = ("inverted (PyTorch)", "classic")


@dataclass
class DropoutComparison:
    """Result of `compare_dropout_schemes`: a summary table and running means for a convergence chart."""

    summary: pd.DataFrame  # a row per stage × scheme × unit: mc_mean, test_output, difference, std_error, z
    running: pd.DataFrame  # a row per scheme × unit × n_masks: running_mean (linear stage only)
    p: float
    n_masks: int

    def max_abs_difference(self, stage: str = "linear") -> float:
        """Largest |Monte Carlo mean − test-time output| over units and schemes at one stage."""
        rows = self.summary[self.summary["stage"] == stage]
        return float(rows["difference"].abs().max())


def compare_dropout_schemes(p: float, n_masks: int = 20_000, *, n_in: int = 8, n_out: int = 3, seed: int = 0,
                            n_points: int = 40) -> DropoutComparison:
    """Average a small layer's training-time outputs over `n_masks` sampled dropout masks, for both schemes,
    and compare each average with that scheme's test-time output.

    The layer is y = W·(m⊙x) + b with x ≥ 0 (like ReLU activations) of `n_in` units and `n_out` outputs;
    the same masks m ~ Bernoulli(1 − p) are used for both schemes.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: {p} is not allowed; expected a float in [0, 1)")
    if not 1 <= n_masks <= 1_000_000:
        raise ValueError(f"n_masks: {n_masks} is not allowed; expected an int in [1, 1000000]")
    g = torch.Generator().manual_seed(seed)
    q = 1.0 - p
    x = torch.randn(n_in, generator=g, dtype=torch.float64).abs()
    W = torch.randn(n_out, n_in, generator=g, dtype=torch.float64) / math.sqrt(n_in)
    b = torch.randn(n_out, generator=g, dtype=torch.float64) * 0.1
    masks = (torch.rand(n_masks, n_in, generator=g, dtype=torch.float64) >= p).to(torch.float64)

    train = {
        SCHEMES[0]: (masks * x / q) @ W.T + b,  # inverted: scale the kept units up while training
        SCHEMES[1]: (masks * x) @ W.T + b,  # classic: no scaling while training
    }
    test = {
        SCHEMES[0]: W @ x + b,  # inverted: the test-time network is used as is
        SCHEMES[1]: (q * W) @ x + b,  # classic: multiply the weights by q at test time
    }
    rows = []
    for stage, f in (("linear", lambda t: t), ("after_relu", torch.relu)):
        for scheme in SCHEMES:
            out = f(train[scheme])
            mean, std = out.mean(0), out.std(0) if n_masks > 1 else torch.zeros(n_out, dtype=torch.float64)
            target = f(test[scheme])
            for unit in range(n_out):
                se = float(std[unit]) / math.sqrt(n_masks)
                diff = float(mean[unit] - target[unit])
                rows.append({
                    "stage": stage, "scheme": scheme, "unit": unit, "mc_mean": float(mean[unit]),
                    "test_output": float(target[unit]), "difference": diff, "std_error": se,
                    "z": diff / se if se > 0 else (0.0 if diff == 0 else math.inf),
                })
    summary = pd.DataFrame(rows)

    counts = np.unique(np.geomspace(1, n_masks, min(n_points, n_masks)).round().astype(int))
    running_rows = []
    for scheme in SCHEMES:
        cum = torch.cumsum(train[scheme], 0)
        for n in counts:
            means = cum[n - 1] / n
            for unit in range(n_out):
                running_rows.append({"scheme": scheme, "unit": unit, "n_masks": int(n), "running_mean": float(means[unit])})
    return DropoutComparison(summary, pd.DataFrame(running_rows), p, n_masks)


@dataclass
class DropoutFacts:
    """What dropout and eval() do to a trained network, measured on its training set (see `dropout_facts`)."""

    p: float  # drop probability of the network's dropout layers
    zeroed_units: float  # share of the non-zero hidden activations one train-mode pass set to zero
    zeroed_weights: int  # weights that pass left at exactly zero (that were not zero before)
    n_weights: int
    train_mode_loss: float  # training-set loss with dropout on (train mode)
    eval_mode_loss: float  # training-set loss with dropout off (eval mode)
    eval_changed: int  # weights that calling eval() changed
    step_changed: int  # weights one SGD step taken in eval mode changed


def dropout_facts(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, seed: int = 0) -> DropoutFacts:
    """Measure, on a copy of a trained classifier with dropout layers: the share of hidden activations a training
    pass zeroes (≈ p: dropout zeroes units, not weights), that eval() changes no weight, and that a gradient step
    taken in eval mode still changes them (eval() switches dropout off; it does not stop training)."""
    import copy

    import torch.nn.functional as F

    from .models import Dropout, weight_tensors

    net = copy.deepcopy(model)
    drops = [m for m in net.modules() if isinstance(m, Dropout)]
    if not drops:
        raise ValueError("dropout: the model has no dropout layer")
    g = torch.Generator().manual_seed(seed)
    seen = {"live": 0, "zeroed": 0}

    def count(module, inputs, output):
        live = inputs[0] != 0
        seen["live"] += int(live.sum())
        seen["zeroed"] += int((live & (output == 0)).sum())

    hooks = [d.register_forward_hook(count) for d in drops]
    for d in drops:
        d.generator = g
    weights = weight_tensors(net, include_bias=True)
    before = [w.detach().clone() for w in weights]
    net.train()
    with torch.no_grad():
        train_loss = float(F.cross_entropy(net(X), y))
    for h in hooks:
        h.remove()
    zeroed_weights = sum(int(((w == 0) & (b != 0)).sum()) for w, b in zip(weights, before))
    net.eval()
    eval_changed = sum(int((w != b).sum()) for w, b in zip(weights, before))
    loss = F.cross_entropy(net(X), y)
    eval_loss = float(loss.detach())
    loss.backward()
    with torch.no_grad():
        for w in weights:
            if w.grad is not None:
                w -= 0.1 * w.grad
    step_changed = sum(int((w != b).sum()) for w, b in zip(weights, before))
    return DropoutFacts(drops[0].p, seen["zeroed"] / max(1, seen["live"]), zeroed_weights,
                        sum(w.numel() for w in weights), train_loss, eval_loss, eval_changed, step_changed)
