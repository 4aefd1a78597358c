"""Charts for regularization: weight histograms with exact zeros, a strength sweep with its no-penalty baseline,
methods compared as bars, and the convergence of dropout's Monte Carlo mean to the test-time output."""

from __future__ import annotations

import math
from typing import Sequence

import altair as alt
import pandas as pd

from ..i18n import _
from ..metrics import label
from .curves import MAX_WIDTH, metric_colors, panel_layout


def weight_histogram(weights: pd.DataFrame, *, by: str = "method", order: Sequence[str] | None = None, maxbins: int = 40,
                     title: str | None = None, height: int = 220, width: int = 220,
                     max_width: int = MAX_WIDTH) -> alt.FacetChart:
    """A histogram of the weights per value of `by`; weights that are exactly 0 are stacked in their own colour.
    Panels narrow, then wrap, to stay within `max_width` pixels; their titles are never cut."""
    columns, width = panel_layout(weights[by].nunique(), width, None, max_width, legend=100)
    zero, other = _("exactly 0"), _("non-zero")
    data = weights.assign(kind=(weights["weight"] == 0).map({True: zero, False: other}))
    lo, hi = float(data["weight"].min()), float(data["weight"].max())
    if hi - lo < 1e-12:
        lo, hi = lo - 1e-3, hi + 1e-3
    return alt.Chart(data).mark_bar(binSpacing=0).encode(
        x=alt.X("weight:Q", bin=alt.Bin(maxbins=maxbins, extent=[lo, hi]), title=_("weight value")),
        y=alt.Y("count():Q", title=_("number of weights")),
        color=alt.Color("kind:N", title="", sort=[zero, other], scale=alt.Scale(domain=[zero, other], range=["#d62728", "#1f77b4"])),
        order=alt.Order("kind:N", sort="ascending"),
        tooltip=[alt.Tooltip("kind:N"), alt.Tooltip("count():Q", title=_("weights"))],
    ).properties(width=width, height=height).facet(
        facet=alt.Facet(f"{by}:N", title=None, sort=list(order) if order else "ascending", header=alt.Header(labelLimit=0)),
        columns=columns,
    ).properties(title=title or _("Weights after training"))


def sweep_with_baseline(runs: pd.DataFrame, x: str, metrics: Sequence[str], baseline: dict[str, float] | None = None, *,
                        log_x: bool = True, log_y: bool = True, title: str | None = None, height: int = 280) -> alt.LayerChart:
    """Metrics against a strength (log x) as solid lines with points; each metric's no-penalty value as a dashed
    rule in the same colour, the two line styles named in a legend."""
    swept, flat = _("with the penalty"), _("no penalty")
    names = [label(m) for m in metrics]  # the legend shows 'test loss', not the column name 'test_loss'
    long = runs.melt(id_vars=[x], value_vars=list(metrics), var_name="metric", value_name="value").dropna(subset=["value"])
    long["metric"], long["line"] = long["metric"].map(label), swept
    ys = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    color = alt.Color("metric:N", title=_("metric"), sort=names,
                      scale=alt.Scale(domain=names, range=metric_colors(metrics)))
    dash = alt.StrokeDash("line:N", title=_("line"), scale=alt.Scale(domain=[swept, flat], range=[[1, 0], [5, 4]]),
                          legend=alt.Legend(symbolType="stroke", symbolStrokeColor="#555555", symbolStrokeWidth=2))
    # the points in a layer of their own: on a line with point=True, the dash legend's symbols lose their stroke
    base_line = alt.Chart(long).encode(
        x=alt.X(f"{x}:Q", title=label(x), scale=alt.Scale(type="log") if log_x else alt.Scale(zero=False)),
        y=alt.Y("value:Q", title=", ".join(names), scale=ys),
        color=color,
        tooltip=[alt.Tooltip(f"{x}:Q", format=".4g"), alt.Tooltip("metric:N"), alt.Tooltip("value:Q", format=".4g")],
    )
    layers = [base_line.mark_line().encode(strokeDash=dash), base_line.mark_point(filled=True, opacity=1)]
    if baseline:
        base = pd.DataFrame({"metric": list(baseline), "value": list(baseline.values())})
        base = base[base["metric"].isin(metrics)].dropna()
        base["metric"], base["line"] = base["metric"].map(label), flat
        base["what"] = base["metric"].map(lambda m: _("{metric} without a penalty").format(metric=m))
        layers.append(alt.Chart(base).mark_rule().encode(
            y=alt.Y("value:Q", scale=ys), color=color, strokeDash=dash,
            tooltip=[alt.Tooltip("what:N"), alt.Tooltip("value:Q", format=".4g")],
        ))
    return alt.layer(*layers).properties(title=title or _("{metrics} against {x}").format(
        metrics=", ".join(names), x=label(x)), height=height)


def compare_bars(runs: pd.DataFrame, by: str, metrics: Sequence[str], *, order: Sequence[str] | None = None,
                 log_x: bool = False, title: str | None = None, height_per_bar: int = 16) -> alt.LayerChart:
    """Grouped horizontal bars: one group per value of `by` (its full name on the y axis), one bar per metric,
    each bar labelled with its value."""
    names = [label(m) for m in metrics]
    long = runs.melt(id_vars=[by], value_vars=list(metrics), var_name="metric", value_name="value").dropna(subset=["value"])
    long["metric"] = long["metric"].map(label)
    sort = list(order) if order else None
    if log_x:
        long = long[long["value"] > 0]  # a log axis has no zero
    xscale = alt.Scale(type="log") if log_x else alt.Scale(zero=True)
    enc = dict(
        y=alt.Y(f"{by}:N", title=None, sort=sort, axis=alt.Axis(labelLimit=0)),
        yOffset=alt.YOffset("metric:N", sort=names),
        x=alt.X("value:Q", title=", ".join(names), scale=xscale),
        color=alt.Color("metric:N", title=None, sort=names, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=names, range=metric_colors(metrics))),
        tooltip=[alt.Tooltip(f"{by}:N"), alt.Tooltip("metric:N"), alt.Tooltip("value:Q", format=".4g")],
    )
    if log_x and len(long):
        # bars grow from a power of ten below the smallest value
        enc["x2"] = alt.datum(10.0 ** math.floor(math.log10(float(long["value"].min()))))
    bars = alt.Chart(long).mark_bar().encode(**enc)
    text = alt.Chart(long).mark_text(align="left", dx=3, fontSize=10).encode(
        y=enc["y"], yOffset=enc["yOffset"], x=alt.X("value:Q", scale=xscale), text=alt.Text("value:Q", format=".3g"),
    )
    return alt.layer(bars, text).properties(title=title or _("Compared"), height=alt.Step(height_per_bar))


def dropout_convergence(running: pd.DataFrame, summary: pd.DataFrame, *, height: int = 260, width: int = 300) -> alt.HConcatChart:
    """Per scheme: the running mean of each output unit over sampled masks (solid) approaching its test-time
    output (dashed), with the number of masks on a log axis."""
    charts = []
    targets = summary[summary["stage"] == "linear"]
    for scheme in running["scheme"].unique():
        color = alt.Color("unit:N", title=_("output unit"), scale=alt.Scale(scheme="category10"))
        lines = alt.Chart(running[running["scheme"] == scheme]).mark_line().encode(
            x=alt.X("n_masks:Q", title=_("masks averaged"), scale=alt.Scale(type="log")),
            y=alt.Y("running_mean:Q", title=_("mean training-time output"), scale=alt.Scale(zero=False)),
            color=color,
            tooltip=[alt.Tooltip("unit:N"), alt.Tooltip("n_masks:Q"), alt.Tooltip("running_mean:Q", format=".4f")],
        )
        rules = alt.Chart(targets[targets["scheme"] == scheme]).mark_rule(strokeDash=[5, 4]).encode(
            y="test_output:Q", color=color,
            tooltip=[alt.Tooltip("unit:N"), alt.Tooltip("test_output:Q", format=".4f", title=_("test-time output"))],
        )
        charts.append(alt.layer(lines, rules).properties(title=_(str(scheme)), width=width, height=height))
    return alt.hconcat(*charts).properties(title=_("Average over masks (solid) → test-time output (dashed)"))
