"""Model selection from finished runs: pick by a validation metric, best epochs, histories side by side.

DataFrame in, DataFrame (or a row) out; the runs table is `core.sweeps.sweep_frame(results)`.
"""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from .studies import RunResult


def pick_best(runs: pd.DataFrame, metric: str, by: str | None = None) -> pd.Series:
    """The run with the lowest `metric`; with `by`, the value of `by` whose runs have the lowest mean `metric`
    (folds and seeds pooled), returned as a row of per-`by` means.

    ValueError when no run has that metric (e.g. val_loss without a validation set).
    """
    if metric not in runs.columns or runs[metric].notna().sum() == 0:
        raise ValueError(f"{metric}: no run recorded it (is there a validation set?)")
    if by is None:
        return runs.loc[runs[metric].idxmin()]
    means = runs.groupby(by).mean(numeric_only=True)
    best = means[metric].idxmin()
    return means.loc[best].rename(best)


def best_epoch(history: pd.DataFrame, split: str = "val", y: str = "loss") -> int | None:
    """The epoch with the lowest `y` on `split` (the first one on ties), or None when that split was not recorded."""
    rows = history[(history["split"] == split)].dropna(subset=[y])
    if rows.empty:
        return None
    return int(rows.loc[rows[y].idxmin(), "epoch"])


def value_at(history: pd.DataFrame, epoch: int, split: str = "val", y: str = "loss") -> float:
    """`y` on `split` at one epoch of a history."""
    rows = history[(history["split"] == split) & (history["epoch"] == epoch)]
    if rows.empty:
        raise ValueError(f"epoch: {epoch} is not in the history of split {split}")
    return float(rows[y].iloc[0])


def stacked_history(results: Sequence[RunResult], by: str, labels: Sequence[Any] | None = None) -> pd.DataFrame:
    """The histories of several runs in one frame, with column `by` telling them apart.

    The value of `by` comes from `labels` when given, else from each run's config (e.g. 'fold', 'depth').
    """
    frames = []
    for i, r in enumerate(results):
        value = labels[i] if labels is not None else r.config.get(by)
        frames.append(r.history.assign(**{by: value}))
    if not frames:
        return pd.DataFrame(columns=["epoch", "split", "loss", "acc", by])
    return pd.concat(frames, ignore_index=True)


def stacked_frames(results: Sequence[RunResult], frame: str, by: str, labels: Sequence[Any] | None = None) -> pd.DataFrame:
    """One report frame (e.g. 'curve', 'weights') of several runs stacked, with column `by` telling them apart."""
    parts = []
    for i, r in enumerate(results):
        if frame in r.frames:
            value = labels[i] if labels is not None else r.config.get(by)
            parts.append(r.frames[frame].assign(**{by: value}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
