"""Polynomial regression on the textbook cubic (or scikit-learn's cos(1.5πx)): too low a degree underfits, too high
overfits. Trained by gradient steps, or fitted exactly in closed form (optimizer=lstsq, as scikit-learn's example)."""

from __future__ import annotations

from ..params import P, table_params
from .base import DefaultSweep, Report, Study, train_config_from
from .common import LSTSQ_OPTIMIZER, TARGET_FUNCTION, check_lstsq, least_squares, linear_weights

SHOWN_COEFS = 4  # coef_0..coef_3: the textbook cubic's four
GRID_POINTS = 601  # dense enough that a degree-20 fit's wiggles between the points show


def data(cfg):
    from ..data import generator, polynomial

    if cfg.dataset == "csv":
        return _table_data(cfg)
    return polynomial(cfg.n_train, cfg.n_test, cfg.degree, cfg.noise, generator(cfg.seed, "data"), cfg.function, cfg.x_range)


def _table_data(cfg):
    """A table of your own: its x and y columns (standardised by the training rows), features x^0..x^degree."""
    from ..data import DataBundle, Split, poly_features
    from ..data.upload import csv_bundle

    base = csv_bundle(cfg, "regression")
    raw_x = {"train": base.train.X, "test": base.test.X}
    train, test = (Split(poly_features(s.X, cfg.degree), s.y) for s in (base.train, base.test))
    return DataBundle(train, test, "regression", meta={**base.meta, "x": raw_x})


def model(cfg, data, g):
    from ..models import polynomial_regression

    return polynomial_regression(cfg.degree, g)


def _mse(X, y, w) -> float:
    return float(((X.double() @ w - y.double().reshape(-1, 1)) ** 2).mean()) if len(X) else float("nan")


def report(cfg, model, data, result) -> Report:
    """The least-squares optimum of this degree beside the trained model: losses now, coefficients and curves on demand."""
    if cfg.dataset == "csv":
        return _table_report(cfg, model, data)
    from ..data.synthetic import POLY_TRUE_COEF, poly_true_coef

    learned, _ = linear_weights(model)
    # gradient descent barely moves the tiny x^i/i! columns, so it is no guide to what degree d can fit:
    # the least-squares solution (in float64) is the best any degree-d polynomial does on these training points
    optimum = least_squares(data.train.X, data.train.y)
    true = poly_true_coef(max(cfg.degree, len(POLY_TRUE_COEF) - 1))
    n = min(len(learned), len(true))
    # a power above the degree is not in the model: its coefficient is 0
    metrics = {f"coef_{i}": float(learned[i]) if i < len(learned) else 0.0 for i in range(SHOWN_COEFS)}
    if cfg.function == "cubic":  # the distance to the true coefficients means something for the cubic only
        metrics["coef_error"] = float((learned[:n] - true[:n]).norm() + true[n:].norm() + learned[n:].norm())
    metrics["closed_form_train_loss"] = _mse(data.train.X, data.train.y, optimum)
    metrics["closed_form_test_loss"] = _mse(data.test.X, data.test.y, optimum)
    return Report(
        metrics=metrics,
        frames={"coefficients": lambda: _coefficients(learned, optimum, true), "curve": lambda: _curve(cfg, model, optimum),
                "points": lambda: _all_points(data, cfg.degree)},
    )


def _coefficients(learned, optimum, true):
    import pandas as pd

    pad = lambda w: [float(w[i]) if i < len(w) else 0.0 for i in range(len(true))]  # noqa: E731
    return pd.DataFrame({
        "power": list(range(len(true))), "true": true.tolist(), "learned": pad(learned), "closed form": pad(optimum[:, 0]),
    })


def _curve(cfg, model, optimum):
    import pandas as pd
    import torch

    from ..data import plot_range, poly_features, target
    from ..training import predict

    x = torch.linspace(*plot_range(cfg.x_range), GRID_POINTS, dtype=torch.float64).reshape(-1, 1)
    grid = x[:, 0].numpy()
    return pd.concat([
        pd.DataFrame({"x": grid, "y": predict(model, poly_features(x.float(), cfg.degree))[:, 0].double().numpy(), "curve": "trained"}),
        pd.DataFrame({"x": grid, "y": (poly_features(x, cfg.degree) @ optimum)[:, 0].numpy(), "curve": "closed form"}),
        pd.DataFrame({"x": grid, "y": target(cfg.function, x.float())[:, 0].double().numpy(), "curve": "true"}),
    ], ignore_index=True)


def _all_points(data, degree: int):
    import pandas as pd

    return pd.concat([_points(data, split, degree) for split in ("train", "test")], ignore_index=True)


def _points(data, split: str, degree: int):
    """x and y of one split; x is the x^1 feature (the raw draw when degree 0 has no such column)."""
    import pandas as pd

    s = getattr(data, split)
    raw = data.meta["x"][split][:, 0]
    x = s.X[:, 1] if degree >= 1 else raw if len(raw) == len(s) else None
    if x is None:  # degree 0 after a validation hold-out: which draws remain is not recorded
        return pd.DataFrame(columns=["x", "y", "split"])
    return pd.DataFrame({"x": x.numpy(), "y": s.y[:, 0].numpy(), "split": split})


def _table_report(cfg, model, data) -> Report:
    """A table's fit in the table's own units: the points of each split and the fitted curve over their range."""
    return Report(frames={"curve": lambda: _table_curve(cfg, model, data), "points": lambda: _table_points(data)})


def _units(data, x, y):
    """Standardised x and y back in the table's units."""
    meta = data.meta
    return x * meta["std"][0] + meta["mean"][0], y * meta["target_std"] + meta["target_mean"]


def _table_points(data):
    import pandas as pd

    parts = []
    for name in ("train", "test"):
        x, y = _units(data, data.meta["x"][name][:, 0].numpy(), getattr(data, name).y[:, 0].numpy())
        parts.append(pd.DataFrame({"x": x, "y": y, "split": name}))
    return pd.concat(parts, ignore_index=True)


def _table_curve(cfg, model, data):
    import pandas as pd
    import torch

    from ..data import poly_features
    from ..training import predict

    xs = torch.cat(list(data.meta["x"].values()))[:, 0]
    x = torch.linspace(float(xs.min()), float(xs.max()), 241).reshape(-1, 1)
    fx, fy = _units(data, x[:, 0].numpy(), predict(model, poly_features(x, cfg.degree))[:, 0].numpy())
    return pd.DataFrame({"x": fx, "y": fy, "curve": f"degree {cfg.degree} fit"})


def check(cfg) -> None:
    """The closed-form fit's rules, and a table of your own's columns."""
    from ..data.upload import check_config

    check_lstsq(cfg)
    check_config(cfg, 1, "target")


STUDY = Study(
    id="polynomial",
    title="Polynomial regression: under- and overfitting",
    summary="Fit y = 5 + 1.2x − 3.4x²/2! + 5.6x³/3! + noise with features x^0..x^degree, by gradient descent and in "
            "closed form (least squares): degree 3 fits, 1 underfits, 20 overfits few points; or scikit-learn's "
            "y = cos(1.5πx) + noise on x in [0, 1] (function=cos, x_range=0..1).",
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
        P.dataset.replace(default="cubic", choices=("cubic", "csv"), optional=True,
                          help="cubic: the textbook polynomial plus noise; csv: a table of your own (data_path, x, y)."),
        *table_params("dataset=csv: the x column.", "dataset=csv: the y column (the target)."),
    ),
    data=data,
    model=model,
    train_config=train_config_from,
    report=report,
    check=check,
    backfill=("function", "x_range"),  # runs stored before these existed fitted the cubic on x ~ N(0, 1)
    sweep=DefaultSweep(
        grid=("degree=1:15:15",),
        set=("n_train=20", "optimizer=adam", "lr=0.3", "batch_size=20", "epochs=500"),
        why="Every degree from 1 to 15 on only 20 training points: from too few features for the cubic to enough to "
            "fit the noise. Adam on full batches, because plain SGD barely moves the tiny x^i/i! columns of high degrees.",
    ),
)
