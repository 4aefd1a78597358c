"""Comparing runs: labels, smoothing, grouping over folds and seeds — DataFrame in, DataFrame out."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from .metrics import METRICS

# columns of the runs table that describe a run but are not study parameters
RUN_FIELDS = ("id", "study", "status", "seed", "fold", "sweep_id", "created_at", "source", "folds")


def config_columns(runs: pd.DataFrame) -> list[str]:
    """Study parameters present in a runs table (not run fields, not metrics)."""
    return [c for c in runs.columns if c not in RUN_FIELDS and c not in METRICS]


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """Metrics present in a runs table with at least one value, in the registry's order."""
    return [m for m in METRICS if m in runs.columns and runs[m].notna().any()]


def varying_columns(runs: pd.DataFrame) -> list[str]:
    """Parameters whose value differs between the given runs: what tells them apart."""
    out = []
    for c in config_columns(runs):
        values = runs[c].dropna().astype(str)
        if values.nunique() > 1 or (0 < len(values) < len(runs)):
            out.append(c)
    return out


def run_labels(runs: pd.DataFrame, columns: Sequence[str] | None = None, max_columns: int = 3) -> pd.Series:
    """A short label per run, 'id · name=value …' from the parameters that differ (indexed by id)."""
    columns = list(columns) if columns is not None else varying_columns(runs)[:max_columns]
    def one(row) -> str:
        parts = [f"#{row['id']}", row["study"]] if runs["study"].nunique() > 1 else [f"#{row['id']}"]
        parts += [f"{c}={_fmt(row[c])}" for c in columns if c in row and pd.notna(row[c])]
        if "fold" in row and pd.notna(row["fold"]):
            parts.append(f"fold {row['fold']}")
        return " ".join(parts)
    return pd.Series([one(r) for _, r in runs.iterrows()], index=runs["id"].astype(int).to_numpy(), dtype=object)


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def with_labels(history: pd.DataFrame, labels: pd.Series, name: str = "run") -> pd.DataFrame:
    """History rows with each run's label in column `name`."""
    return history.assign(**{name: history["run_id"].map(labels)})


def smooth(history: pd.DataFrame, window: int, columns: Sequence[str] = ("loss", "acc")) -> pd.DataFrame:
    """Rolling mean over `window` epochs within each run and split (window 1 returns the data unchanged)."""
    if window <= 1 or history.empty:
        return history
    out = history.sort_values(["run_id", "split", "epoch"]).copy()
    for col in columns:
        if col in out:
            out[col] = out.groupby(["run_id", "split"])[col].transform(lambda s: s.rolling(window, min_periods=1).mean())
    return out


def group_history(history: pd.DataFrame, runs: pd.DataFrame, by: str, y: str = "loss") -> pd.DataFrame:
    """Mean, std and count of `y` per value of config column `by` × split × epoch (over folds and seeds)."""
    if by not in runs.columns:
        raise ValueError(f"group by: {by!r} is not a column of the runs table")
    keyed = history.merge(runs[["id", by]].rename(columns={"id": "run_id"}), on="run_id")
    keyed = keyed.dropna(subset=[y])
    grouped = keyed.groupby([by, "split", "epoch"])[y].agg(["mean", "std", "count"]).reset_index()
    grouped["std"] = grouped["std"].fillna(0.0)
    grouped["lower"] = grouped["mean"] - grouped["std"]
    grouped["upper"] = grouped["mean"] + grouped["std"]
    return grouped


def summary_by(runs: pd.DataFrame, by: str | Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Mean ± std of metrics per value of `by` (one column or several; folds and seeds pooled), with the number of runs."""
    by = [by] if isinstance(by, str) else list(by)
    metrics = [m for m in metrics if m in runs.columns and m not in by]
    table = runs.groupby(by)[metrics].agg(["mean", "std"])
    table.columns = [f"{m} {stat}" for m, stat in table.columns]
    table.insert(0, "runs", runs.groupby(by).size())
    return table.reset_index()
