"""Charts for the frontier studies: a marked interpolation threshold, and the fan of resampled fits."""

from __future__ import annotations

import altair as alt
import pandas as pd

from ..i18n import _


def mark_x(chart: alt.TopLevelMixin, x: str, at: float, text: str) -> alt.LayerChart:
    """The chart with a dashed vertical rule at x = `at`, labelled `text` (e.g. the interpolation threshold P = n)."""
    marker = alt.Chart(pd.DataFrame({x: [at], "what": [text]}))
    rule = marker.mark_rule(strokeDash=[5, 3], color="#d62728").encode(x=f"{x}:Q", tooltip=["what:N"])
    note = marker.mark_text(align="left", baseline="top", dx=4, dy=14, fontSize=11, color="#d62728").encode(
        x=f"{x}:Q", y=alt.value(0), text="what:N")
    return alt.layer(chart, rule, note)


def fan_chart(fan: pd.DataFrame, points: pd.DataFrame | None = None, *, title: str | None = None,
              height: int = 300, clip: tuple[float, float] | None = None) -> alt.LayerChart:
    """Every resample's fitted curve (thin, faint), their mean (thick) and the true function (black, dashed).

    `fan` has x, y, curve ('resample', 'mean prediction', 'true function') and member; `clip` bounds the y axis (a
    wild fit leaves the chart instead of flattening the rest)."""
    yscale = alt.Scale(domain=list(clip), clamp=False) if clip else alt.Scale(zero=False)
    x = alt.X("x:Q", title="x")
    y = alt.Y("y:Q", title="y", scale=yscale)
    layers = [alt.Chart(fan[fan["curve"] == "resample"]).mark_line(strokeWidth=1, opacity=0.25, color="#7f7f7f", clip=True)
              .encode(x=x, y=y, detail="member:N")]
    if points is not None and len(points):
        layers.append(alt.Chart(points).mark_circle(size=28, color="#1f77b4", opacity=0.8).encode(x=x, y=y))
    lines = fan[fan["curve"] != "resample"]
    color = alt.Color("curve:N", title="", scale=alt.Scale(domain=["mean prediction", "true function"],
                                                          range=["#ff7f0e", "#000000"]),
                      legend=alt.Legend(orient="bottom", symbolType="stroke"))
    dash = alt.StrokeDash("curve:N", legend=None, scale=alt.Scale(domain=["mean prediction", "true function"],
                                                                 range=[[1, 0], [6, 4]]))
    layers.append(alt.Chart(lines).mark_line(strokeWidth=3, clip=True).encode(x=x, y=y, color=color, strokeDash=dash,
                                                                              detail="curve:N"))
    return alt.layer(*layers).properties(title=title or _("The fitted curves of every resample"), height=height)
