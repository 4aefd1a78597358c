"""Bias–variance: many training sets drawn from one known target, a model fitted on each, the test error split up.

`resamples` training sets of n_train points are drawn from the same target (the textbook cubic or cos(1.5πx))
with fresh noise, and one model is fitted on each — all of them side by side in one run (an ensemble whose
members share nothing; `core.models.Ensemble`). At every test x, with f the true function, f_r member r's
prediction and f̄ their mean:

    E[(f_r(x) − y)²] = (f̄(x) − f(x))²  +  mean_r (f_r(x) − f̄(x))²  +  (y − f(x))²
      expected test MSE    bias²              variance                    noise (irreducible)

(the cross terms vanish on average), so bias2 + variance + irreducible matches the measured test_loss — the
mean over members and test points of the squared error — up to the noise of a finite test set; the run records
how far (decomposition_error). More capacity (degree, or width) lowers the bias and raises the variance.
"""

from __future__ import annotations

from ..i18n import N_, MessageError
from ..params import P, Param
from .base import DefaultSweep, Report, Study, train_config_from
from .common import TARGET_FUNCTION, check_lstsq

RESAMPLES = Param("resamples", 50, "Training sets drawn from the same target, one model fitted on each.", 2, 500, log=True)
FAN_POINTS = 100


def features(cfg, x):
    """What a member sees of inputs x [n, 1]: the polynomial features x^i/i!, or x itself for the MLP."""
    from ..data import poly_features

    return poly_features(x, cfg.degree) if cfg.model == "polynomial" else x


def data(cfg):
    import torch

    from ..data import DataBundle, Split, draw_x, generator, plot_range, target

    g = generator(cfg.seed, "resamples")
    xs = [draw_x(cfg.n_train, cfg.x_range, g) for _ in range(cfg.resamples)]
    X = torch.stack([features(cfg, x) for x in xs], dim=1)  # [n, R, features]: column r is training set r
    y = torch.cat([target(cfg.function, x) + torch.randn(cfg.n_train, 1, generator=g) * cfg.noise for x in xs], dim=1)
    gt = generator(cfg.seed, "test")
    x_test = draw_x(cfg.n_test, cfg.x_range, gt)
    f_test = target(cfg.function, x_test)
    y_test = f_test + torch.randn(cfg.n_test, 1, generator=gt) * cfg.noise
    F = features(cfg, x_test)
    test = Split(F.unsqueeze(1).expand(-1, cfg.resamples, -1), y_test.expand(-1, cfg.resamples))  # one test set for all
    grid = torch.linspace(*plot_range(cfg.x_range), FAN_POINTS).reshape(-1, 1)
    meta = {"x": xs, "f_test": f_test[:, 0], "y_test": y_test[:, 0], "grid": grid, "function": cfg.function}
    return DataBundle(Split(X, y), test, "regression", meta=meta)


def model(cfg, data, g):
    from ..models import Ensemble

    kind = "linear" if cfg.model == "polynomial" else "mlp"
    return Ensemble(cfg.resamples, data.train.X.shape[-1], g, kind, cfg.hidden, cfg.activation)


def check(cfg) -> None:
    check_lstsq(cfg)
    if cfg.optimizer == "lstsq" and cfg.model != "polynomial":
        raise MessageError(N_("model: lstsq fits polynomials in closed form; fit model=mlp with adam or adamw"))


def decompose(predictions, f, y) -> dict[str, float]:
    """bias², variance and the noise term from predictions [m, R] of R models at m test points, the true values f [m]
    and the noisy test targets y [m]; and the expected test MSE they add up to, measured directly."""
    p = predictions.double()
    mean = p.mean(1)
    return {
        "bias2": float(((mean - f.double()) ** 2).mean()),
        "variance": float(p.var(1, unbiased=False).mean()),
        "irreducible": float(((y.double() - f.double()) ** 2).mean()),
        "expected_mse": float(((p - y.double().unsqueeze(1)) ** 2).mean()),
    }


def report(cfg, model, data, result) -> Report:
    from ..training import predict

    terms = decompose(predict(model, data.test.X), data.meta["f_test"], data.meta["y_test"])
    measured = result.metrics["test_loss"]
    total = terms["bias2"] + terms["variance"] + terms["irreducible"]
    metrics = {k: terms[k] for k in ("bias2", "variance", "irreducible")}
    metrics["decomposition_error"] = abs(total - measured) / measured if measured > 0 else 0.0
    return Report(metrics=metrics, frames={"fan": lambda: _fan(cfg, model, data), "points": lambda: _points(data)})


def _fan(cfg, model, data):
    """The fitted curve of every resample on a grid, their mean and the true function (x, y, curve, member)."""
    import pandas as pd

    from ..data import target
    from ..training import predict

    grid = data.meta["grid"]
    preds = predict(model, features(cfg, grid).unsqueeze(1).expand(-1, cfg.resamples, -1))  # [G, R]
    x = grid[:, 0].numpy()
    parts = [pd.DataFrame({"x": x, "y": preds[:, r].numpy(), "curve": "resample", "member": r}) for r in range(cfg.resamples)]
    parts.append(pd.DataFrame({"x": x, "y": preds.mean(1).numpy(), "curve": "mean prediction", "member": -1}))
    parts.append(pd.DataFrame({"x": x, "y": target(cfg.function, grid)[:, 0].numpy(), "curve": "true function", "member": -2}))
    return pd.concat(parts, ignore_index=True)


def _points(data):
    """The first training set's points (the others look alike)."""
    import pandas as pd

    return pd.DataFrame({"x": data.meta["x"][0][:, 0].numpy(), "y": data.train.y[:, 0].numpy()})


STUDY = Study(
    id="bias-variance",
    title="Bias–variance: the test error split into bias², variance and noise",
    summary="Fit a polynomial (or an MLP) on 50 training sets of 30 noisy points of cos(1.5πx), scikit-learn's target: low "
            "degrees are biased, high degrees vary from set to set; bias² + variance + noise add up to the expected test MSE.",
    params=(
        P.seed,
        P.model.replace(default="polynomial", choices=("polynomial", "mlp"),
                        help="polynomial: a linear model on x^0..x^degree (capacity = degree); mlp: one hidden layer "
                             "(capacity = hidden)."),
        TARGET_FUNCTION.replace(default="cos"),
        P.x_range.replace(default="0..1"),
        P.degree,
        P.hidden.replace(default=16, high=1024),
        P.activation.replace(default="tanh"),
        RESAMPLES,
        P.n_train.replace(default=30, high=10_000, help="Training points in each resampled training set."),
        P.n_test.replace(default=500, high=10_000, help="Test points, the same for every model."),
        P.noise.replace(default=0.1),
        P.optimizer.replace(default="lstsq", choices=("lstsq", "adam", "adamw"),
                            help="lstsq: each polynomial fitted exactly in closed form (epochs=1); adam or adamw: gradient "
                                 "steps (the members' shared mean loss scales each gradient by 1/resamples, which Adam's "
                                 "steps do not depend on)."),
        P.l2.replace(help="L2 penalty λ/2·Σw² (with lstsq: ridge regression), which trades variance for bias."),
        P.epochs.replace(default=1),
        P.lr.replace(default=0.01),
        P.batch_size.replace(default=8192),
    ),
    data=data,
    model=model,
    train_config=train_config_from,
    report=report,
    check=check,
    headline=("test_loss", "bias2", "variance", "irreducible"),
    sweep=DefaultSweep(
        grid=("degree=1:10:10",),
        why="Polynomials of degree 1 to 10, each fitted on 50 training sets of 30 noisy points of cos(1.5πx): the bias² "
            "falls to almost nothing by degree 4 while the variance grows with every further coefficient.",
    ),
)
