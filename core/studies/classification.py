"""Classification: softmax regression or an MLP on digits, MNIST or a 2-D set."""

from .common import classification_study

STUDY = classification_study(
    "classification",
    "Softmax regression and MLP classification",
    "Train softmax regression or an MLP with cross-entropy; train/test loss and accuracy, confusion matrix, misclassified examples.",
)
