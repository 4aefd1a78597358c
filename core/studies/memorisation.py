"""Memorisation: an MLP fits training labels that carry no information (random classes, random pixels).

A fraction `random_labels` of the training labels is replaced by classes drawn uniformly at random, or every
training image by random pixels; test images and labels stay real. A large enough network still reaches 100%
training accuracy, while its test accuracy falls to chance: fitting the training set says nothing about
generalising (Zhang et al. 2017). `epochs_to_fit` records how long the fit took.
"""

from __future__ import annotations

import dataclasses

from ..params import Param
from .base import DefaultSweep, Report
from .common import classification_data, classification_report, classification_study

RANDOM_LABELS = Param("random_labels", 1.0, "Fraction of training labels replaced by a class drawn uniformly at random "
                      "(it may be the original one; label_noise instead always moves a label).", 0.0, 1.0)
RANDOM_PIXELS = Param("random_pixels", False, "Replace every training image by Gaussian noise with the images' mean and "
                      "std (test images stay real).")
FIT_ACC = 0.99  # training accuracy that counts as fitted (epochs_to_fit)


def data(cfg):
    from ..data import generator, random_labels, random_pixels

    bundle = classification_data(cfg)
    train = random_labels(bundle.train, cfg.random_labels, bundle.n_classes or 2, generator(cfg.seed, "random_labels"))
    if cfg.random_pixels:
        train = random_pixels(train, generator(cfg.seed, "random_pixels"))
    return bundle.with_splits(train=train)


def epochs_to_fit(log) -> int | None:
    """The first epoch whose training accuracy reached FIT_ACC, or None."""
    return next((int(rec["epoch"]) for rec in log if rec.get("train_acc", 0.0) >= FIT_ACC), None)


def report(cfg, model, data, result) -> Report:
    rep = classification_report(cfg, model, data, result)
    fitted = epochs_to_fit(result.log)
    if fitted is not None:  # never fitted: no value (a number here would claim a fit)
        rep.metrics["epochs_to_fit"] = fitted
    return rep


_base = classification_study(
    "memorisation",
    "Memorisation: fitting random labels",
    "An MLP reaches 100% training accuracy on digits whose labels were replaced by random classes, while its test "
    "accuracy stays at chance; the more labels are random, the longer the fit takes.",
    headline=("train_acc", "test_acc", "epochs_to_fit"),
    sweep=DefaultSweep(
        grid=("random_labels=0,0.25,0.5,0.75,1",),
        why="From real labels to all labels random, in quarters: the training accuracy reaches 100% every time, the "
            "test accuracy falls towards chance (10%), and epochs_to_fit grows.",
    ),
    hidden=512,
    train_size=0.2,
    batch_size=32,
    epochs=100,
)
STUDY = dataclasses.replace(_base, params=_base.params + (RANDOM_LABELS, RANDOM_PIXELS), data=data, report=report)
