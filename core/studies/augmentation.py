"""Data augmentation: random rotations, shifts and pixel noise on training images only."""

from .base import DefaultSweep
from .common import classification_study

STUDY = classification_study(
    "augmentation",
    "Data augmentation",
    "On a small training set (10% of digits), random rotations, shifts and pixel noise act as more data.",
    augment=True,
    train_size=0.1,
    hidden=128,
    epochs=60,
    sweep=DefaultSweep(
        grid=("train_size=0.05,0.1,0.2,0.5", "augment=false,true"),
        set=("hidden=256", "epochs=200"),
        why="Training sets from 5% to 50% of digits, each with and without augmentation; 200 epochs, because augmented "
            "images are harder to fit and need longer.",
    ),
)
