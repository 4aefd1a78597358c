"""Early stopping: watch val_loss and stop after `patience` epochs without improvement."""

from .base import DefaultSweep
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
    sweep=DefaultSweep(
        grid=("patience=1,2,3,5,10,20,40",),
        set=("restore_best=false",),
        why="Patience from 1 to 40 epochs, each run keeping the weights of the epoch it stopped at (restore_best off): "
            "the later a run stops, the longer it has trained on the 20% wrong labels.",
    ),
)
