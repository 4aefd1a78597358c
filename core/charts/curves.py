"""Training curves and metric-against-parameter charts shared by every page."""

from __future__ import annotations

from typing import Mapping, Sequence

import altair as alt
import pandas as pd

from ..i18n import _
from ..metrics import label, value_text

SPLIT_ORDER = ["train", "val", "test"]
SPLIT_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c"]


def fit_width(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Fill the column's width but keep the plot's own height: the legends, axes and title are added below and
    above it (with Streamlit's default, a legend under the plot squeezes the plot and pushes the title out of view)."""
    return chart.properties(autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


def split_color(title: str = "split", present=None, legend: alt.Legend | None = None) -> alt.Color:
    """Train/validation/test always in the same colours; `present` (the splits in the data) trims the legend."""
    keep = [s for s in SPLIT_ORDER if present is None or s in set(present)] or SPLIT_ORDER
    colors = [SPLIT_COLORS[SPLIT_ORDER.index(s)] for s in keep]
    extra = {"legend": legend} if legend is not None else {}
    return alt.Color("split:N", title=title, sort=keep, scale=alt.Scale(domain=keep, range=colors), **extra)


SPLIT_DASHES = [[1, 0], [6, 3], [2, 2]]  # train solid, validation dashed, test dotted


def split_dash_scale(present=None) -> alt.Scale:
    """Train solid, validation dashed, test dotted, for the splits present."""
    keep = [s for s in SPLIT_ORDER if present is None or s in set(present)] or SPLIT_ORDER
    return alt.Scale(domain=keep, range=[SPLIT_DASHES[SPLIT_ORDER.index(s)] for s in keep])


def split_dash(present=None) -> alt.StrokeDash:
    """Train/validation/test in their own dash too, so curves that overlap stay apart (one legend with the colours)."""
    return alt.StrokeDash("split:N", sort=SPLIT_ORDER, scale=split_dash_scale(present), legend=None)


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
MAX_WIDTH = 880  # the main column's width at a 1400-pixel window: fixed-width charts (facets) stay within it


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
    mark_label: str | None = None,
    mark_y: float | None = None,
    mark_y_label: str = "",
    height: int = 260,
) -> alt.Chart:
    """Loss (or acc) against epoch, a line per split (colour and dash); with `run`, one dash style per value of that
    column instead. `mark_epoch` draws a dashed rule there, labelled with `mark_label` (default: best epoch);
    `mark_y` a horizontal one (e.g. the lowest loss the model can reach), named `mark_y_label` in its tooltip."""
    data = history.dropna(subset=[y])
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    present = data["split"].unique()
    enc = dict(
        x=alt.X("epoch:Q", title=_("epoch")),
        y=alt.Y(f"{y}:Q", title=label(y), scale=scale, axis=log_axis(data[y]) if log_y else alt.Axis()),
        color=split_color(title=_("split"), present=present),
        strokeDash=split_dash(present),
        # tooltips as objects: a list holding plain strings costs Altair ~10× more to build (live charts redraw often)
        tooltip=[alt.Tooltip("epoch:Q"), alt.Tooltip("split:N"), alt.Tooltip(f"{y}:Q", format=".4g")]
        + ([alt.Tooltip(f"{run}:N")] if run else []),
    )
    if run:
        enc["strokeDash"] = alt.StrokeDash(f"{run}:N", title=label(run), legend=alt.Legend(labelLimit=0))
        enc["detail"] = f"{run}:N"
    chart = alt.Chart(data).mark_line().encode(**enc)
    if mark_epoch is not None:
        mark = alt.Chart(pd.DataFrame({"epoch": [mark_epoch], "what": [mark_label or _("best epoch")]}))
        rule = mark.mark_rule(strokeDash=[4, 4], color="black").encode(x="epoch:Q", tooltip=[alt.Tooltip("what:N"), alt.Tooltip("epoch:Q")])
        text = mark.mark_text(align="left", baseline="top", dx=4, dy=4, fontSize=11).encode(x="epoch:Q", y=alt.value(0), text="what:N")
        chart = chart + rule + text
    if mark_y is not None:
        level = alt.Chart(pd.DataFrame({y: [mark_y], "what": [mark_y_label]})).mark_rule(strokeDash=[2, 3], color="#d62728").encode(
            y=f"{y}:Q", tooltip=[alt.Tooltip("what:N"), alt.Tooltip(f"{y}:Q", format=".4g")])
        chart = chart + level
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
    y_title: str | None = None,
    series: str | None = None,
    integer_x: bool | None = None,
    y_floor: float | None = None,
    names: Mapping[str, str] | None = None,
    dashed: Sequence[str] = (),
    legend_below: bool = False,
    tight_x: bool = False,
) -> alt.Chart:
    """Metrics against a parameter; several rows per x (folds, seeds) become mean lines with ± std bands.

    A colour per metric (train, validation and test in their split's colours) and a dash per metric, so overlapping
    lines stay apart; with `series`, a colour per value of that column (a second swept parameter) and a dash per
    metric. With `best`, the x with the lowest mean of that metric is marked and labelled. On a log y axis values ≤ 0
    cannot be drawn and are left out, and a band's lower edge stops at the group's lowest value. Integer x values (a
    degree, a width) get integer ticks: `integer_x` None decides from the data. `y_floor` starts the y axis there,
    cutting lines that fall below it at the chart's edge (so a train loss of 1e-10 does not flatten the curve above).
    `names` shows metrics under other names in the legend, `dashed` draws those metrics dashed (e.g. a second method
    beside the first), `legend_below` puts the legend under the plot (for a narrow column), `tight_x` ends a linear x
    axis at the data (a log axis always does).
    """
    metrics = list(metrics)
    keys = [x] + ([series] if series else [])
    long = frame.melt(id_vars=keys, value_vars=metrics, var_name="metric", value_name="value").dropna(subset=["value"])
    long["value"] = long["value"].astype(float)
    if log_y:
        long = long[long["value"] > 0]
    stats = long.groupby(keys + ["metric"], sort=False)["value"].agg(["mean", "std", "min", "count"]).reset_index()
    stats["std"] = stats["std"].fillna(0.0)
    stats["lower"] = stats["mean"] - stats["std"]
    if log_y:
        stats["lower"] = stats["lower"].where(stats["lower"] > 0, stats["min"])
    stats["upper"] = stats["mean"] + stats["std"]
    if series:
        stats[series] = stats[series].map(value_text)
    shown = {m: (names or {}).get(m, label(m)) for m in metrics}  # "test loss", not the column id "test_loss"
    stats["metric"] = stats["metric"].map(shown)
    order = [shown[m] for m in metrics]
    dashes = [[6, 4] if m in dashed else d for m, d in zip(metrics, _dashes(metrics))]
    floor = {} if y_floor is None else {"domainMin": y_floor}
    ys = alt.Scale(type="log", **floor) if log_y else alt.Scale(zero=False, **floor)
    y_axis = log_axis(stats["mean"]) if log_y else alt.Axis()
    y_name = y_title or _y_title(metrics)
    # one legend for colour and dash, drawn as line samples: a dash pattern round a circle looks like a star
    below = dict(orient="bottom", direction="vertical") if legend_below else {}
    lines = alt.Legend(symbolType="stroke", labelLimit=0, **below)
    dash = alt.StrokeDash("metric:N", title=_("metric"), sort=order, scale=alt.Scale(domain=order, range=dashes), legend=lines)
    if series:
        color = alt.Color(f"{series}:N", title=label(series), scale=alt.Scale(scheme=CATEGORY), legend=alt.Legend(labelLimit=0, **below))
    else:
        color = alt.Color("metric:N", title=_("metric"), sort=order, scale=alt.Scale(domain=order, range=metric_colors(metrics)),
                          legend=lines)
    # a log x axis spans the values swept, not the decades around them ("nice" would pad 0.05..0.5 out to 0.01..1)
    xs = alt.Scale(type="log", nice=False, padding=12) if log_x else alt.Scale(zero=False, **({"nice": False} if tight_x else {}))
    base = alt.Chart(stats).encode(x=alt.X(f"{x}:Q", title=label(x), scale=xs, axis=_x_axis(stats[x], log_x, integer_x)),
                                   color=color)
    detail = [alt.Detail("metric:N")] + ([alt.Detail(f"{series}:N")] if series else [])
    y = alt.Y("mean:Q", title=y_name, scale=ys, axis=y_axis)
    tooltip = [alt.Tooltip(f"{x}:Q", format=".4g"), *([alt.Tooltip(f"{series}:N")] if series else []), alt.Tooltip("metric:N"),
               alt.Tooltip("mean:Q", format=".4g", title=_("mean")), alt.Tooltip("std:Q", format=".3g", title=_("std")),
               alt.Tooltip("count:Q", title=_("runs"))]
    line = base.mark_line(clip=True).encode(y=y, strokeDash=dash, detail=detail, tooltip=tooltip)
    # points as their own layer: a dash pattern drawn round a point turns it into a star
    points = base.mark_point(filled=True, size=36, opacity=1, clip=True).encode(y=y, detail=detail, tooltip=tooltip)
    chart = line + points
    if len(stats) and stats["count"].max() > 1:
        band = base.mark_area(opacity=0.18, clip=True).encode(y=alt.Y("lower:Q", title=y_name, scale=ys), y2="upper:Q", detail=detail)
        chart = band + chart
    if best and best in frame:
        means = frame.groupby(x)[best].mean().dropna()
        if len(means):
            at = means.idxmin()
            text = _("lowest {metric}: {x} = {value}").format(metric=(names or {}).get(best, label(best)), x=label(x),
                                                               value=value_text(at))
            marker = alt.Chart(pd.DataFrame({x: [at], "best": [text]}))
            rule = marker.mark_rule(strokeDash=[2, 2], color="black").encode(x=f"{x}:Q", tooltip=[alt.Tooltip("best:N", title=_("best"))])
            note = marker.mark_text(align="left", baseline="top", dx=4, dy=2, fontSize=11).encode(x=f"{x}:Q", y=alt.value(0), text="best:N")
            chart = chart + rule + note
    default_title = _("{metrics} against {x}").format(metrics=", ".join(label(m) for m in metrics), x=label(x))
    chart = chart.properties(title=title or default_title, height=height)
    return fit_width(chart) if legend_below else chart


def _y_title(metrics: Sequence[str]) -> str:
    """One axis title for the metrics drawn: 'loss' for losses, 'accuracy' for accuracies, else the metric or 'value'."""
    if len(metrics) == 1:
        return label(metrics[0])
    if all(m.endswith("_loss") for m in metrics):
        return _("loss")
    if all(m.endswith("_acc") for m in metrics):
        return _("accuracy")
    return _("value")


def _dashes(metrics: Sequence[str]) -> list[list[int]]:
    """Train solid, validation dashed, test dotted (others in further patterns): lines that overlap stay apart."""
    by_split = dict(zip(SPLIT_ORDER, SPLIT_DASHES))
    others = iter([[8, 3, 2, 3], [4, 4], [1, 3]])
    return [by_split.get(m.split("_", 1)[0]) or next(others, [1, 0]) for m in metrics]


def _x_axis(values: pd.Series, log_x: bool, integer_x: bool | None) -> alt.Axis:
    """Integer parameters get a tick at each value (or whole-number ticks); log axes plain numbers, not 1e+0."""
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if integer_x is None:
        integer_x = len(numbers) > 0 and bool((numbers == numbers.round()).all())
    if integer_x:
        distinct = sorted({int(v) for v in numbers})
        if len(distinct) <= 20:
            return alt.Axis(values=distinct, format="d")
        return alt.Axis(tickMinStep=1, format="d")
    return alt.Axis(format="~g") if log_x else alt.Axis()


def side_by_side_curves(history: pd.DataFrame, by: str, y: str = "loss", *, order: Sequence[str] | None = None,
                        log_y: bool = False, title: str | None = None, height: int = 260, width: int = 300,
                        columns: int | None = None, max_width: int = MAX_WIDTH) -> alt.FacetChart:
    """Training curves (a line per split, dashed apart) in one panel per value of `by`, on shared axes so the panels
    compare; `columns` wraps the panels into rows of that many. Panels narrow, then wrap, so the whole chart stays
    within `max_width` pixels (a facet chart cannot follow its column's width)."""
    data = history.dropna(subset=[y])
    scale = alt.Scale(type="log") if log_y else alt.Scale(zero=False)
    columns, width = panel_layout(data[by].nunique(), width, columns, max_width)
    present = data["split"].unique()
    chart = alt.Chart(data).mark_line().encode(
        x=alt.X("epoch:Q", title=_("epoch")),
        y=alt.Y(f"{y}:Q", title=label(y), scale=scale),
        color=split_color(title=_("split"), present=present, legend=alt.Legend(orient="bottom")),
        strokeDash=split_dash(present),
        tooltip=[alt.Tooltip(f"{by}:N"), alt.Tooltip("epoch:Q"), alt.Tooltip("split:N"), alt.Tooltip(f"{y}:Q", format=".4g")],
    ).properties(width=width, height=height)
    sort = list(order) if order else "ascending"
    # full panel titles: a label cut to the panel's width ("L1 penalty (subgr…") hides what the panel is
    header = alt.Header(labelLimit=0, labelFontSize=12)
    panels = chart.facet(facet=alt.Facet(f"{by}:N", title=None, sort=sort, header=header), columns=columns)
    return panels.properties(title=title or _("{y} by epoch").format(y=label(y)))


MIN_PANEL = 170  # narrowest readable panel, in pixels


def panel_layout(n: int, width: int, columns: int | None, max_width: int, legend: int = 0) -> tuple[int, int]:
    """Columns and panel width for `n` facet panels so that the chart (y axis, gaps, a legend `legend` pixels wide
    beside it) fits in `max_width` pixels."""
    axis, gap = 60, 20
    columns = max(1, min(columns or n, n))
    room = lambda c: (max_width - axis - legend - gap * (c - 1)) // c  # noqa: E731
    while columns > 1 and room(columns) < MIN_PANEL:
        columns -= 1
    return columns, int(max(60, min(width, room(columns))))
