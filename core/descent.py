"""Reading double descent off measured curves: where a curve peaks, and whether it falls, rises and falls again.

DataFrame or list in, a small dataclass out, so the page's sentences are computed from the numbers it draws and say
plainly when the second descent does not appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pandas as pd

from .i18n import _

MARGIN = 0.02  # a rise or fall smaller than this (2 points of error) is test-set noise, not a descent


@dataclass(frozen=True)
class Shape:
    """A curve's shape: 'double' (falls, rises, falls again), 'rise' (falls, then rises and stays up) or 'falls'."""

    kind: str
    first_min_x: float
    first_min: float
    peak_x: float | None = None
    peak: float | None = None
    second_min_x: float | None = None
    second_min: float | None = None
    last: float | None = None


def error_by_epoch(history: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Epoch and classification error (1 − accuracy) of one split from a run's history."""
    rows = history[history["split"] == split].dropna(subset=["acc"])
    return pd.DataFrame({"epoch": rows["epoch"].to_numpy(), "error": 1 - rows["acc"].to_numpy()})


def shape(xs: Sequence[float], ys: Sequence[float], margin: float = MARGIN, window: int = 5) -> Shape:
    """The shape of y against x after a centred rolling mean over `window` points (epoch-to-epoch noise).

    'double' when, after falling, the curve rises by at least `margin` to a peak and then falls again by at least
    `margin` and a third of that rise (the peak with the largest second fall is reported); else 'rise' when it ends at
    least `margin` above its lowest value; else 'falls'.
    """
    if len(xs) != len(ys) or not len(xs):
        raise ValueError("shape: needs as many x as y values, at least one")
    s = pd.Series(list(ys), dtype=float).rolling(window, center=True, min_periods=1).mean().to_numpy()
    x = list(xs)
    best, best_fall = None, 0.0
    for b in range(1, len(s) - 1):
        rise, fall = s[b] - s[:b].min(), s[b] - s[b + 1 :].min()
        if rise >= margin and fall >= max(margin, rise / 3) and fall > best_fall:
            best, best_fall = b, fall
    if best is not None:
        a = int(s[:best].argmin())
        c = best + 1 + int(s[best + 1 :].argmin())
        return Shape("double", x[a], float(s[a]), x[best], float(s[best]), x[c], float(s[c]), float(s[-1]))
    m = int(s.argmin())
    if s[-1] - s[m] >= margin:
        top = m + int(s[m:].argmax())
        return Shape("rise", x[m], float(s[m]), x[top], float(s[top]), last=float(s[-1]))
    return Shape("falls", x[m], float(s[m]), last=float(s[-1]))


def shape_caption(sh: Shape, what: str = "epoch") -> str:
    """One sentence on the shape: where it falls, peaks and falls again — or that no second descent appeared."""
    if sh.kind == "double":
        return _("The test error falls to {a:.1%} at {what} {ax:g}, rises to {b:.1%} at {what} {bx:g} and falls again "
                 "to {c:.1%} at {what} {cx:g}: a second descent.").format(
            a=sh.first_min, ax=sh.first_min_x, b=sh.peak, bx=sh.peak_x, c=sh.second_min, cx=sh.second_min_x, what=what)
    if sh.kind == "rise":
        return _("No second descent at these sizes: the test error falls to {a:.1%} at {what} {ax:g}, rises to {b:.1%} "
                 "at {what} {bx:g} and ends at {c:.1%} — classic overfitting of the wrong labels. The epoch-wise second "
                 "descent was seen with far larger networks trained far longer.").format(
            a=sh.first_min, ax=sh.first_min_x, b=sh.peak, bx=sh.peak_x, c=sh.last, what=what)
    return _("No second descent at these sizes: the test error only falls (lowest {a:.1%} at {what} {ax:g}).").format(
        a=sh.first_min, ax=sh.first_min_x, what=what)


def threshold_peak(runs: pd.DataFrame, n: int, x: str = "hidden", metric: str = "test_loss") -> tuple[float, bool]:
    """The x where the metric's mean is highest, and whether that is within a factor 2 of the threshold n."""
    means = runs.groupby(x)[metric].mean().dropna()
    if means.empty:
        raise ValueError(f"{metric}: no run recorded it")
    at = float(means.idxmax())
    return at, n / 2 <= at <= 2 * n


def with_errors(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs table with train_error, val_error and test_error (1 − accuracy) beside each accuracy it has."""
    out = runs.copy()
    for split in ("train", "val", "test"):
        if f"{split}_acc" in out.columns:
            out[f"{split}_error"] = 1 - out[f"{split}_acc"].astype(float)
    return out
