"""Training curves and metric-against-parameter charts shared by every page."""

from __future__ import annotations

from typing import Sequence

import altair as alt
import pandas as pd

from ..i18n import _
from ..metrics import label

SPLIT_ORDER = ["train", "val", "test"]
SPLIT_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c"]


def split_color(title: str = "split", present=None) -> alt.Color:
    """Train/validation/test always in the same colours; `present` (the splits in the data) trims the legend."""
    keep = [s for s in SPLIT_ORDER if present is None or s in set(present)] or SPLIT_ORDER
    colors = [SPLIT_COLORS[SPLIT_ORDER.index(s)] for s in keep]
    return alt.Color("split:N", title=title, sort=keep, scale=alt.Scale(domain=keep, range=colors))


CATEGORY = "tableau10"  # distinct hues for runs and groups (the default theme's first colours are two blues)


def metric_colors(metrics: Sequence[str]) -> list[str]:
    """A colour per metric: train_*, val_* and test_* in their split's colour, others from a categorical scheme."""
    others = iter(["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"])
    out = []
    for m in metrics:
        split = m.split("_", 1)[0]
        out.append(SPLIT_COLORS[SPLIT_ORDER.index(split)] if split in SPLIT_ORDER else next(others))
    return out


def training_curves(
    history: pd.DataFrame,
    y: str = "loss",
    *,
    title: str | None = None,
    run: str | None = None,
    log_y: bool = False,
    mark_epoch: int | None = None,
    mark_label: str = "best epoch",
    height: int = 260,
) -> alt.Chart:
    """Loss (or acc) against epoch, a line per split; with `run`, one dash style per value of that column."""
    data = history.dropna(subset=[y])
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    enc = dict(
        x=alt.X("epoch:Q", title="epoch"),
        y=alt.Y(f"{y}:Q", title=label(y), scale=scale),
        color=split_color(present=data["split"].unique()),
        # tooltips as objects: a list holding plain strings costs Altair ~10× more to build (live charts redraw often)
        tooltip=[alt.Tooltip("epoch:Q"), alt.Tooltip("split:N"), alt.Tooltip(f"{y}:Q", format=".4g")]
        + ([alt.Tooltip(f"{run}:N")] if run else []),
    )
    if run:
        enc["strokeDash"] = alt.StrokeDash(f"{run}:N", title=run.replace("_", " "))
        enc["detail"] = f"{run}:N"
    chart = alt.Chart(data).mark_line().encode(**enc)
    if mark_epoch is not None:
        rule = alt.Chart(pd.DataFrame({"epoch": [mark_epoch], "what": [mark_label]})).mark_rule(strokeDash=[4, 4], color="black").encode(
            x="epoch:Q", tooltip=[alt.Tooltip("what:N"), alt.Tooltip("epoch:Q")]
        )
        chart = chart + rule
    return chart.properties(title=title or _("{y} by epoch").format(y=label(y)), height=height)


def metric_vs(
    frame: pd.DataFrame,
    x: str,
    metrics: Sequence[str],
    *,
    title: str | None = None,
    log_x: bool = False,
    log_y: bool = False,
    best: str | None = None,
    height: int = 260,
    tight_x: bool = False,
) -> alt.Chart:
    """Metrics against a parameter; several rows per x (folds, seeds) become mean lines with ± std bands.

    With `best`, the x with the lowest mean of that metric is marked; `tight_x` ends the x axis at the data
    (a log axis otherwise rounds out to powers of ten).
    """
    long = frame.melt(id_vars=[x], value_vars=list(metrics), var_name="metric", value_name="value").dropna(subset=["value"])
    tight = {"nice": False} if tight_x else {}
    xs = alt.Scale(type="log", **tight) if log_x else alt.Scale(zero=False, **tight)
    ys = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    base = alt.Chart(long).encode(
        x=alt.X(f"{x}:Q", title=label(x), scale=xs),
        color=alt.Color("metric:N", title="metric", sort=list(metrics),
                        scale=alt.Scale(domain=list(metrics), range=metric_colors(metrics))),
    )
    line = base.mark_line(point=True).encode(
        y=alt.Y("mean(value):Q", title=", ".join(label(m) for m in metrics), scale=ys),
        tooltip=[alt.Tooltip(f"{x}:Q", format=".4g"), "metric:N", alt.Tooltip("mean(value):Q", format=".4g", title="mean"),
                 alt.Tooltip("stdev(value):Q", format=".3g", title="std"), alt.Tooltip("count(value):Q", title="runs")],
    )
    chart = line
    if long.groupby([x, "metric"]).size().max() > 1:
        chart = base.mark_errorband(extent="stdev", opacity=0.2).encode(y=alt.Y("value:Q", scale=ys)) + line
    if best and best in frame:
        means = frame.groupby(x)[best].mean().dropna()
        if len(means):
            at = means.idxmin()
            rule = alt.Chart(pd.DataFrame({x: [at], "best": [f"lowest {label(best)}: {at:g}"]})).mark_rule(
                strokeDash=[4, 4], color="black"
            ).encode(x=f"{x}:Q", tooltip=["best:N"])
            chart = chart + rule
    return chart.properties(title=title or f"{', '.join(label(m) for m in metrics)} against {label(x)}", height=height)


def side_by_side_curves(history: pd.DataFrame, by: str, y: str = "loss", *, order: Sequence[str] | None = None,
                        log_y: bool = False, title: str | None = None, height: int = 260, width: int = 300,
                        columns: int | None = None) -> alt.FacetChart:
    """Training curves (a line per split) in one panel per value of `by`, on shared axes so the panels compare;
    `columns` wraps the panels into rows of that many."""
    data = history.dropna(subset=[y])
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    chart = alt.Chart(data).mark_line().encode(
        x=alt.X("epoch:Q", title="epoch"),
        y=alt.Y(f"{y}:Q", title=label(y), scale=scale),
        color=split_color(present=data["split"].unique()),
        tooltip=[alt.Tooltip(f"{by}:N"), alt.Tooltip("epoch:Q"), alt.Tooltip("split:N"), alt.Tooltip(f"{y}:Q", format=".4g")],
    ).properties(width=width, height=height)
    sort = list(order) if order else "ascending"
    if columns:
        panels = chart.facet(facet=alt.Facet(f"{by}:N", title=None, sort=sort), columns=columns)
    else:
        panels = chart.facet(column=alt.Column(f"{by}:N", title=None, sort=sort))
    return panels.properties(title=title or _("{y} by epoch").format(y=label(y)))
