"""Polynomial regression on the textbook cubic (or scikit-learn's cos(1.5πx)): too low a degree underfits, too high
overfits. Trained by gradient steps, or fitted exactly in closed form (optimizer=lstsq, as scikit-learn's example)."""

from __future__ import annotations

from ..params import P
from .base import DefaultSweep, Report, Study, train_config_from
from .common import LSTSQ_OPTIMIZER, TARGET_FUNCTION, check_lstsq, linear_weights

SHOWN_COEFS = 4  # coef_0..coef_3: the textbook cubic's four


def data(cfg):
    from ..data import generator, polynomial

    return polynomial(cfg.n_train, cfg.n_test, cfg.degree, cfg.noise, generator(cfg.seed, "data"), cfg.function, cfg.x_range)


def model(cfg, data, g):
    from ..models import polynomial_regression

    return polynomial_regression(cfg.degree, g)


def report(cfg, model, data, result) -> Report:
    from ..data.synthetic import POLY_TRUE_COEF, poly_true_coef

    learned, _ = linear_weights(model)
    true = poly_true_coef(max(cfg.degree, len(POLY_TRUE_COEF) - 1))
    n = min(len(learned), len(true))
    # a power above the degree is not in the model: its coefficient is 0
    metrics = {f"coef_{i}": float(learned[i]) if i < len(learned) else 0.0 for i in range(SHOWN_COEFS)}
    if cfg.function == "cubic":  # the distance to the true coefficients means something for the cubic only
        metrics["coef_error"] = float((learned[:n] - true[:n]).norm() + true[n:].norm() + learned[n:].norm())
    return Report(
        metrics=metrics,
        frames={"coefficients": lambda: _coefficients(learned, true), "curve": lambda: _curve(cfg, model),
                "points": lambda: _points(data)},
    )


def _coefficients(learned, true):
    import pandas as pd

    return pd.DataFrame({
        "power": list(range(len(true))),
        "true": true.tolist(),
        "learned": [float(learned[i]) if i < len(learned) else 0.0 for i in range(len(true))],
    })


def _curve(cfg, model):
    import pandas as pd
    import torch

    from ..data import plot_range, poly_features, target
    from ..training import predict

    x = torch.linspace(*plot_range(cfg.x_range), 121).reshape(-1, 1)
    return pd.concat([
        pd.DataFrame({"x": x[:, 0].numpy(), "y": predict(model, poly_features(x, cfg.degree))[:, 0].numpy(), "curve": f"degree {cfg.degree} fit"}),
        pd.DataFrame({"x": x[:, 0].numpy(), "y": target(cfg.function, x)[:, 0].numpy(), "curve": f"true {cfg.function}"}),
    ])


def _points(data):
    import pandas as pd

    raw_x = data.meta["x"]
    points = pd.DataFrame(
        {"x": raw_x["train"][:, 0].numpy(), "y": data.train.y[:, 0].numpy(), "split": "train"}
    ) if len(raw_x["train"]) == len(data.train) else pd.DataFrame(columns=["x", "y", "split"])
    return pd.concat([points, pd.DataFrame({"x": raw_x["test"][:, 0].numpy(), "y": data.test.y[:, 0].numpy(), "split": "test"})])


STUDY = Study(
    id="polynomial",
    title="Polynomial regression: under- and overfitting",
    summary="Fit y = 5 + 1.2x − 3.4x²/2! + 5.6x³/3! + noise with features x^0..x^degree: degree 3 fits, 1 underfits, 20 "
            "overfits; or scikit-learn's y = cos(1.5πx) + noise on x in [0, 1] (function=cos, x_range=0..1).",
    params=(
        P.seed,
        TARGET_FUNCTION,
        P.x_range,
        P.degree,
        P.n_train,
        P.n_test,
        P.noise,
        P.epochs.replace(default=100),
        P.lr.replace(default=0.05),
        P.batch_size.replace(default=10),
        LSTSQ_OPTIMIZER,
        P.weight_decay,
        P.val_fraction,
    ),
    data=data,
    model=model,
    train_config=train_config_from,
    report=report,
    check=check_lstsq,
    backfill=("function", "x_range"),  # runs stored before these existed fitted the cubic on x ~ N(0, 1)
    sweep=DefaultSweep(
        grid=("degree=1:15:15",),
        set=("n_train=20", "optimizer=adam", "lr=0.3", "batch_size=20", "epochs=500"),
        why="Every degree from 1 to 15 on only 20 training points: from too few features for the cubic to enough to "
            "fit the noise. Adam on full batches, because plain SGD barely moves the tiny x^i/i! columns of high degrees.",
    ),
)
