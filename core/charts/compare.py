"""Charts that compare runs: overlaid and side-by-side curves, group bands, parallel coordinates."""

from __future__ import annotations

from typing import Sequence

import altair as alt
import pandas as pd

from ..metrics import label
from .curves import CATEGORY, SPLIT_ORDER, side_by_side_curves


def overlay_curves(history: pd.DataFrame, y: str = "loss", *, title: str | None = None, log_y: bool = False,
                   height: int = 320) -> alt.Chart:
    """Curves of several runs in one chart: colour per run (column 'run'), dash per split."""
    data = history.dropna(subset=[y])
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    return alt.Chart(data).mark_line().encode(
        x=alt.X("epoch:Q", title="epoch"),
        y=alt.Y(f"{y}:Q", title=label(y), scale=scale),
        color=alt.Color("run:N", title="run", scale=alt.Scale(scheme=CATEGORY)),
        strokeDash=alt.StrokeDash("split:N", sort=SPLIT_ORDER, title="split"),
        detail="split:N",
        tooltip=["run:N", "split:N", "epoch:Q", alt.Tooltip(f"{y}:Q", format=".4g")],
    ).properties(title=title or f"{label(y)} by epoch, runs overlaid", height=height)


def facet_curves(history: pd.DataFrame, y: str = "loss", *, columns: int = 3, log_y: bool = False,
                 title: str | None = None) -> alt.FacetChart:
    """One small chart per run (column 'run'), side by side in rows of `columns`, sharing the y axis."""
    return side_by_side_curves(history, "run", y, log_y=log_y, title=title or f"{label(y)} by epoch, side by side",
                               height=200, width=260, columns=columns)


def band_curves(grouped: pd.DataFrame, by: str, y: str = "loss", *, splits: Sequence[str] = ("train", "val"),
                log_y: bool = False, title: str | None = None, height: int = 320) -> alt.LayerChart:
    """Mean curve with a ± std band per group (from core.compare.group_history): colour per group, dash per split."""
    data = grouped[grouped["split"].isin(list(splits))].copy()
    data[by] = data[by].astype(str)
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    base = alt.Chart(data).encode(
        x=alt.X("epoch:Q", title="epoch"),
        color=alt.Color(f"{by}:N", title=label(by), scale=alt.Scale(scheme=CATEGORY)),
    )
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("lower:Q", title=label(y), scale=scale), y2="upper:Q", detail="split:N")
    line = base.mark_line().encode(
        y=alt.Y("mean:Q", scale=scale),
        strokeDash=alt.StrokeDash("split:N", sort=SPLIT_ORDER, title="split"),
        tooltip=[f"{by}:N", "split:N", "epoch:Q", alt.Tooltip("mean:Q", format=".4g"), alt.Tooltip("std:Q", format=".3g"), "count:Q"],
    )
    return alt.layer(band, line).properties(title=title or f"{label(y)}: mean ± std over folds and seeds, by {label(by)}", height=height)


def parallel_coordinates(runs: pd.DataFrame, dims: Sequence[str], color: str, *, title: str | None = None,
                         height: int = 320) -> alt.Chart:
    """A line per run across the chosen parameters and metrics, each axis scaled to [0, 1]; colour by a metric."""
    dims = [d for d in dims if d in runs.columns]
    data = runs[["id", *dims, *([color] if color not in dims else [])]].copy()
    long = []
    for d in dims:
        values = pd.to_numeric(data[d], errors="coerce") if data[d].dtype != object else data[d].astype("category").cat.codes.astype(float)
        lo, hi = values.min(), values.max()
        scaled = (values - lo) / (hi - lo) if hi > lo else values * 0 + 0.5
        long.append(pd.DataFrame({"id": data["id"], "axis": label(d), "scaled": scaled, "value": data[d].astype(str),
                                  color: pd.to_numeric(data[color], errors="coerce")}))
    frame = pd.concat(long) if long else pd.DataFrame(columns=["id", "axis", "scaled", "value", color])
    return alt.Chart(frame).mark_line(opacity=0.7).encode(
        x=alt.X("axis:N", sort=[label(d) for d in dims], title=None),
        y=alt.Y("scaled:Q", title="scaled value (min to max)", axis=alt.Axis(format=".1f")),
        detail="id:N",
        color=alt.Color(f"{color}:Q", title=label(color), scale=alt.Scale(scheme="viridis")),
        tooltip=["id:N", "axis:N", "value:N", alt.Tooltip(f"{color}:Q", format=".4g")],
    ).properties(title=title or f"Parameters and metrics, coloured by {label(color)}", height=height)
