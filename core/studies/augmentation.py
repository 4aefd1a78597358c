"""Data augmentation: random rotations, shifts and pixel noise on training images only."""

from .common import classification_study

STUDY = classification_study(
    "augmentation",
    "Data augmentation",
    "On a small training set (10% of digits), random rotations, shifts and pixel noise act as more data.",
    augment=True,
    train_size=0.1,
    hidden=128,
    epochs=60,
)
