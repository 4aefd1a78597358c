"""Every metric name a run can record, with its type and meaning: one name per idea.

Import checks columns against this list, charts take axis titles from it, and a test checks
that every study only reports metrics declared here. `better` says which way a metric improves
(summary tables mark the best value by it); `DERIVED` metrics are computed from a run's stored
ones, never stored, and `HEADLINE` is what a study shows by default when it declares nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    kind: type  # float, int or bool
    help: str
    better: str | None = None  # 'lower' or 'higher' is better; None: neither (a count, a learned value)


_METRICS = [
    Metric("train_loss", float, "Mean loss on the training set (MSE or cross-entropy), in eval mode after training.", better="lower"),
    Metric("val_loss", float, "Mean loss on the validation set (the held-out fold with K-fold).", better="lower"),
    Metric("test_loss", float, "Mean loss on the test set.", better="lower"),
    Metric("train_acc", float, "Accuracy on the training set.", better="higher"),
    Metric("val_acc", float, "Accuracy on the validation set.", better="higher"),
    Metric("test_acc", float, "Accuracy on the test set.", better="higher"),
    Metric("epochs_run", int, "Epochs actually trained (fewer than epochs after early stopping or divergence)."),
    Metric("stopped_early", bool, "Whether early stopping ended the run."),
    Metric("best_epoch", int, "Epoch with the lowest val_loss (early stopping)."),
    Metric("train_examples", int, "Training examples actually used (after subsampling and validation hold-out)."),
    Metric("duration_s", float, "Wall-clock seconds the run took.", better="lower"),
    Metric("w", float, "Learned slope (univariate regression)."),
    Metric("b", float, "Learned intercept (univariate regression)."),
    Metric("closed_form_w", float, "Least-squares slope from the normal equations."),
    Metric("closed_form_b", float, "Least-squares intercept from the normal equations."),
    Metric("weight_error", float, "Distance ‖w_learned − w_true‖.", better="lower"),
    Metric("bias_error", float, "|b_learned − b_true|.", better="lower"),
    Metric("coef_error", float, "Distance between learned and true polynomial coefficients.", better="lower"),
    Metric("weight_norm", float, "L2 norm of the weights (biases excluded)."),
    Metric("weight_l1", float, "L1 norm of the weights (biases excluded)."),
    Metric("zero_weights", int, "Weights that are exactly zero."),
    Metric("n_weights", int, "Number of weights (biases excluded)."),
    Metric("n_params", int, "Number of trainable parameters."),
    Metric("hidden_used", int, "Hidden width actually used (after matching a parameter budget)."),
    Metric("closed_form_train_loss", float, "Training MSE of the least-squares (closed-form) fit: the lowest the model class reaches.", better="lower"),
    Metric("closed_form_test_loss", float, "Test MSE of the least-squares (closed-form) fit.", better="lower"),
    Metric("coef_0", float, "Learned coefficient of x^0 (polynomial; the textbook cubic's is 5)."),
    Metric("coef_1", float, "Learned coefficient of x^1 (polynomial; the textbook cubic's is 1.2)."),
    Metric("coef_2", float, "Learned coefficient of x^2/2! (polynomial; the textbook cubic's is −3.4)."),
    Metric("coef_3", float, "Learned coefficient of x^3/3! (polynomial; the textbook cubic's is 5.6)."),
    Metric("epochs_to_fit", int, "First epoch whose training accuracy reached 99% (memorisation); no value when none did."),
    Metric("bias2", float, "Squared bias: mean over test x of (the mean prediction over resamples − the true f(x))².",
           better="lower"),
    Metric("variance", float, "Variance: mean over test x of the predictions' variance across resampled training sets.",
           better="lower"),
    Metric("irreducible", float, "Noise: mean over test x of (test target − true f(x))², the error no model removes (≈ noise²)."),
    Metric("decomposition_error", float, "|bias2 + variance + irreducible − test_loss| / test_loss: how far the three terms "
           "are from the measured expected test MSE (bias–variance).", better="lower"),
]

METRICS: dict[str, Metric] = {m.name: m for m in _METRICS}

# The train–test gap, named once: how much worse the model does on unseen data than on the data it fitted.
GAP = Metric("gap", float, "Train–test gap: test_loss − train_loss of the same run (both evaluated after training, "
             "same loss); above 0 the model fits its training set better than unseen data.", better="lower")
DERIVED: dict[str, Metric] = {GAP.name: GAP}

# What a summary shows when a study declares no headline of its own, by the study's task.
HEADLINE = {
    "regression": ("test_loss", "train_loss", "gap"),
    "classification": ("test_acc", "test_loss", "gap"),
}


def derive(runs):
    """The runs table (a DataFrame) with the derived metrics added as columns where their inputs exist."""
    out = runs.copy()
    if "train_loss" in out.columns and "test_loss" in out.columns:
        out[GAP.name] = out["test_loss"].astype(float) - out["train_loss"].astype(float)
    return out


def metric_info(name: str) -> Metric | None:
    """A stored or derived metric by name, or None."""
    return METRICS.get(name) or DERIVED.get(name)


def label(name: str) -> str:
    """A chart axis title for a metric or parameter name: 'test_loss' → 'test loss'."""
    return name.replace("_", " ")


def value_text(value, digits: int = 4) -> str:
    """A parameter's or metric's value as a chart or caption shows it: `digits` significant digits, true/false."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return str(bool(value)).lower()
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        return f"{float(value):.{digits}g}"
    return str(value)
