"""High-dimensional linear regression (200 inputs, 20 examples): L2, L1, p-norm penalties and weight decay."""

from __future__ import annotations

from ..params import P
from .base import DefaultSweep, Report, Study, train_config_from
from .common import weight_summary


def data(cfg):
    from ..data import generator, high_dim_linear

    return high_dim_linear(cfg.n_train, cfg.n_test, cfg.n_features, cfg.noise, generator(cfg.seed, "data"))


def model(cfg, data, g):
    from ..models import linear_regression

    return linear_regression(data.n_inputs, g)


def report(cfg, model, data, result) -> Report:
    metrics, weights = weight_summary(model)
    return Report(metrics=metrics, frames={"weights": weights})


STUDY = Study(
    id="weight-decay",
    title="Weight decay and L1/L2 penalties",
    summary="y = 0.05 + Σ 0.01·x_i + noise with 200 inputs and only 20 examples: without a penalty the model memorises; L2 / weight decay shrink weights, L1 zeroes them.",
    params=(
        P.seed,
        P.weight_decay.replace(default=0.0),
        P.l1,
        P.l1_mode,
        P.l2,
        P.lp,
        P.p,
        P.decay_bias,
        P.n_features.replace(default=200),
        P.n_train.replace(default=20),
        P.n_test,
        P.noise.replace(default=0.01),
        P.epochs.replace(default=100),
        P.lr.replace(default=0.003),
        P.batch_size.replace(default=5),
        P.optimizer,
        P.val_fraction,
    ),
    data=data,
    model=model,
    train_config=train_config_from,
    report=report,
    headline=("test_loss", "train_loss", "gap", "weight_norm", "zero_weights"),  # L1's exact zeros are the story
    sweep=DefaultSweep(
        grid=("weight_decay=0.0001:100:13:log",),
        set=("n_train=50",),
        why="λ from 0.0001 (200 weights, 50 examples: nothing stops an exact fit) to 100 (every weight shrunk towards 0, "
            "so the model predicts the mean), two values per decade.",
    ),
)
