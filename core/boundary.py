"""A 2-D classifier's decision boundary as data: class probabilities on a grid of cells, and the points.

`boundary_frame(model, X, n_classes, steps)` evaluates the model on a steps×steps grid covering the points X
(a margin around them) and gives one row per cell: its centre (`x1`, `x2`), its edges (`x1_lo`, `x1_hi`,
`x2_lo`, `x2_hi`), the `predicted` class, the model's `confidence` in it (the largest probability) and, for two
classes, `p_class1`. The grid depends only on X, so redrawing while a model trains changes the numbers, not the
cells. `points_frame(data)` lists the points of every split with their labels (training labels as trained on,
label noise included), and `config_points(study_id, values)` gives them for a config before it trains.
`core.charts.boundary` draws both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd
import torch

if TYPE_CHECKING:
    from torch import nn

    from .data import DataBundle

LIVE_STEPS = 50  # cells per axis for a boundary redrawn while training (2,500 cells)
REPORT_STEPS = 60  # cells per axis for a finished run's boundary (3,600: under Altair's 5,000-row limit for exports)


def grid_axes(X: torch.Tensor, steps: int = LIVE_STEPS, margin: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres along each axis: `steps` values from each feature's minimum − margin to its maximum + margin."""
    if X.ndim != 2 or X.shape[1] != 2 or len(X) == 0:
        raise ValueError(f"points: expected a non-empty (n, 2) tensor for a 2-D boundary, got shape {tuple(X.shape)}")
    if not 2 <= steps <= 500:
        raise ValueError(f"steps: {steps} is not allowed; expected an int in [2, 500]")
    lo = X.min(0).values.double() - margin
    hi = X.max(0).values.double() + margin
    return (np.linspace(float(lo[0]), float(hi[0]), steps), np.linspace(float(lo[1]), float(hi[1]), steps))


def boundary_frame(model: nn.Module, X: torch.Tensor | np.ndarray, n_classes: int, steps: int = LIVE_STEPS) -> pd.DataFrame:
    """The model's class probabilities on a steps×steps grid covering the points X: a row per cell (see the module doc)."""
    from .training import predict

    X = X if isinstance(X, torch.Tensor) else torch.tensor(np.asarray(X), dtype=torch.float32)
    if not 2 <= n_classes <= 10:
        raise ValueError(f"n_classes: {n_classes} is not allowed; expected an int in [2, 10]")
    xs, ys = grid_axes(X, steps)
    gx, gy = np.meshgrid(xs, ys, indexing="xy")
    centres = np.stack([gx.ravel(), gy.ravel()], axis=1)
    probs = torch.softmax(predict(model, torch.from_numpy(centres).to(X.dtype)).double(), 1).numpy()
    if probs.shape[1] != n_classes:
        raise ValueError(f"n_classes: the model has {probs.shape[1]} outputs, not {n_classes}")
    hx, hy = (xs[1] - xs[0]) / 2, (ys[1] - ys[0]) / 2
    frame = pd.DataFrame({
        "x1": centres[:, 0], "x2": centres[:, 1],
        "x1_lo": centres[:, 0] - hx, "x1_hi": centres[:, 0] + hx,
        "x2_lo": centres[:, 1] - hy, "x2_hi": centres[:, 1] + hy,
        "predicted": probs.argmax(1).astype(np.int64),
        "confidence": probs.max(1),
    })
    if n_classes == 2:
        frame["p_class1"] = probs[:, 1]
    return frame


def points_frame(data: DataBundle) -> pd.DataFrame:
    """Every point of a 2-D data set: x1, x2, its label and its split (train, val, test)."""
    parts = []
    for name, split in data.splits().items():
        X, y = split.X.numpy(), split.y.numpy()
        parts.append(pd.DataFrame({"x1": X[:, 0].astype(np.float64), "x2": X[:, 1].astype(np.float64),
                                   "label": y.astype(np.int64), "split": name}))
    return pd.concat(parts, ignore_index=True)


def config_points(study_id: str, values: Mapping[str, Any]) -> pd.DataFrame:
    """The points a 2-D config of a classification-family study trains and is tested on, as `points_frame` gives
    them (split as the run splits them, label noise included), before training: for drawing a boundary live."""
    from .pipeline import config_data
    from .studies import get_study

    data = config_data(get_study(study_id), values)  # the same seeded preparation the run gets
    if data.image_shape is not None or data.n_inputs != 2:
        raise ValueError(f"dataset: {values.get('dataset')!r} is not a 2-D set; a boundary needs two inputs")
    return points_frame(data)
