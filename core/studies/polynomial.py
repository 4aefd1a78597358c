"""Polynomial regression on the textbook cubic: too low a degree underfits, too high overfits."""

from __future__ import annotations

from ..params import P, table_params
from .base import DefaultSweep, Report, Study, train_config_from
from .common import linear_weights


def data(cfg):
    from ..data import generator, polynomial

    if cfg.dataset == "csv":
        return _table_data(cfg)
    return polynomial(cfg.n_train, cfg.n_test, cfg.degree, cfg.noise, generator(cfg.seed, "data"))


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


def report(cfg, model, data, result) -> Report:
    if cfg.dataset == "csv":
        return _table_report(cfg, model, data)
    from ..data.synthetic import POLY_TRUE_COEF, poly_true_coef

    learned, _ = linear_weights(model)
    true = poly_true_coef(max(cfg.degree, len(POLY_TRUE_COEF) - 1))
    n = min(len(learned), len(true))
    return Report(
        metrics={"coef_error": float((learned[:n] - true[:n]).norm() + true[n:].norm() + learned[n:].norm())},
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

    from ..data import poly_features, poly_true_coef
    from ..training import predict

    x = torch.linspace(-3, 3, 121).reshape(-1, 1)
    return pd.concat([
        pd.DataFrame({"x": x[:, 0].numpy(), "y": predict(model, poly_features(x, cfg.degree))[:, 0].numpy(), "curve": f"degree {cfg.degree} fit"}),
        pd.DataFrame({"x": x[:, 0].numpy(), "y": (poly_features(x, 20) @ poly_true_coef()).numpy(), "curve": "true cubic"}),
    ])


def _points(data):
    import pandas as pd

    raw_x = data.meta["x"]
    points = pd.DataFrame(
        {"x": raw_x["train"][:, 0].numpy(), "y": data.train.y[:, 0].numpy(), "split": "train"}
    ) if len(raw_x["train"]) == len(data.train) else pd.DataFrame(columns=["x", "y", "split"])
    return pd.concat([points, pd.DataFrame({"x": raw_x["test"][:, 0].numpy(), "y": data.test.y[:, 0].numpy(), "split": "test"})])


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
    from ..data.upload import check_config

    check_config(cfg, 1, "target")


STUDY = Study(
    id="polynomial",
    title="Polynomial regression: under- and overfitting",
    summary="Fit y = 5 + 1.2x − 3.4x²/2! + 5.6x³/3! + noise with features x^0..x^degree: degree 3 fits, 1 underfits, 20 overfits.",
    params=(
        P.seed,
        P.degree,
        P.n_train,
        P.n_test,
        P.noise,
        P.epochs.replace(default=100),
        P.lr.replace(default=0.05),
        P.batch_size.replace(default=10),
        P.optimizer,
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
    sweep=DefaultSweep(
        grid=("degree=1:15:15",),
        set=("n_train=20", "optimizer=adam", "lr=0.3", "batch_size=20", "epochs=500"),
        why="Every degree from 1 to 15 on only 20 training points: from too few features for the cubic to enough to "
            "fit the noise. Adam on full batches, because plain SGD barely moves the tiny x^i/i! columns of high degrees.",
    ),
)
