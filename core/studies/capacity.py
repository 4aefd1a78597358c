"""Model capacity: fit sin, |x| or a step with an MLP; width against depth; universal approximation."""

from __future__ import annotations

from ..params import P, Param
from .base import DefaultSweep, Report, Study, train_config_from

BUDGET = Param("budget", 0, "Parameter budget: when > 0 the hidden width is chosen so the MLP has about this many parameters (compare depths at equal size).", 0, 100_000)


def width(cfg) -> int:
    """The hidden width used: `hidden`, or the one that meets `budget` at this depth."""
    from ..models import hidden_for_budget

    return hidden_for_budget(cfg.budget, cfg.depth) if cfg.budget > 0 else cfg.hidden


def data(cfg):
    from ..data import function_1d, generator

    return function_1d(cfg.function, cfg.n_train, cfg.n_test, cfg.noise, generator(cfg.seed, "data"))


def model(cfg, data, g):
    from ..models import mlp

    return mlp(1, 1, g, hidden=width(cfg), depth=cfg.depth, activation=cfg.activation)


def report(cfg, model, data, result) -> Report:
    from ..models import count_params

    return Report(metrics={"n_params": count_params(model), "hidden_used": width(cfg)},
                  frames={"curve": lambda: _curve(cfg, model, data), "points": lambda: _points(data)})


def _curve(cfg, model, data):
    import pandas as pd
    import torch

    from ..data import FUNCTIONS
    from ..training import predict

    r = data.meta["x_range"]
    x = torch.linspace(-r, r, 200).reshape(-1, 1)
    return pd.concat([
        pd.DataFrame({"x": x[:, 0].numpy(), "y": predict(model, x)[:, 0].numpy(), "curve": "network"}),
        pd.DataFrame({"x": x[:, 0].numpy(), "y": FUNCTIONS[cfg.function](x)[:, 0].numpy(), "curve": "target"}),
    ])


def _points(data):
    import pandas as pd

    return pd.DataFrame({"x": data.train.X[:, 0].numpy(), "y": data.train.y[:, 0].numpy()})


STUDY = Study(
    id="capacity",
    title="Capacity: width, depth and universal approximation",
    summary="An MLP fitting sin, |x| or a step: more hidden units approximate any continuous function; at an equal parameter budget, compare wide-shallow with narrow-deep.",
    params=(
        P.seed,
        P.function,
        P.hidden.replace(default=16),
        P.depth.replace(default=1, low=1),
        P.activation.replace(default="tanh"),
        BUDGET,
        P.n_train.replace(default=200),
        P.n_test.replace(default=200),
        P.noise.replace(default=0.05),
        P.epochs.replace(default=300),
        P.lr.replace(default=0.01),
        P.batch_size.replace(default=32),
        P.optimizer.replace(default="adam"),
        P.val_fraction,
    ),
    data=data,
    model=model,
    train_config=train_config_from,
    report=report,
    headline=("test_loss", "train_loss", "gap", "n_params"),
    sweep=DefaultSweep(
        grid=("hidden=1:64:7:log",),
        why="One hidden layer 1, 2, 4, … 64 units wide fitting sin: from too narrow to bend with it to wide enough.",
    ),
)
