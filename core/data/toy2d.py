"""2-D classification sets with a noise level: moons, circles, xor, spiral, gaussians."""

from __future__ import annotations

import numpy as np
import torch

from .bundle import DataBundle, Split

TOY_DATASETS = ("moons", "circles", "xor", "spiral", "gaussians")


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1, 1, size=(n, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return X + rng.normal(0, noise, size=X.shape), y


def _spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, 2, size=n)
    t = rng.uniform(0.25, 1.0, size=n) * 3 * np.pi  # angle along the arm
    r = t / (3 * np.pi)
    angle = t + np.pi * y
    X = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    return X + rng.normal(0, noise * 0.5, size=X.shape), y.astype(np.int64)


def make_toy(name: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` points of the named 2-D set and their 0/1 labels; `noise` blurs the classes."""
    from sklearn.datasets import make_blobs, make_circles, make_moons  # imported when used: it takes a second

    rng = np.random.default_rng(seed)
    if name == "moons":
        X, y = make_moons(n, noise=noise, random_state=seed)
    elif name == "circles":
        X, y = make_circles(n, noise=noise, factor=0.5, random_state=seed)
    elif name == "xor":
        X, y = _xor(n, noise, rng)
    elif name == "spiral":
        X, y = _spiral(n, noise, rng)
    elif name == "gaussians":
        X, y = make_blobs(n, centers=[(-1.0, -1.0), (1.0, 1.0)], cluster_std=0.5 + 2 * noise, random_state=seed)
    else:
        raise ValueError(f"dataset: unknown 2-D set {name!r}; expected one of {'|'.join(TOY_DATASETS)}")
    return X.astype(np.float32), y.astype(np.int64)


def toy_bundle(name: str, n_train: int, n_test: int, noise: float, seed: int) -> DataBundle:
    """Train and test draws of a 2-D set (independent samples of the same distribution)."""
    X, y = make_toy(name, n_train + n_test, noise, seed)

    def split(a: int, b: int) -> Split:
        return Split(torch.from_numpy(X[a:b]), torch.from_numpy(y[a:b]))

    return DataBundle(split(0, n_train), split(n_train, n_train + n_test), "classification", n_classes=2, meta={"dataset": name})


def grid_2d(X: torch.Tensor, steps: int = 80, margin: float = 0.5) -> torch.Tensor:
    """A steps×steps grid of points covering X, for drawing decision boundaries."""
    lo = X.min(0).values - margin
    hi = X.max(0).values + margin
    xs = torch.linspace(float(lo[0]), float(hi[0]), steps)
    ys = torch.linspace(float(lo[1]), float(hi[1]), steps)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    return torch.stack([gx.flatten(), gy.flatten()], dim=1)
