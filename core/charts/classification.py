"""Charts and image helpers for classification: confusion matrix, image grids, misclassified examples."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import torch

from ..i18n import _


def confusion_heatmap(confusion: pd.DataFrame, *, title: str | None = None, height: int = 340) -> alt.LayerChart:
    """Counts of (true, predicted) as a heatmap with the numbers written in; the diagonal is what the model got right."""
    classes = sorted(set(confusion["true"]) | set(confusion["predicted"]))
    data = confusion.assign(
        share=confusion["count"] / confusion.groupby("true")["count"].transform("sum").clip(lower=1),
        correct=confusion["true"] == confusion["predicted"],
    )
    base = alt.Chart(data).encode(
        x=alt.X("predicted:O", title=_("predicted class"), sort=classes),
        y=alt.Y("true:O", title=_("true class"), sort=classes),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("share:Q", title=_("share of the true class"), scale=alt.Scale(scheme="blues", domain=[0, 1])),
        tooltip=["true:O", "predicted:O", "count:Q", alt.Tooltip("share:Q", format=".1%")],
    )
    text = base.transform_filter("datum.count > 0").mark_text(fontSize=11).encode(
        text="count:Q",
        color=alt.condition("datum.share > 0.5", alt.value("white"), alt.value("black")),
    )
    return alt.layer(cells, text).properties(title=title or _("Confusion matrix (test set)"), height=height, width=height)


def to_display(images: torch.Tensor | np.ndarray, size: int = 84) -> list[np.ndarray]:
    """Images (n, 1, h, w) or (n, h, w) in [0, 1] → grayscale arrays enlarged to about `size` pixels, pixels kept square.

    Enlarging by repeating pixels (nearest neighbour) keeps 8×8 digits sharp instead of browser-blurred.
    """
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if arr.ndim == 4:
        arr = arr[:, 0]
    if arr.ndim != 3:
        raise ValueError(f"images: expected shape (n, 1, h, w) or (n, h, w), got {arr.shape}")
    factor = max(1, size // max(arr.shape[1], 1))
    return [np.clip(np.kron(a, np.ones((factor, factor), dtype=a.dtype)), 0.0, 1.0) for a in arr]


def examples_per_class(labels: torch.Tensor | np.ndarray, per_class: int = 2, n_classes: int | None = None) -> list[int]:
    """Indices of the first `per_class` examples of every class, ordered by class (for a sample grid)."""
    y = labels.numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    k = n_classes or int(y.max()) + 1
    out: list[int] = []
    for rank in range(per_class):
        for c in range(k):
            idx = np.flatnonzero(y == c)
            if rank < len(idx):
                out.append(int(idx[rank]))
    return out


def misclassified_captions(frame: pd.DataFrame) -> list[str]:
    """'true 3 → 8 (71%)' for each row of a study's 'misclassified' frame."""
    return [_("true {true} → {predicted} ({confidence})").format(true=int(t), predicted=int(p), confidence=f"{c:.0%}")
            for t, p, c in zip(frame["true"], frame["predicted"], frame["confidence"])]

