"""Charts for capacity: fits of several models side by side, and several fitted curves overlaid on a target."""

from __future__ import annotations

from typing import Sequence

import altair as alt
import pandas as pd

SERIES = ["train data", "test data", "fitted", "true function"]
SERIES_COLORS = ["#1f77b4", "#bbbbbb", "#d62728", "#222222"]


def _y_domain(y: pd.Series, pad: float = 0.15) -> list[float]:
    lo, hi = float(y.min()), float(y.max())
    extra = pad * (hi - lo + 1e-9)
    return [lo - extra, hi + extra]


def fit_panels(points: pd.DataFrame, curves: pd.DataFrame, *, panel: str = "panel", order: Sequence[str] | None = None,
               x_domain: tuple[float, float] | None = None, title: str = "Fits side by side", height: int = 260,
               width: int = 230) -> alt.FacetChart:
    """One panel per model: its data (train and test points) and its fitted curve against the true function.

    `points` has x, y, split and `panel`; `curves` has x, y, curve and `panel`, where a curve whose name
    starts with 'true' is the true function and any other is the model's fit.
    """
    dots = points.assign(series=points["split"].map({"train": "train data", "test": "test data"}).fillna("train data"))
    lines = curves.assign(series=curves["curve"].astype(str).map(lambda c: "true function" if c.startswith("true") else "fitted"))
    data = pd.concat([dots[["x", "y", "series", panel]].assign(layer="data"), lines[["x", "y", "series", panel]].assign(layer="curve")],
                     ignore_index=True)
    xscale = alt.Scale(domain=list(x_domain)) if x_domain else alt.Scale(zero=False)
    # the y range follows the data, so a wild high-degree curve is clipped instead of flattening everything else
    yscale = alt.Scale(domain=_y_domain(dots["y"]), clamp=False)
    color = alt.Color("series:N", title="", scale=alt.Scale(domain=SERIES, range=SERIES_COLORS))
    base = alt.Chart()
    # test points first and faint, so the few training points stay visible on top
    scatter = base.transform_filter(alt.datum.layer == "data").mark_circle(size=30, opacity=0.6).encode(
        x=alt.X("x:Q", title="x", scale=xscale), y=alt.Y("y:Q", title="y", scale=yscale), color=color,
        order=alt.Order("series:N", sort="ascending"),
        tooltip=[alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f"), "series:N"],
    )
    fitted = base.transform_filter(alt.datum.layer == "curve").mark_line(strokeWidth=2.5, clip=True).encode(
        x=alt.X("x:Q", scale=xscale), y=alt.Y("y:Q", scale=yscale), color=color,
        strokeDash=alt.StrokeDash("series:N", legend=None, scale=alt.Scale(domain=["fitted", "true function"], range=[[1, 0], [5, 4]])),
        detail="series:N",
    )
    return alt.layer(scatter, fitted, data=data).properties(width=width, height=height).facet(
        column=alt.Column(f"{panel}:N", title=None, sort=list(order) if order else "ascending")
    ).properties(title=title)


def curves_overlay(curves: pd.DataFrame, points: pd.DataFrame | None = None, *, by: str = "model",
                   order: Sequence[str] | None = None, target: str = "target", title: str = "Fitted curves",
                   height: int = 300) -> alt.LayerChart:
    """Several fitted curves (a colour per value of `by`) over the target function (black, dashed) and the training points.

    `curves` has x, y, curve and `by`; rows whose curve equals `target` are the target function (drawn once).
    """
    nets = curves[curves["curve"] != target]
    truth = curves[curves["curve"] == target].drop_duplicates(subset=["x"])
    layers = []
    if points is not None and len(points):
        layers.append(alt.Chart(points).mark_circle(size=14, opacity=0.35, color="#888888").encode(
            x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="y"),
        ))
    layers.append(alt.Chart(truth.assign(line="target")).mark_line(color="black", strokeDash=[5, 4], strokeWidth=2).encode(
        x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="y"), tooltip=["line:N"],
    ))
    sort = list(order) if order else "ascending"
    layers.append(alt.Chart(nets).mark_line(strokeWidth=2).encode(
        x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="y"),
        color=alt.Color(f"{by}:N", title=by.replace("_", " "), sort=sort, scale=alt.Scale(scheme="viridis"),
                        legend=alt.Legend(orient="bottom", columns=2, labelLimit=320)),
        tooltip=[f"{by}:N", alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f")],
    ))
    return alt.layer(*layers).properties(title=title, height=height)
