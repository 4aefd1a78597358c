"""Charts that compare runs: overlaid and side-by-side curves, group bands, parallel coordinates."""

from __future__ import annotations

import math
from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

from ..compare import numeric_column
from ..i18n import _
from ..metrics import label, value_text
from .curves import CATEGORY, MAX_WIDTH, SPLIT_ORDER, fit_width, side_by_side_curves, split_dash_scale, split_names


def overlay_curves(history: pd.DataFrame, y: str = "loss", *, title: str | None = None, log_y: bool = False,
                   height: int = 320) -> alt.Chart:
    """Curves of several runs in one chart: colour per run (column 'run'), dash per split; full run labels in a legend
    under the chart, so none is cut."""
    data = history.dropna(subset=[y])
    if log_y:
        data = data[data[y] > 0]
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    below = dict(orient="bottom", direction="vertical", labelLimit=0)
    return fit_width(alt.Chart(data).mark_line().encode(
        x=alt.X("epoch:Q", title=_("epoch")),
        y=alt.Y(f"{y}:Q", title=label(y), scale=scale),
        color=alt.Color("run:N", title=_("run"), scale=alt.Scale(scheme=CATEGORY), legend=alt.Legend(**below)),
        strokeDash=alt.StrokeDash("split:N", sort=SPLIT_ORDER, title=_("split"), legend=alt.Legend(**below, **split_names()),
                                  scale=split_dash_scale(data["split"].unique())),
        detail="split:N",
        tooltip=["run:N", "split:N", "epoch:Q", alt.Tooltip(f"{y}:Q", format=".4g")],
    ).properties(title=title or _("{y} by epoch, runs overlaid").format(y=label(y)), height=height))


def facet_curves(history: pd.DataFrame, y: str = "loss", *, columns: int = 3, log_y: bool = False,
                 title: str | None = None, max_width: int = MAX_WIDTH) -> alt.FacetChart:
    """One small chart per run (column 'run'), side by side in rows of at most `columns`, sharing the y axis."""
    if log_y:
        history = history[history[y] > 0]
    return side_by_side_curves(history, "run", y, log_y=log_y, title=title or _("{y} by epoch, side by side").format(y=label(y)),
                               height=200, width=260, columns=columns, max_width=max_width)


def band_curves(grouped: pd.DataFrame, by: str, y: str = "loss", *, splits: Sequence[str] = ("train", "val"),
                log_y: bool = False, title: str | None = None, height: int = 320) -> alt.LayerChart:
    """Mean curve with a ± std band per group (from core.compare.group_history): colour per group, dash per split.
    On a log axis a band's lower edge stops at its mean where mean − std would be ≤ 0."""
    data = grouped[grouped["split"].isin(list(splits))].copy()
    data[by] = data[by].map(value_text)
    if log_y:
        data = data[data["mean"] > 0]
        data["lower"] = data["lower"].where(data["lower"] > 0, data["mean"])
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    base = alt.Chart(data).encode(
        x=alt.X("epoch:Q", title=_("epoch")),
        color=alt.Color(f"{by}:N", title=label(by), scale=alt.Scale(scheme=CATEGORY), legend=alt.Legend(labelLimit=0)),
    )
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("lower:Q", title=label(y), scale=scale), y2="upper:Q", detail="split:N")
    line = base.mark_line().encode(
        y=alt.Y("mean:Q", title=label(y), scale=scale),
        strokeDash=alt.StrokeDash("split:N", sort=SPLIT_ORDER, title=_("split"), scale=split_dash_scale(data["split"].unique()),
                                  legend=alt.Legend(**split_names())),
        tooltip=[f"{by}:N", "split:N", "epoch:Q", alt.Tooltip("mean:Q", format=".4g"), alt.Tooltip("std:Q", format=".3g"), "count:Q"],
    )
    default = _("{y}: mean ± std over folds and seeds, by {by}").format(y=label(y), by=label(by))
    return fit_width(alt.layer(band, line).properties(title=title or default, height=height))


def parallel_coordinates(runs: pd.DataFrame, dims: Sequence[str], color: str, *, title: str | None = None,
                         height: int = 320) -> alt.LayerChart:
    """A line per run across the chosen parameters and metrics, each axis scaled from its lowest to its highest value;
    colour by a metric. Categorical axes (dataset, model, activation) place each category at its own position; every
    axis is labelled with its values (categories, or low and high), on a log scale where a positive axis spans ≥ 100×."""
    dims = [d for d in dims if d in runs.columns]
    long, ticks = [], []
    for d in dims:
        position, labels = axis_positions(runs[d])
        long.append(pd.DataFrame({"id": runs["id"].to_numpy(), "axis": label(d), "position": position.to_numpy(),
                                  "value": runs[d].map(value_text).to_numpy(), color: pd.to_numeric(runs[color], errors="coerce").to_numpy()}))
        ticks.append(pd.DataFrame({"axis": label(d), "position": [p for p, _t in labels], "tick": [t for _p, t in labels]}))
    frame = pd.concat(long, ignore_index=True) if long else pd.DataFrame(columns=["id", "axis", "position", "value", color])
    marks = pd.concat(ticks, ignore_index=True) if ticks else pd.DataFrame(columns=["axis", "position", "tick"])
    order = [label(d) for d in dims]
    x = alt.X("axis:N", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelLimit=0, orient="top", domain=False, ticks=False))
    y = alt.Y("position:Q", axis=None, scale=alt.Scale(domain=[-0.04, 1.04]))
    axes = alt.Chart(pd.DataFrame({"axis": order})).mark_rule(color="#999999").encode(x=alt.X("axis:N", sort=order))
    lines = alt.Chart(frame).mark_line(opacity=0.75).encode(
        x=x, y=y, detail="id:N",
        color=alt.Color(f"{color}:Q", title=label(color), scale=alt.Scale(scheme="viridis")),
        tooltip=["id:N", "axis:N", "value:N", alt.Tooltip(f"{color}:Q", format=".4g")],
    )
    text = alt.Chart(marks).mark_text(align="left", dx=4, fontSize=11, color="#333333").encode(
        x=alt.X("axis:N", sort=order), y=y, text="tick:N")
    default = _("Parameters and metrics, coloured by {metric}").format(metric=label(color))
    return alt.layer(axes, lines, text).properties(title=title or default, height=height)


def axis_positions(values: pd.Series) -> tuple[pd.Series, list[tuple[float, str]]]:
    """Positions in [0, 1] for one parallel-coordinates axis and its labelled ticks (position, text).

    Numbers run from the lowest (0) to the highest (1), log-spaced where all are positive and span ≥ 100×;
    anything else (text, booleans) is categorical: each category at its own evenly spaced position, sorted.
    """
    if numeric_column(values):
        v = values.astype(float)
        lo, hi = v.min(), v.max()
        log = lo > 0 and hi / lo >= 100
        t = np.log10(v) if log else v
        tlo, thi = (math.log10(lo), math.log10(hi)) if log else (lo, hi)
        if not thi > tlo:
            return v * 0 + 0.5, [(0.5, value_text(lo))]
        return (t - tlo) / (thi - tlo), [(0.0, value_text(lo)), (1.0, value_text(hi))]
    cats = sorted(values.map(value_text).unique())
    at = {c: (i / (len(cats) - 1) if len(cats) > 1 else 0.5) for i, c in enumerate(cats)}
    return values.map(value_text).map(at).astype(float), [(p, c) for c, p in at.items()]
