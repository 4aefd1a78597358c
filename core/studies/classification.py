"""Classification: softmax regression or an MLP on digits, MNIST or a 2-D set."""

from .base import DefaultSweep
from .common import classification_study

STUDY = classification_study(
    "classification",
    "Softmax regression and MLP classification",
    "Train softmax regression or an MLP with cross-entropy; train/test loss and accuracy, confusion matrix, misclassified examples.",
    sweep=DefaultSweep(
        grid=("lr=0.0003,0.001,0.003,0.01,0.03,0.1",),
        why="Adam's learning rate from a decade below the default 0.003 to 30× above it, over the same 30 epochs.",
    ),
)
