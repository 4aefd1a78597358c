"""Dropout: a wide MLP on a small training set, with and without dropping hidden units."""

from .base import DefaultSweep
from .common import classification_study

STUDY = classification_study(
    "dropout",
    "Dropout",
    "A wide two-layer MLP on 20% of digits overfits; dropout (inverted, rate p) narrows the train/test gap.",
    dropout=0.5,
    hidden=256,
    depth=2,
    train_size=0.2,
    epochs=60,
    sweep=DefaultSweep(
        grid=("dropout=0:0.9:10",),
        why="Dropout rates from 0 (every hidden unit kept) to 0.9 (nine in ten dropped at each step), in steps of 0.1.",
    ),
)
