"""Pieces several studies share: closed-form least squares, weight summaries, classification data and models.

Declarations (parameters, defaults) need no torch; the functions import torch, pandas and the data and
model code when they run, so listing the studies stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..i18n import N_, MessageError, Msg
from ..params import P, Param, table_params

if TYPE_CHECKING:
    import pandas as pd
    import torch
    from torch import nn

    from ..data import DataBundle

IMAGE_DATASETS = ("digits", "mnist")
LSTSQ_OPTIMIZER = P.optimizer.replace(
    choices=(*P.optimizer.choices, "lstsq"),
    help="sgd, sgd with momentum 0.9, adam or adamw; lstsq fits the last layer exactly in closed form (least squares, "
         "minimum norm; with l2 it is ridge regression), so it takes epochs=1.")

TARGET_FUNCTION = P.function.replace(
    default="cubic", choices=("cubic", "cos"),
    help="Target: the textbook cubic 5 + 1.2x − 3.4x²/2! + 5.6x³/3!, or scikit-learn's cos(1.5πx).")


def check_lstsq(cfg) -> None:
    """The closed-form fit is exact in one epoch and has no optimizer to decay or to step: refuse what it cannot mean."""
    if cfg.optimizer != "lstsq":
        return
    if cfg.epochs != 1:
        raise MessageError(N_("epochs: {epochs} is not allowed with optimizer=lstsq, whose closed-form fit is exact in one "
                              "epoch; set epochs=1 (or choose a gradient optimizer)"), epochs=cfg.epochs)
    if getattr(cfg, "weight_decay", 0.0) > 0:
        raise MessageError(N_("weight_decay: the closed-form fit (optimizer=lstsq) has no optimizer to decay; use l2 for a "
                              "ridge penalty, or a gradient optimizer"))


def least_squares(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The least-squares solution of X·w ≈ y in float64 (minimum norm when X has more columns than rows).

    Columns such as x^20/20! are tiny beside x^0, which stalls gradient descent and would make an SVD treat them as
    zero: each column is scaled to unit norm for the solve (and the solution scaled back), so every degree counts.
    """
    import torch  # imported here, so that reading the study declarations does not load torch

    from ..solve import least_squares as solve

    X = X.double()
    scale = X.norm(dim=0).clamp_min(torch.finfo(torch.float64).tiny)
    return solve(X / scale, y.double().reshape(len(X), -1)) / scale.reshape(-1, 1)


def closed_form(X: torch.Tensor, y: torch.Tensor, bias: bool = True) -> tuple[torch.Tensor, float]:
    """Least-squares weights (and intercept) from the normal equations, via lstsq."""
    import torch

    A = torch.cat([X, torch.ones(len(X), 1)], dim=1) if bias else X
    sol = least_squares(A, y).float()
    return (sol[:-1, 0], float(sol[-1, 0])) if bias else (sol[:, 0], 0.0)


def linear_weights(model: nn.Module) -> tuple[torch.Tensor, float]:
    """(w, b) of a one-output linear model, scratch or nn.Linear."""
    from torch import nn

    from ..models import ScratchLinearRegression

    if isinstance(model, ScratchLinearRegression):
        return model.w.detach().flatten(), float(model.b.detach())
    layer = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    b = float(layer.bias.detach()) if layer.bias is not None else 0.0
    return layer.weight.detach().flatten(), b


def regression_model(cfg, n_features: int, g: torch.Generator) -> nn.Module:
    """The from-scratch or nn.Linear model, as `cfg.model` says."""
    from ..models import ScratchLinearRegression, linear_regression

    if cfg.model == "scratch":
        return ScratchLinearRegression(n_features, g)
    return linear_regression(n_features, g)


def regression_train_config(cfg):
    """Loop settings; the from-scratch model takes the hand-written step p -= lr * p.grad."""
    from .base import train_config_from

    return train_config_from(cfg, optimizer="manual" if cfg.model == "scratch" else cfg.optimizer)


def check_regression_optimizer(cfg) -> None:
    if cfg.model == "scratch" and cfg.optimizer != "sgd":
        raise MessageError(Msg(N_(
            "optimizer: {optimizer!r} is not available with model=scratch, which takes the hand-written "
            "gradient step (sgd); choose model=linear to use momentum, adam or adamw"), optimizer=cfg.optimizer))


def weight_summary(model: nn.Module, include_bias: bool = False) -> tuple[dict[str, float], Callable[[], pd.DataFrame]]:
    """Norms and exact-zero count of the weights, and a function making the DataFrame of every weight (for histograms)."""
    import torch

    from ..models import weight_tensors

    w = torch.cat([t.detach().flatten() for t in weight_tensors(model, include_bias)])
    metrics = {
        "weight_norm": float(w.norm()),
        "weight_l1": float(w.abs().sum()),
        "zero_weights": int((w == 0).sum()),
        "n_weights": int(w.numel()),
    }

    def frame() -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        return pd.DataFrame({"index": np.arange(w.numel()), "weight": w.numpy()})

    return metrics, frame


def image_data(dataset: str, seed: int, n_train: int, n_test: int) -> DataBundle:
    """Digits or MNIST cut to n_train training images (a stratified subset drawn with the seed) and at most n_test
    test images (a fixed stratified subset, the same for every seed when the test set is larger)."""
    from ..data import derive_seed, digits, mnist, take

    bundle = digits(seed=seed) if dataset == "digits" else mnist()
    train = take(bundle.train, n_train, derive_seed(seed, "n_train"), bundle.task)
    test = take(bundle.test, min(n_test, len(bundle.test)), derive_seed(0, "n_test"), bundle.task, "n_test")
    return bundle.with_splits(train=train, test=test)


# --- classification family -------------------------------------------------------------------

CLASSIFICATION_PARAMS: tuple[Param, ...] = (
    P.seed,
    P.dataset,
    P.n_classes,
    P.model,
    P.hidden,
    P.depth,
    P.activation,
    P.dropout,
    P.batch_norm,
    P.optimizer.replace(default="adam"),
    P.lr.replace(default=0.003),
    P.epochs.replace(default=30),
    P.batch_size.replace(default=64),
    P.weight_decay,
    P.l1,
    P.l2,
    P.train_size,
    P.val_fraction,
    P.label_noise,
    P.augment,
    P.patience,
    P.min_delta,
    P.restore_best,
    P.n_train.replace(default=400, help="Number of training points (2-D sets only)."),
    P.n_test.replace(default=400, help="Number of test points (2-D sets only)."),
    P.noise.replace(default=0.2, high=2.0, help="Noise of the 2-D sets (ignored for images)."),
    *table_params("dataset=csv: the two feature columns, comma-separated.",
                  "dataset=csv: the label column (2 to 10 classes; numbers or text)."),
)


def classification_params(**overrides) -> tuple[Param, ...]:
    """The classification parameters with some defaults changed, e.g. classification_params(dropout=0.5)."""
    out = []
    for p in CLASSIFICATION_PARAMS:
        out.append(p.replace(default=overrides.pop(p.name)) if p.name in overrides else p)
    if overrides:
        raise ValueError(f"unknown classification parameters: {', '.join(overrides)}")
    return tuple(out)


def classification_data(cfg) -> DataBundle:
    """Digits, MNIST, a 2-D set or a table of your own, as `cfg.dataset` says."""
    from ..data import digits, mnist, toy_bundle

    if cfg.dataset == "digits":
        return digits(seed=cfg.seed)
    if cfg.dataset == "mnist":
        return mnist()
    if cfg.dataset == "csv":
        from ..data.upload import csv_bundle

        return csv_bundle(cfg, "classification")
    return toy_bundle(cfg.dataset, cfg.n_train, cfg.n_test, cfg.noise, cfg.seed, cfg.n_classes)


def classification_model(cfg, data: DataBundle, g: torch.Generator) -> nn.Module:
    """Softmax regression or an MLP sized for the data."""
    from ..models import mlp, softmax_regression

    if cfg.model == "softmax":
        return softmax_regression(data.n_inputs, data.n_classes, g)
    return mlp(data.n_inputs, data.n_classes, g, hidden=cfg.hidden, depth=cfg.depth, activation=cfg.activation,
               dropout=cfg.dropout, batch_norm=cfg.batch_norm)


def check_classification(cfg) -> None:
    from ..data.toy2d import MULTICLASS
    from ..data.upload import check_config

    if cfg.n_classes != 2 and cfg.dataset not in MULTICLASS:
        raise MessageError(N_("n_classes: applies to {sets} (a CSV's come from its label column)") if cfg.dataset == "csv" else
                           N_("n_classes: applies to {sets} (dataset={dataset} has its own)"), sets=" and ".join(MULTICLASS),
                           dataset=cfg.dataset)
    check_config(cfg, 2, "label")
    if cfg.augment and cfg.dataset not in IMAGE_DATASETS:
        raise MessageError(Msg(N_("augment: image augmentation applies to digits and mnist, not dataset={dataset}"),
                               dataset=cfg.dataset))
    if cfg.model == "softmax" and (cfg.dropout > 0 or cfg.batch_norm):
        raise MessageError(Msg(N_("dropout: softmax regression has no hidden layer to drop or normalise; choose model=mlp")))
    if cfg.batch_norm and cfg.batch_size < 2:  # refused before training; a last batch of one is left out instead
        raise MessageError(Msg(N_("batch_size: 1 is not allowed with batch_norm=true; batch norm needs at least 2 examples per batch")))


def classification_train_config(cfg):
    """Loop settings: the shared ones plus image augmentation on training batches when asked (its transforms
    chosen for the image size: `core.data.augment_for`)."""
    from ..data import augment_for
    from .base import train_config_from

    return train_config_from(cfg, augment=augment_for(cfg.dataset) if cfg.augment else None)


def classification_report(cfg, model: nn.Module, data: DataBundle, result):
    """Weight norm and size; confusion matrix, misclassified test images and (2-D sets) the decision-boundary grid
    and the points, each made when asked for."""
    from .base import Report

    frames = {"confusion": lambda: _confusion(data, model), "misclassified": lambda: _misclassified(data, model)}
    if data.image_shape is None and data.n_inputs == 2:
        from ..boundary import points_frame

        frames["boundary"] = lambda: _boundary(data, model)
        frames["points"] = lambda: points_frame(data)
    metrics, frames["weights"] = weight_summary(model)
    return Report(metrics={"weight_norm": metrics["weight_norm"], "n_params": sum(p.numel() for p in model.parameters())}, frames=frames)


def _test_predictions(data: DataBundle, model: nn.Module):
    from ..training import predict

    logits = predict(model, data.test.X)
    return logits, logits.argmax(1).numpy(), data.test.y.numpy()


def _confusion(data: DataBundle, model: nn.Module) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    _, pred, true = _test_predictions(data, model)
    k = data.n_classes or int(max(true.max(), pred.max()) + 1)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (true, pred), 1)
    return pd.DataFrame([{"true": t, "predicted": p, "count": int(counts[t, p])} for t in range(k) for p in range(k)])


def _misclassified(data: DataBundle, model: nn.Module) -> pd.DataFrame:
    import numpy as np
    import pandas as pd
    import torch

    logits, pred, true = _test_predictions(data, model)
    wrong = np.flatnonzero(pred != true)[:24]
    probs = torch.softmax(logits, 1).numpy()
    return pd.DataFrame({"index": wrong, "true": true[wrong], "predicted": pred[wrong], "confidence": probs[wrong, pred[wrong]]})


def _boundary(data: DataBundle, model: nn.Module) -> pd.DataFrame:
    import torch

    from ..boundary import REPORT_STEPS, boundary_frame

    X = torch.cat([split.X for split in data.splits().values()])
    return boundary_frame(model, X, data.n_classes or 2, REPORT_STEPS)


def classification_study(id: str, title: str, summary: str, expand=None, headline: tuple[str, ...] = (), sweep=None,
                         **defaults):
    """A study of the classification family: the same parameters and pipeline, its own defaults (headline metrics, sweep)."""
    from .base import Study

    return Study(
        id=id,
        title=title,
        summary=summary,
        params=classification_params(**defaults),
        data=classification_data,
        model=classification_model,
        train_config=classification_train_config,
        report=classification_report,
        check=check_classification,
        expand=expand,
        headline=headline,
        sweep=sweep,
    )
