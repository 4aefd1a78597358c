"""Univariate linear regression y = 2·x + 4.2 + noise: from scratch, with nn.Linear, and in closed form."""

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

TRUE_W, TRUE_B = 2.0, 4.2


def data(cfg):
    import torch

    from ..data import generator, linear

    return linear(cfg.n_train, cfg.n_test, torch.tensor([TRUE_W]), TRUE_B, cfg.noise, generator(cfg.seed, "data"))


def report(cfg, model, data, result) -> Report:
    w, b = linear_weights(model)
    cw, cb = closed_form(data.train.X, data.train.y)
    return Report(
        metrics={"w": float(w[0]), "b": b, "closed_form_w": float(cw[0]), "closed_form_b": cb},
        frames={"fit": lambda: _lines(data, w, b, cw, cb), "points": lambda: _points(data)},
    )


def _lines(data, w, b, cw, cb):
    import pandas as pd
    import torch

    x = torch.linspace(float(data.train.X.min()), float(data.train.X.max()), 50)
    return pd.concat([
        pd.DataFrame({"x": x.numpy(), "y": (w[0] * x + b).numpy(), "line": "trained"}),
        pd.DataFrame({"x": x.numpy(), "y": (cw[0] * x + cb).numpy(), "line": "closed form"}),
        pd.DataFrame({"x": x.numpy(), "y": (TRUE_W * x + TRUE_B).numpy(), "line": "true"}),
    ])


def _points(data):
    import pandas as pd

    return pd.concat([
        pd.DataFrame({"x": s.X[:, 0].numpy(), "y": s.y[:, 0].numpy(), "split": name}) for name, s in data.splits().items()
    ])


STUDY = Study(
    id="linear-regression",
    title="Univariate linear regression",
    summary="Fit y = w·x + b by gradient descent, from scratch (randn/zeros, requires_grad, manual step) or with nn.Linear, beside the closed form.",
    params=(
        P.seed,
        P.model.replace(default="scratch", choices=("scratch", "linear"), help="scratch: hand-written w, b and gradient step; linear: nn.Linear with a torch optimizer."),
        P.n_train,
        P.n_test,
        P.noise.replace(default=0.5),
        P.epochs.replace(default=20),
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
        grid=("lr=0.003,0.01,0.03,0.1,0.3,1",),
        why="Learning rates from a decade below the default 0.03 to 1, over the same 20 epochs.",
    ),
)
