"""Training curves and metric-against-parameter charts shared by every page."""

from __future__ import annotations

from typing import Mapping, Sequence

import altair as alt
import pandas as pd

from ..i18n import _
from ..metrics import label

SPLIT_ORDER = ["train", "val", "test"]
SPLIT_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c"]


def fit_width(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Fill the column's width but keep the plot's own height: the legends, axes and title are added below and
    above it (with Streamlit's default, a legend under the plot squeezes the plot and pushes the title out of view)."""
    return chart.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


def split_color(title: str = "split", present=None) -> alt.Color:
    """Train/validation/test always in the same colours; `present` (the splits in the data) trims the legend."""
    keep = [s for s in SPLIT_ORDER if present is None or s in set(present)] or SPLIT_ORDER
    colors = [SPLIT_COLORS[SPLIT_ORDER.index(s)] for s in keep]
    return alt.Color("split:N", title=title, sort=keep, scale=alt.Scale(domain=keep, range=colors))


# axis labels for values spanning many decades: plain numbers from 0.001 to 10,000, powers of ten beyond
# (not "10,000,000,000")
LOG_LABELS = "abs(datum.value) >= 1e4 || (abs(datum.value) < 1e-3 && datum.value != 0) ? format(datum.value, '.0e') : format(datum.value, '~g')"
_POWER_OF_TEN = "abs(log(abs(datum.value)) / LN10 - round(log(abs(datum.value)) / LN10)) < 1e-6"


def log_axis(values) -> alt.Axis:
    """A log-scale axis for these values: across two decades or more, a label at each power of ten only (Vega puts
    ticks at 2×, 3×, … too and would label whichever survive the overlap check); over a narrower range, Vega's own."""
    v = pd.Series(values, dtype=float)
    v = v[v > 0]
    if len(v) and v.max() / v.min() >= 100:
        return alt.Axis(labelExpr=f"{_POWER_OF_TEN} ? ({LOG_LABELS}) : ''")
    return alt.Axis()

# a dash pattern per series, cycled, so lines lying on top of each other can still be told apart
DASHES = [[1, 0], [8, 4], [2, 2], [8, 3, 2, 3]]

CATEGORY = "tableau10"  # distinct hues for runs and groups (the default theme's first colours are two blues)


def metric_colors(metrics: Sequence[str]) -> list[str]:
    """A colour per metric: train_*, val_* and test_* in their split's colour, others from a categorical scheme."""
    others = iter(["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"])
    out = []
    for m in metrics:
        split = next((part for part in m.split("_") if part in SPLIT_ORDER), None)  # closed_form_test_loss is a test metric
        out.append(SPLIT_COLORS[SPLIT_ORDER.index(split)] if split else next(others))
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
    mark_y: float | None = None,
    mark_y_label: str = "",
    height: int = 260,
) -> alt.Chart:
    """Loss (or acc) against epoch, a line per split; with `run`, one dash style per value of that column.

    `mark_epoch` draws a vertical rule (e.g. the best epoch), `mark_y` a horizontal one (e.g. the lowest loss the
    model can reach), each named in its tooltip."""
    data = history.dropna(subset=[y])
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    enc = dict(
        x=alt.X("epoch:Q", title="epoch"),
        y=alt.Y(f"{y}:Q", title=label(y), scale=scale, axis=log_axis(data[y]) if log_y else alt.Axis()),
        color=split_color(present=data["split"].unique()),
        tooltip=["epoch", "split", alt.Tooltip(f"{y}:Q", format=".4g")] + ([run] if run else []),
    )
    if run:
        enc["strokeDash"] = alt.StrokeDash(f"{run}:N", title=run.replace("_", " "))
        enc["detail"] = f"{run}:N"
    chart = alt.Chart(data).mark_line().encode(**enc)
    if mark_epoch is not None:
        rule = alt.Chart(pd.DataFrame({"epoch": [mark_epoch], "what": [mark_label]})).mark_rule(strokeDash=[4, 4], color="black").encode(
            x="epoch:Q", tooltip=["what", "epoch"]
        )
        chart = chart + rule
    if mark_y is not None:
        level = alt.Chart(pd.DataFrame({y: [mark_y], "what": [mark_y_label]})).mark_rule(strokeDash=[2, 3], color="#d62728").encode(
            y=f"{y}:Q", tooltip=["what", alt.Tooltip(f"{y}:Q", format=".4g")])
        chart = chart + level
    return chart.properties(title=title or f"{label(y)} by epoch", height=height)


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
    names: Mapping[str, str] | None = None,
    dashed: Sequence[str] = (),
    y_title: str | None = None,
    integer_x: bool = False,
    legend_below: bool = False,
) -> alt.Chart:
    """Metrics against a parameter; several rows per x (folds, seeds) become mean lines with ± std bands.

    With `best`, the x with the lowest mean of that metric is marked. `names` shows metrics under other names in the
    legend, `dashed` draws those metrics dashed (e.g. a second method beside the first), `integer_x` keeps the x ticks
    on whole numbers, `legend_below` puts the legend under the plot (for a narrow column).
    """
    shown = {m: (names or {}).get(m, m) for m in metrics}
    long = frame.melt(id_vars=[x], value_vars=list(metrics), var_name="metric", value_name="value").dropna(subset=["value"])
    long["metric"] = long["metric"].map(shown)
    order = [shown[m] for m in metrics]
    xs = alt.Scale(type="log") if log_x else alt.Scale(zero=False)
    ys = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    y_axis = log_axis(long["value"]) if log_y else alt.Axis()
    legend = dict(orient="bottom", direction="vertical") if legend_below else {}
    legend = alt.Legend(labelLimit=0, **legend, **(dict(symbolType="stroke", symbolStrokeWidth=2.5) if dashed else {}))
    x_axis = alt.Axis(tickMinStep=1, format="d") if integer_x else alt.Axis()
    base = alt.Chart(long).encode(
        x=alt.X(f"{x}:Q", title=label(x), scale=xs, axis=x_axis),
        color=alt.Color("metric:N", title=_("metric"), sort=order, legend=legend,
                        scale=alt.Scale(domain=order, range=metric_colors(metrics))),
    )
    if dashed:  # same field, title and order as the colour: the one legend shows the dashes too
        base = base.encode(strokeDash=alt.StrokeDash("metric:N", title=_("metric"), sort=order, legend=legend, scale=alt.Scale(
            domain=order, range=[[6, 4] if m in dashed else [1, 0] for m in metrics])))
    line = base.mark_line(point=True).encode(
        y=alt.Y("mean(value):Q", title=y_title or ", ".join(label(m) for m in metrics), scale=ys, axis=y_axis),
        tooltip=[alt.Tooltip(f"{x}:Q", format=".4g"), alt.Tooltip("metric:N", title=_("metric")),
                 alt.Tooltip("mean(value):Q", format=".4g", title=_("mean")),
                 alt.Tooltip("stdev(value):Q", format=".3g", title=_("std")), alt.Tooltip("count(value):Q", title=_("runs"))],
    )
    chart = line
    if long.groupby([x, "metric"]).size().max() > 1:
        chart = base.mark_errorband(extent="stdev", opacity=0.2).encode(y=alt.Y("value:Q", scale=ys)) + line
    if best and best in frame:
        means = frame.groupby(x)[best].mean().dropna()
        if len(means):
            at = means.idxmin()
            text = _("lowest {metric}: {value}").format(metric=shown.get(best, label(best)), value=f"{at:g}")
            rule = alt.Chart(pd.DataFrame({x: [at], "best": [text]})).mark_rule(
                strokeDash=[4, 4], color="black"
            ).encode(x=f"{x}:Q", tooltip=["best:N"])
            chart = chart + rule
    default = _("{metrics} against {x}").format(metrics=", ".join(label(m) for m in metrics), x=label(x))
    chart = chart.properties(title=title or default, height=height)
    return fit_width(chart) if legend_below else chart


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
        tooltip=[f"{by}:N", "epoch", "split", alt.Tooltip(f"{y}:Q", format=".4g")],
    ).properties(width=width, height=height)
    sort = list(order) if order else "ascending"
    if columns:
        panels = chart.facet(facet=alt.Facet(f"{by}:N", title=None, sort=sort), columns=columns)
    else:
        panels = chart.facet(column=alt.Column(f"{by}:N", title=None, sort=sort))
    return panels.properties(title=title or f"{label(y)} by epoch")
