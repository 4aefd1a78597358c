"""Charts for capacity: several fitted curves overlaid on a target function. (Polynomial fits: `regression.polynomial_fit`.)"""

from __future__ import annotations

from typing import Sequence

import altair as alt
import pandas as pd

from ..i18n import _
from .curves import DASHES, fit_width

def curves_overlay(curves: pd.DataFrame, points: pd.DataFrame | None = None, *, by: str = "model",
                   order: Sequence[str] | None = None, target: str = "target", title: str | None = None,
                   legend_title: str | None = None, height: int = 260) -> alt.LayerChart:
    """Several fitted curves (a colour and dash per value of `by`) over the target function (black, dashed) and the
    training points (grey), every one named in a legend below the plot with its full label.

    `curves` has x, y, curve and `by`; rows whose curve equals `target` are the target function (drawn once).
    """
    nets = curves[curves["curve"] != target]
    target_name = _("target function")
    truth = curves[curves["curve"] == target].drop_duplicates(subset=["x"]).assign(**{by: target_name})
    names = list(order) if order else sorted(nets[by].unique())
    domain = names + [target_name]
    colors = _ramp(len(names)) + ["#111111"]
    dashes = [DASHES[i % len(DASHES)] for i in range(len(names))] + [[5, 4]]
    legend = alt.Legend(orient="bottom", direction="vertical", columns=1 if len(domain) <= 5 else 2, labelLimit=0, titleLimit=0,
                        symbolType="stroke", symbolStrokeWidth=2.5, symbolSize=300)
    layers = []
    if points is not None and len(points):
        # named through the shape channel, so the colour scale (and its legend, merged with the dashes) stays the curves'
        layers.append(alt.Chart(points.assign(kind=_("training points"))).mark_point(size=16, opacity=0.45, filled=True,
                                                                                   color="#888888").encode(
            x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="y"),
            shape=alt.Shape("kind:N", title=_("data"), scale=alt.Scale(range=["circle"]),
                            legend=alt.Legend(orient="bottom", labelLimit=0, symbolFillColor="#888888", symbolStrokeColor="#888888")),
        ))
    layers.append(alt.Chart(pd.concat([nets, truth], ignore_index=True)).mark_line(strokeWidth=2).encode(
        x=alt.X("x:Q", title="x"), y=alt.Y("y:Q", title="y"),
        color=alt.Color(f"{by}:N", title=legend_title or by.replace("_", " "), sort=domain,
                        scale=alt.Scale(domain=domain, range=colors), legend=legend),
        # same field, title and order as the colour: one legend, whose symbols show each curve's dash too
        strokeDash=alt.StrokeDash(f"{by}:N", title=legend_title or by.replace("_", " "), sort=domain,
                                  scale=alt.Scale(domain=domain, range=dashes), legend=legend),
        tooltip=[f"{by}:N", alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f")],
    ))
    return fit_width(alt.layer(*layers).properties(title=title or _("Fitted curves"), height=height))


def _ramp(n: int) -> list[str]:
    """n colours from dark purple to green (viridis without its pale yellow end, which vanishes on white)."""
    stops = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#8fd744", "#addc30"]
    if n <= 1:
        return stops[:1]
    return [stops[round(i * (len(stops) - 1) / (n - 1))] for i in range(n)]
