"""Charts for regression: data with fitted lines or curves, learned against true weights."""

from __future__ import annotations

import altair as alt
import pandas as pd

from .curves import CATEGORY, split_color


def fit_plot(points: pd.DataFrame, fit: pd.DataFrame, *, color_field: str = "line", x_domain: tuple[float, float] | None = None,
             title: str = "Data and fitted curves", height: int = 300) -> alt.LayerChart:
    """Scatter of the data (coloured by split) under fitted lines (coloured by `color_field`)."""
    xscale = alt.Scale(domain=list(x_domain)) if x_domain else alt.Scale(zero=False)
    y_lo, y_hi = points["y"].quantile(0.0), points["y"].quantile(1.0)
    pad = 0.15 * (y_hi - y_lo + 1e-9)
    yscale = alt.Scale(domain=[float(y_lo - pad), float(y_hi + pad)], clamp=True)
    dots = alt.Chart(points).mark_circle(size=28, opacity=0.5).encode(
        x=alt.X("x:Q", title="x", scale=xscale), y=alt.Y("y:Q", title="y", scale=yscale), color=split_color("data", present=points["split"].unique()),
        tooltip=[alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f"), "split:N"],
    )
    lines = alt.Chart(fit).mark_line(strokeWidth=2.5, clip=True).encode(
        x=alt.X("x:Q", scale=xscale), y=alt.Y("y:Q", scale=yscale),
        color=alt.Color(f"{color_field}:N", title=color_field, scale=alt.Scale(scheme="dark2")),
        strokeDash=alt.StrokeDash(f"{color_field}:N", legend=None),
    )
    return alt.layer(dots, lines).resolve_scale(color="independent").properties(title=title, height=height)


def weights_compare(frame: pd.DataFrame, *, title: str = "Weights", id_col: str = "feature") -> alt.Chart:
    """Grouped bars of true, learned (and closed-form) values per weight."""
    value_cols = [c for c in frame.columns if c != id_col]
    long = frame.melt(id_vars=[id_col], value_vars=value_cols, var_name="source", value_name="value")
    return alt.Chart(long).mark_bar().encode(
        x=alt.X(f"{id_col}:N", title=id_col.replace("_", " "), sort=list(frame[id_col])),
        xOffset=alt.XOffset("source:N", sort=value_cols),
        y=alt.Y("value:Q", title="value"),
        color=alt.Color("source:N", sort=value_cols, title="", scale=alt.Scale(scheme=CATEGORY)),
        tooltip=[f"{id_col}:N", "source:N", alt.Tooltip("value:Q", format=".4f")],
    ).properties(title=title, height=260)


def coefficient_bars(frame: pd.DataFrame, *, title: str = "Coefficients") -> alt.Chart:
    """Learned against true polynomial coefficients, one pair of bars per power of x."""
    return weights_compare(frame.assign(power=frame["power"].map(lambda p: f"x^{p}")), title=title, id_col="power")
