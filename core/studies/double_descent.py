"""Double descent: random ReLU features on digits or MNIST, the test error against the number of features P.

A frozen random first layer makes P features; only the output layer learns: in closed form (optimizer=lstsq, the
minimum-norm least-squares fit, a ridge with l2 > 0) or by gradient steps (the frozen layer stays frozen in both
engines). As P passes the number of training examples n the model starts to interpolate them: the test error
peaks near P ≈ n and falls again beyond it (Belkin et al. 2019). model=mlp trains both layers, for the epoch-wise view.
"""

from __future__ import annotations

from ..i18n import N_, MessageError
from ..params import P, Param
from .base import DefaultSweep, Report, Study, train_config_from
from .common import LSTSQ_OPTIMIZER, check_lstsq, image_data, weight_summary

CRITERION = Param("criterion", "mse", "Loss minimised: mse = squared error to the one-hot targets (what least squares "
                  "fits), cross_entropy = the usual classification loss.", choices=("mse", "cross_entropy"))


def data(cfg):
    return image_data(cfg.dataset, cfg.seed, cfg.n_train, cfg.n_test)


def model(cfg, data, g):
    from ..models import mlp, random_features

    if cfg.model == "random_features":
        return random_features(data.n_inputs, data.n_classes, g, cfg.hidden)
    return mlp(data.n_inputs, data.n_classes, g, hidden=cfg.hidden, depth=1)


def train_config(cfg):
    return train_config_from(cfg, criterion=cfg.criterion)


def check(cfg) -> None:
    check_lstsq(cfg)
    if cfg.optimizer == "lstsq" and cfg.model != "random_features":
        raise MessageError(N_("model: lstsq fits the output layer of random features in closed form; train model=mlp with a "
                              "gradient optimizer (sgd, momentum, adam, adamw)"))
    if cfg.optimizer == "lstsq" and cfg.criterion != "mse":
        raise MessageError(N_("criterion: lstsq minimises the squared error (criterion=mse); choose a gradient optimizer "
                              "for cross_entropy"))


def report(cfg, model, data, result) -> Report:
    from ..models import count_params

    metrics, _ = weight_summary(model)  # trainable weights only: the output layer of random features
    return Report(metrics={"weight_norm": metrics["weight_norm"], "n_params": count_params(model)})


STUDY = Study(
    id="double-descent",
    title="Double descent: random features past the interpolation threshold",
    summary="Random ReLU features (a frozen random layer, only the output layer learns) on 200 digits: the test error "
            "peaks where the number of features P reaches the number of examples n, and falls again for P ≫ n.",
    params=(
        P.seed,
        P.dataset.replace(choices=("digits", "mnist"), help="Images: digits (8x8, offline) or mnist (28x28)."),
        P.model.replace(default="random_features", choices=("random_features", "mlp"),
                        help="random_features: a frozen random ReLU layer of `hidden` units and a trained output layer; "
                             "mlp: both layers trained."),
        P.hidden.replace(default=400, high=16384, help="Hidden units: the number of random features P (or the MLP's width)."),
        P.n_train.replace(default=200, high=60_000, help="Training images: a stratified subset of the data set's training set."),
        P.n_test.replace(default=2000, high=10_000, help="Test images used, at most (digits has 450 test images)."),
        P.label_noise,
        CRITERION,
        LSTSQ_OPTIMIZER.replace(default="lstsq"),
        P.l2.replace(help="L2 penalty λ/2·Σw² on the output weights: with lstsq this is ridge regression, which flattens "
                          "the peak at P ≈ n."),
        P.epochs.replace(default=1),
        P.lr.replace(default=0.01),
        P.batch_size.replace(default=50),
    ),
    data=data,
    model=model,
    train_config=train_config,
    report=report,
    check=check,
    headline=("test_loss", "test_acc", "train_loss", "weight_norm"),
    sweep=DefaultSweep(
        grid=("hidden=25:1600:13:log",),
        why="Random features from P = 25 (n/8) to 1600 (8n) on n = 200 digits, two values per octave with P = n among them, "
            "each fitted exactly (minimum-norm least squares): the test error peaks at P = n and falls on both sides.",
    ),
)
