"""Learning curve: train and validation error against the number of training examples.

Every training-set size gets the same training budget in examples seen: `epochs` passes over the largest set,
proportionally more over smaller ones (a set 20× smaller gets 20× the epochs, up to the epochs limit). With a
fixed number of epochs instead, the smallest sets would get a handful of optimisation steps and stay unfitted,
and the curve would show too little training rather than too little data.
"""

from __future__ import annotations

import dataclasses

from ..params import P, Param
from .base import DefaultSweep
from .common import classification_study

N_SIZES = Param("n_sizes", 6, "Number of training-set sizes, log-spaced from 5% up to train_size (1 = just train_size).", 1, 20)
SMALLEST = 0.05
HISTORY_POINTS = 30  # evaluations kept per run's history


def training_sizes(train_size: float, n_sizes: int) -> list[float]:
    """The fractions of the training set a learning curve visits, smallest first."""
    import numpy as np

    if n_sizes == 1 or train_size <= SMALLEST:
        return [train_size]
    return sorted({round(float(f), 4) for f in np.geomspace(SMALLEST, train_size, n_sizes)})


def epochs_for(epochs: int, train_size: float, fraction: float) -> int:
    """Epochs for a training set of `fraction` so it sees as many examples as `epochs` passes over `train_size`."""
    return min(int(P.epochs.high), max(1, round(epochs * train_size / fraction)))


def expand(cfg):
    # each point is one run with its own train_size and epochs (and n_sizes=1), so any point can be re-run alone
    return [dataclasses.replace(cfg, train_size=f, n_sizes=1, epochs=epochs_for(cfg.epochs, cfg.train_size, f))
            for f in training_sizes(cfg.train_size, cfg.n_sizes)]


_base = classification_study(
    "learning-curve",
    "Learning curve",
    "Train the same model on growing subsets of the training set, each with the same budget of examples seen: the "
    "gap between train and validation error closes as data grows.",
    expand=expand,
    val_fraction=0.2,
    epochs=40,
    sweep=DefaultSweep(
        grid=("train_size=0.05,0.1,0.2,0.5,1",),
        set=("n_sizes=1",),
        why="One run per training-set size, from 5% of the training set to all of it (n_sizes=1: each point is one size).",
    ),
)
STUDY = dataclasses.replace(
    _base,
    # a set 20x smaller trains 20x the epochs: evaluated every k epochs, each size takes about as many loop steps,
    # so all sizes train as one stacked computation (the learning curve uses final metrics only)
    history_points=HISTORY_POINTS,
    params=tuple(p.replace(help="Passes over the largest training set; a smaller set gets proportionally more "
                                "(the same number of examples seen), up to 2000.") if p.name == "epochs" else p
                 for p in _base.params) + (N_SIZES,),
)
