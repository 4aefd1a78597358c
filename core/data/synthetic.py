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


def polynomial(n_train: int, n_test: int, degree: int, noise: float, g: torch.Generator) -> DataBundle:
    """The textbook setup: x ~ N(0, 1), features x^i/i! up to `degree`, true cubic plus noise."""
    coef = poly_true_coef()

    raw_x = {}

    def draw(name: str, n: int) -> Split:
        x = raw_x[name] = torch.randn(n, 1, generator=g)
        y = poly_features(x, POLY_MAX_DEGREE) @ coef.reshape(-1, 1) + _noise(n, noise, g)
        return Split(poly_features(x, degree), y)

    train, test = draw("train", n_train), draw("test", n_test)
    # raw x is kept so pages can plot the fitted curve against x, whatever the degree
    return DataBundle(train, test, "regression", meta={"true_coef": coef.tolist(), "x": raw_x})


def high_dim_linear(n_train: int, n_test: int, n_features: int, noise: float, g: torch.Generator) -> DataBundle:
    """The weight-decay setup: y = 0.05 + Σ 0.01·x_i + noise, with many more inputs than examples."""
    return linear(n_train, n_test, torch.full((n_features,), 0.01), 0.05, noise, g)


FUNCTIONS = {
    "sin": lambda x: torch.sin(x),
    "abs": lambda x: torch.abs(x),
    "step": lambda x: (x > 0).float(),
}


def function_1d(name: str, n_train: int, n_test: int, noise: float, g: torch.Generator, x_range: float = math.pi) -> DataBundle:
    """Samples of sin, |x| or a step on [-x_range, x_range] with Gaussian noise (for capacity studies)."""
    f = FUNCTIONS[name]

    def draw(n: int) -> Split:
        x = (torch.rand(n, 1, generator=g) * 2 - 1) * x_range
        return Split(x, f(x) + _noise(n, noise, g))

    return DataBundle(draw(n_train), draw(n_test), "regression", meta={"function": name, "x_range": x_range})
