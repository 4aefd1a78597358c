"""Synthetic regression data: linear, multivariate, polynomial, high-dimensional and 1-D functions.

Every generator takes a `torch.Generator`, so the same seed gives the same data.
"""

from __future__ import annotations

import math

import torch

from .bundle import DataBundle, Split

# The textbook polynomial: y = 5 + 1.2 x - 3.4 x^2/2! + 5.6 x^3/3! + noise (zeros up to degree 20).
POLY_TRUE_COEF = (5.0, 1.2, -3.4, 5.6)
POLY_MAX_DEGREE = 20


def _noise(n: int, std: float, g: torch.Generator) -> torch.Tensor:
    return torch.randn(n, 1, generator=g) * std


def linear(n_train: int, n_test: int, w: torch.Tensor, b: float, noise: float, g: torch.Generator) -> DataBundle:
    """y = X·w + b + noise with X ~ N(0, 1); univariate when w has one entry."""
    w = w.reshape(-1, 1).float()

    def draw(n: int) -> Split:
        X = torch.randn(n, w.shape[0], generator=g)
        return Split(X, X @ w + b + _noise(n, noise, g))

    return DataBundle(draw(n_train), draw(n_test), "regression", meta={"true_w": w.flatten().tolist(), "true_b": float(b)})


def poly_features(x: torch.Tensor, degree: int) -> torch.Tensor:
    """Columns x^i / i! for i = 0..degree (the factorial keeps high powers from exploding)."""
    x = x.reshape(-1, 1)
    powers = torch.arange(degree + 1, dtype=x.dtype)
    scale = torch.tensor([math.factorial(i) for i in range(degree + 1)], dtype=x.dtype)
    return x.pow(powers) / scale


def poly_true_coef(max_degree: int = POLY_MAX_DEGREE) -> torch.Tensor:
    """The textbook coefficients (5, 1.2, -3.4, 5.6) padded with zeros to `max_degree`."""
    coef = torch.zeros(max_degree + 1)
    coef[: len(POLY_TRUE_COEF)] = torch.tensor(POLY_TRUE_COEF)
    return coef


def polynomial(n_train: int, n_test: int, degree: int, noise: float, g: torch.Generator, function: str = "cubic",
               x_range: str = "normal") -> DataBundle:
    """The textbook setup: x ~ N(0, 1), features x^i/i! up to `degree`, true cubic plus noise; or another target
    (`function`, e.g. scikit-learn's cos(1.5πx)) on another x range (`x_range`, e.g. uniform on 0..1)."""
    coef = poly_true_coef()

    raw_x = {}

    def draw(name: str, n: int) -> Split:
        x = raw_x[name] = draw_x(n, x_range, g)
        y = target(function, x) + _noise(n, noise, g)
        return Split(poly_features(x, degree), y)

    train, test = draw("train", n_train), draw("test", n_test)
    # raw x is kept so pages can plot the fitted curve against x, whatever the degree
    return DataBundle(train, test, "regression", meta={"true_coef": coef.tolist(), "x": raw_x, "function": function,
                                                       "x_range": x_range})


def high_dim_linear(n_train: int, n_test: int, n_features: int, noise: float, g: torch.Generator) -> DataBundle:
    """The weight-decay setup: y = 0.05 + Σ 0.01·x_i + noise, with many more inputs than examples."""
    return linear(n_train, n_test, torch.full((n_features,), 0.01), 0.05, noise, g)


FUNCTIONS = {
    "sin": lambda x: torch.sin(x),
    "abs": lambda x: torch.abs(x),
    "step": lambda x: (x > 0).float(),
    # the textbook cubic, summed over all 21 columns as the polynomial data always was (the same float rounding)
    "cubic": lambda x: poly_features(x, POLY_MAX_DEGREE) @ poly_true_coef().reshape(-1, 1),
    "cos": lambda x: torch.cos(1.5 * math.pi * x),  # scikit-learn's underfitting/overfitting example
}
FUNCTION_TEXT = {"sin": "sin(x)", "abs": "|x|", "step": "step(x)", "cubic": "5 + 1.2x − 3.4x²/2! + 5.6x³/3!",
                 "cos": "cos(1.5πx)"}
# where x is drawn: N(0, 1) (d2l's polynomial), or uniform on an interval (scikit-learn's example: 0..1)
X_RANGES = {"normal": None, "0..1": (0.0, 1.0), "-1..1": (-1.0, 1.0), "-3..3": (-3.0, 3.0)}


def draw_x(n: int, x_range: str, g: torch.Generator) -> torch.Tensor:
    """n inputs [n, 1] from N(0, 1) ('normal') or uniform on the interval `x_range` names ('0..1', ...)."""
    if x_range not in X_RANGES:
        raise ValueError(f"x_range: {x_range!r} is not allowed; expected one of {'|'.join(X_RANGES)}")
    bounds = X_RANGES[x_range]
    if bounds is None:
        return torch.randn(n, 1, generator=g)
    low, high = bounds
    return low + (high - low) * torch.rand(n, 1, generator=g)


def plot_range(x_range: str) -> tuple[float, float]:
    """The x interval a chart of the fitted curve spans: ±3 standard deviations for 'normal', else the interval."""
    return X_RANGES.get(x_range) or (-3.0, 3.0)


def target(function: str, x: torch.Tensor) -> torch.Tensor:
    """The noise-free target values [n, 1] of a named function at x [n, 1]."""
    if function not in FUNCTIONS:
        raise ValueError(f"function: {function!r} is not allowed; expected one of {'|'.join(FUNCTIONS)}")
    return FUNCTIONS[function](x).reshape(-1, 1)


def function_1d(name: str, n_train: int, n_test: int, noise: float, g: torch.Generator, x_range: float = math.pi) -> DataBundle:
    """Samples of sin, |x| or a step on [-x_range, x_range] with Gaussian noise (for capacity studies)."""
    f = FUNCTIONS[name]

    def draw(n: int) -> Split:
        x = (torch.rand(n, 1, generator=g) * 2 - 1) * x_range
        return Split(x, f(x) + _noise(n, noise, g))

    return DataBundle(draw(n_train), draw(n_test), "regression", meta={"function": name, "x_range": x_range})
