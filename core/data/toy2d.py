"""2-D classification sets with a noise level: moons, circles, xor, spiral (k arms), gaussians (k blobs)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from ..i18n import N_, MessageError
from .bundle import DataBundle, Split

TOY_DATASETS = ("moons", "circles", "xor", "spiral", "gaussians")
MULTICLASS = ("spiral", "gaussians")  # the sets drawn with any number of classes; the others have two
MAX_CLASSES = 5


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-1, 1, size=(n, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return X + rng.normal(0, noise, size=X.shape), y


def _spiral(n: int, noise: float, rng: np.random.Generator, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, k, size=n)
    t = rng.uniform(0.25, 1.0, size=n) * 3 * np.pi  # angle along the arm
    r = t / (3 * np.pi)
    angle = t + 2 * np.pi * y / k  # k arms, evenly turned (two: opposite)
    X = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    return X + rng.normal(0, noise * 0.5, size=X.shape), y.astype(np.int64)


def _centres(k: int) -> list[tuple[float, float]]:
    """k blob centres evenly on a circle of radius √2, the first at (-1, -1) (two: the diagonal pair)."""
    if k == 2:
        return [(-1.0, -1.0), (1.0, 1.0)]
    angles = 1.25 * np.pi + 2 * np.pi * np.arange(k) / k
    return [(float(np.sqrt(2) * np.cos(a)), float(np.sqrt(2) * np.sin(a))) for a in angles]


@lru_cache(maxsize=16)  # a sweep over training settings draws the same points for every config: draw them once
def make_toy(name: str, n: int, noise: float, seed: int, n_classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """`n` points of the named 2-D set and their labels 0..n_classes-1; `noise` blurs the classes.

    spiral and gaussians take 2 to MAX_CLASSES classes (arms, blobs); moons, circles and xor have two.
    """
    from sklearn.datasets import make_blobs, make_circles, make_moons  # imported when used: it takes a second

    if name in TOY_DATASETS and not (2 <= n_classes <= (MAX_CLASSES if name in MULTICLASS else 2)):
        raise MessageError(N_("n_classes: {n} is not allowed for dataset={name}; expected an int in [2, {limit}]") if name in MULTICLASS
                           else N_("n_classes: {n} is not allowed for dataset={name}; expected 2 (spiral and gaussians take more)"),
                           n=n_classes, name=name, limit=MAX_CLASSES)
    rng = np.random.default_rng(seed)
    if name == "moons":
        X, y = make_moons(n, noise=noise, random_state=seed)
    elif name == "circles":
        X, y = make_circles(n, noise=noise, factor=0.5, random_state=seed)
    elif name == "xor":
        X, y = _xor(n, noise, rng)
    elif name == "spiral":
        X, y = _spiral(n, noise, rng, n_classes)
    elif name == "gaussians":
        X, y = make_blobs(n, centers=_centres(n_classes), cluster_std=0.5 + 2 * noise, random_state=seed)
    else:
        raise ValueError(f"dataset: unknown 2-D set {name!r}; expected one of {'|'.join(TOY_DATASETS)}")
    return X.astype(np.float32), y.astype(np.int64)


def toy_bundle(name: str, n_train: int, n_test: int, noise: float, seed: int, n_classes: int = 2) -> DataBundle:
    """Train and test draws of a 2-D set (independent samples of the same distribution)."""
    X, y = make_toy(name, n_train + n_test, noise, seed, n_classes)

    def split(a: int, b: int) -> Split:
        return Split(torch.from_numpy(X[a:b]), torch.from_numpy(y[a:b]))

    return DataBundle(split(0, n_train), split(n_train, n_train + n_test), "classification", n_classes=n_classes,
                      meta={"dataset": name})


def grid_2d(X: torch.Tensor, steps: int = 80, margin: float = 0.5) -> torch.Tensor:
    """A steps×steps grid of points covering X, for drawing decision boundaries."""
    lo = X.min(0).values - margin
    hi = X.max(0).values + margin
    xs = torch.linspace(float(lo[0]), float(hi[0]), steps)
    ys = torch.linspace(float(lo[1]), float(hi[1]), steps)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    return torch.stack([gx.flatten(), gy.flatten()], dim=1)
