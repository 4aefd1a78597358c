"""Multivariate linear regression y = X·w + b + noise: learned against true weights."""

from __future__ import annotations

from ..params import P
from .base import DefaultSweep, Report, Study
from .common import (
    check_regression_optimizer,
    closed_form,
    linear_weights,
    regression_model,
    regression_train_config,
)

TRUE_B = 4.2


def true_weights(n_features: int, seed: int):
    """The true weights: 2 and -3.4 (the textbook pair), then draws from N(0, 2²) for more features."""
    import torch

    from ..data import generator

    w = torch.randn(n_features, generator=generator(seed, "true_w")) * 2
    w[: min(2, n_features)] = torch.tensor([2.0, -3.4])[: min(2, n_features)]
    return w


def data(cfg):
    from ..data import generator, linear

    return linear(cfg.n_train, cfg.n_test, true_weights(cfg.n_features, cfg.seed), TRUE_B, cfg.noise, generator(cfg.seed, "data"))


def report(cfg, model, data, result) -> Report:
    import torch

    w, b = linear_weights(model)
    true = torch.tensor(data.meta["true_w"])
    return Report(metrics={"weight_error": float((w - true).norm()), "bias_error": abs(b - TRUE_B)},
                  frames={"weights": lambda: _weights(data, w, b, true)})


def _weights(data, w, b, true):
    import pandas as pd

    cw, cb = closed_form(data.train.X, data.train.y)
    return pd.DataFrame({
        "feature": [f"x{i + 1}" for i in range(len(w))] + ["bias"],
        "true": true.tolist() + [data.meta["true_b"]],
        "learned": w.tolist() + [b],
        "closed_form": cw.tolist() + [cb],
    })


STUDY = Study(
    id="multivariate-regression",
    title="Multivariate linear regression",
    summary="Recover several true weights and a bias from noisy data; compare learned, closed-form and true weights.",
    params=(
        P.seed,
        P.model.replace(default="linear", choices=("scratch", "linear"), help="scratch: hand-written w, b and gradient step; linear: nn.Linear with a torch optimizer."),
        P.n_features.replace(default=5, high=200),
        P.n_train.replace(default=1000),
        P.n_test,
        P.noise.replace(default=0.01),
        P.epochs.replace(default=10),
        P.lr.replace(default=0.03),
        P.batch_size.replace(default=10),
        P.optimizer,
        P.clear_grad,
        P.val_fraction,
    ),
    data=data,
    model=lambda cfg, d, g: regression_model(cfg, d.n_inputs, g),
    train_config=regression_train_config,
    report=report,
    check=check_regression_optimizer,
    sweep=DefaultSweep(
        grid=("lr=0.001,0.003,0.01,0.03,0.1,0.3",),
        why="Learning rates from 30× below the default 0.03 to 10× above it, over the same 10 epochs.",
    ),
)
