"""Early stopping: watch val_loss and stop after `patience` epochs without improvement."""

from .common import classification_study

STUDY = classification_study(
    "early-stopping",
    "Early stopping",
    "With noisy labels an MLP starts memorising; early stopping on a validation set stops near the best epoch and restores it.",
    val_fraction=0.2,
    patience=5,
    label_noise=0.2,
    hidden=256,
    epochs=100,
    lr=0.01,  # fast enough that the network memorises the wrong labels within the epochs, and validation turns up
    train_size=0.5,
    headline=("test_acc", "test_loss", "gap", "epochs_run"),
)
