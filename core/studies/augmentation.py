"""Data augmentation: random transforms of the training images only (rotations on 8×8 digits; rotations, shifts
and pixel noise on 28×28 MNIST)."""

from .base import DefaultSweep
from .common import classification_study

STUDY = classification_study(
    "augmentation",
    "Data augmentation",
    "On a very small training set (2% of digits, 27 images), random rotations of up to ±15° act as more data and "
    "raise test accuracy; on MNIST, rotations, shifts and pixel noise.",
    augment=True,
    train_size=0.02,
    hidden=128,
    epochs=60,
    sweep=DefaultSweep(
        grid=("train_size=0.05,0.1,0.2,0.5", "augment=false,true"),
        set=("hidden=256", "epochs=200"),
        why="Training sets from 5% to 50% of digits, each with and without augmentation; 200 epochs, because augmented "
            "images are harder to fit and need longer.",
    ),
)
