"""Charts for regularization: weight histograms with exact zeros, a strength sweep with its no-penalty baseline,
methods compared as bars, and the convergence of dropout's Monte Carlo mean to the test-time output."""

from __future__ import annotations

import math
from typing import Sequence

import altair as alt
import pandas as pd

from ..i18n import _
from ..metrics import label
from .curves import MAX_WIDTH, metric_colors, metric_names, panel_layout, shown_as


def weight_histogram(weights: pd.DataFrame, *, by: str = "method", order: Sequence[str] | None = None, maxbins: int = 40,
                     title: str | None = None, height: int = 220, width: int = 220,
                     max_width: int = MAX_WIDTH) -> alt.FacetChart:
    """A histogram of the weights per value of `by`; weights that are exactly 0 are stacked in their own colour.
    Panels narrow, then wrap, to stay within `max_width` pixels; their titles are never cut."""
    columns, width = panel_layout(weights[by].nunique(), width, None, max_width, legend=100)
    data = weights.assign(kind=(weights["weight"] == 0).map({True: "exactly 0", False: "non-zero"}))
    lo, hi = float(data["weight"].min()), float(data["weight"].max())
    if hi - lo < 1e-12:
        lo, hi = lo - 1e-3, hi + 1e-3
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("weight:Q", bin=alt.Bin(maxbins=maxbins, extent=[lo, hi]), title=_("weight value")),
        y=alt.Y("count():Q", title=_("number of weights")),
        color=alt.Color("kind:N", title="", sort=["exactly 0", "non-zero"],
                        legend=alt.Legend(**shown_as({"exactly 0": _("exactly 0"), "non-zero": _("non-zero")})),
                        scale=alt.Scale(domain=["exactly 0", "non-zero"], range=["#d62728", "#1f77b4"])),
        order=alt.Order("kind:N", sort="ascending"),
        tooltip=["kind:N", alt.Tooltip("count():Q", title=_("weights"))],
    ).properties(width=width, height=height).facet(
        facet=alt.Facet(f"{by}:N", title=None, sort=list(order) if order else "ascending", header=alt.Header(labelLimit=0)),
        columns=columns,
    ).properties(title=title or _("Weights after training"))


def sweep_with_baseline(runs: pd.DataFrame, x: str, metrics: Sequence[str], baseline: dict[str, float] | None = None, *,
                        log_x: bool = True, log_y: bool = True, title: str | None = None, height: int = 280) -> alt.LayerChart:
    """Metrics against a strength (log x) as lines with points; each metric's no-penalty value as a dashed rule."""
    long = runs.melt(id_vars=[x], value_vars=list(metrics), var_name="metric", value_name="value").dropna(subset=["value"])
    ys = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    color = alt.Color("metric:N", title=_("metric"), sort=list(metrics), legend=alt.Legend(**metric_names(metrics)),
                      scale=alt.Scale(domain=list(metrics), range=metric_colors(metrics)))
    lines = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X(f"{x}:Q", title=label(x), scale=alt.Scale(type="log") if log_x else alt.Scale(zero=False)),
        y=alt.Y("value:Q", title=", ".join(label(m) for m in metrics), scale=ys),
        color=color,
        tooltip=[alt.Tooltip(f"{x}:Q", format=".4g"), "metric:N", alt.Tooltip("value:Q", format=".4g")],
    )
    layers = [lines]
    if baseline:
        base = pd.DataFrame({"metric": list(baseline), "value": list(baseline.values())})
        base = base[base["metric"].isin(metrics)].dropna()
        base["what"] = base["metric"].map(lambda m: _("{metric} without a penalty").format(metric=label(m)))
        layers.append(alt.Chart(base).mark_rule(strokeDash=[5, 4]).encode(
            y=alt.Y("value:Q", scale=ys), color=color, tooltip=["what:N", alt.Tooltip("value:Q", format=".4g")]
        ))
    return alt.layer(*layers).properties(title=title or _("{metrics} against {x}").format(
        metrics=", ".join(label(m) for m in metrics), x=label(x)), height=height)


def compare_bars(runs: pd.DataFrame, by: str, metrics: Sequence[str], *, order: Sequence[str] | None = None,
                 log_y: bool = False, title: str | None = None, height: int = 260) -> alt.Chart:
    """Grouped bars: one group per value of `by`, one bar per metric."""
    long = runs.melt(id_vars=[by], value_vars=list(metrics), var_name="metric", value_name="value").dropna(subset=["value"])
    sort = list(order) if order else None
    enc = dict(
        x=alt.X(f"{by}:N", title=None, sort=sort, axis=alt.Axis(labelAngle=-20)),
        xOffset=alt.XOffset("metric:N", sort=list(metrics)),
        y=alt.Y("value:Q", title=", ".join(label(m) for m in metrics), scale=alt.Scale(type="log") if log_y else alt.Scale()),
        color=alt.Color("metric:N", title=_("metric"), sort=list(metrics), legend=alt.Legend(**metric_names(metrics)),
                        scale=alt.Scale(domain=list(metrics), range=metric_colors(metrics))),
        tooltip=[f"{by}:N", "metric:N", alt.Tooltip("value:Q", format=".4g")],
    )
    if log_y:
        # a log axis has no zero: bars grow from a power of ten below the smallest value instead
        positive = long.loc[long["value"] > 0, "value"]
        long = long[long["value"] > 0]
        if len(positive):
            enc["y2"] = alt.datum(10.0 ** math.floor(math.log10(float(positive.min()))))
    return alt.Chart(long).mark_bar().encode(**enc).properties(title=title, height=height)


def dropout_convergence(running: pd.DataFrame, summary: pd.DataFrame, *, height: int = 260, width: int = 300) -> alt.HConcatChart:
    """Per scheme: the running mean of each output unit over sampled masks (solid) approaching its test-time
    output (dashed), with the number of masks on a log axis."""
    charts = []
    targets = summary[summary["stage"] == "linear"]
    for scheme in running["scheme"].unique():
        color = alt.Color("unit:N", title=_("output unit"))
        lines = alt.Chart(running[running["scheme"] == scheme]).mark_line().encode(
            x=alt.X("n_masks:Q", title=_("masks averaged"), scale=alt.Scale(type="log")),
            y=alt.Y("running_mean:Q", title=_("mean training-time output"), scale=alt.Scale(zero=False)),
            color=color,
            tooltip=["unit:N", "n_masks:Q", alt.Tooltip("running_mean:Q", format=".4f")],
        )
        rules = alt.Chart(targets[targets["scheme"] == scheme]).mark_rule(strokeDash=[5, 4]).encode(
            y="test_output:Q", color=color, tooltip=["unit:N", alt.Tooltip("test_output:Q", format=".4f", title=_("test-time output"))],
        )
        scheme_name = {"classic": _("classic"), "inverted (PyTorch)": _("inverted (PyTorch)")}.get(scheme, scheme)
        charts.append(alt.layer(lines, rules).properties(title=scheme_name, width=width, height=height))
    return alt.hconcat(*charts).properties(title=_("Average over masks → test-time output (dashed)"))
