"""Every metric name a run can record, with its type and meaning: one name per idea.

Import checks columns against this list, charts take axis titles from it, and a test checks
that every study only reports metrics declared here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    kind: type  # float, int or bool
    help: str


_METRICS = [
    Metric("train_loss", float, "Mean loss on the training set (MSE or cross-entropy), in eval mode after training."),
    Metric("val_loss", float, "Mean loss on the validation set (the held-out fold with K-fold)."),
    Metric("test_loss", float, "Mean loss on the test set."),
    Metric("train_acc", float, "Accuracy on the training set."),
    Metric("val_acc", float, "Accuracy on the validation set."),
    Metric("test_acc", float, "Accuracy on the test set."),
    Metric("epochs_run", int, "Epochs actually trained (fewer than epochs after early stopping or divergence)."),
    Metric("stopped_early", bool, "Whether early stopping ended the run."),
    Metric("best_epoch", int, "Epoch with the lowest val_loss (early stopping)."),
    Metric("train_examples", int, "Training examples actually used (after subsampling and validation hold-out)."),
    Metric("duration_s", float, "Wall-clock seconds the run took."),
    Metric("w", float, "Learned slope (univariate regression)."),
    Metric("b", float, "Learned intercept (univariate regression)."),
    Metric("closed_form_w", float, "Least-squares slope from the normal equations."),
    Metric("closed_form_b", float, "Least-squares intercept from the normal equations."),
    Metric("weight_error", float, "Distance ‖w_learned − w_true‖."),
    Metric("bias_error", float, "|b_learned − b_true|."),
    Metric("coef_error", float, "Distance between learned and true polynomial coefficients."),
    Metric("weight_norm", float, "L2 norm of the weights (biases excluded)."),
    Metric("weight_l1", float, "L1 norm of the weights (biases excluded)."),
    Metric("zero_weights", int, "Weights that are exactly zero."),
    Metric("n_weights", int, "Number of weights (biases excluded)."),
    Metric("n_params", int, "Number of trainable parameters."),
    Metric("hidden_used", int, "Hidden width actually used (after matching a parameter budget)."),
    Metric("closed_form_train_loss", float, "Training MSE of the least-squares (closed-form) fit: the lowest the model class reaches."),
    Metric("closed_form_test_loss", float, "Test MSE of the least-squares (closed-form) fit."),
]

METRICS: dict[str, Metric] = {m.name: m for m in _METRICS}


def label(name: str) -> str:
    """A chart axis title for a metric or parameter name: 'test_loss' → 'test loss'."""
    return name.replace("_", " ")
