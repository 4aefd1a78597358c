"""Charts for regression: data with fitted lines or curves, learned against true weights."""

from __future__ import annotations

import math
from typing import Sequence

import altair as alt
import pandas as pd

from ..i18n import N_, _
from .curves import CATEGORY, LOG_LABELS, fit_width, split_color

# Display names of the curves a regression study reports (the frames keep the short ids)
CURVE_NAMES = {"trained": N_("gradient descent"), "closed form": N_("least squares"), "true": N_("true function")}
# least squares solid, gradient descent dashed, the truth dotted: overlapping lines stay distinguishable
CURVE_STYLE = {"closed form": ("#d62728", [1, 0]), "trained": ("#ff7f0e", [7, 4]), "true": ("#222222", [2, 3])}


def y_window(points: pd.DataFrame, curves: pd.DataFrame | None = None, truth: str = "true", pad: float = 0.12) -> tuple[float, float]:
    """A y range that holds every data point and the true curve over the data's x range, padded.

    Fitted curves are left out on purpose: an overfitted polynomial can reach 1e10, and following it would flatten the
    data and the truth into a line along one edge.
    """
    ys = [points["y"]] if len(points) else []
    if curves is not None and len(curves) and "curve" in curves:
        true = curves[curves["curve"] == truth]
        if len(points):
            true = true[true["x"].between(points["x"].min(), points["x"].max())]
        ys.append(true["y"])
    values = pd.concat(ys) if ys else pd.Series([0.0, 1.0])
    lo, hi = float(values.min()), float(values.max())
    extra = pad * (hi - lo) if hi > lo else 1.0
    return lo - extra, hi + extra


def clip_y(frame: pd.DataFrame, window: tuple[float, float]) -> pd.DataFrame:
    """Curves with y held just beyond `window`: a line leaving the chart is cut at its edge (the mark clips it),
    instead of being drawn from coordinates such as 1e15 or pinned to the border as a box."""
    lo, hi = window
    span = hi - lo
    return frame.assign(y=frame["y"].clip(lo - span, hi + span))


def _solid_first(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows in CURVE_STYLE's order, so dashed and dotted lines are drawn over the solid one they may lie on."""
    rank = {c: i for i, c in enumerate(CURVE_STYLE)}
    return frame.sort_values(column, key=lambda s: s.map(rank).fillna(len(rank)), kind="stable")


def fit_plot(points: pd.DataFrame, fit: pd.DataFrame, *, color_field: str = "line", x_domain: tuple[float, float] | None = None,
             title: str | None = None, height: int = 300) -> alt.LayerChart:
    """Scatter of the data (coloured by split) under fitted lines (coloured by `color_field`), on the data's y range:
    a line that leaves it is cut at the edge."""
    window = y_window(points, fit.rename(columns={color_field: "curve"}))
    xscale = alt.Scale(domain=list(x_domain)) if x_domain else alt.Scale(zero=False)
    yscale = alt.Scale(domain=list(window), nice=False)
    dots = alt.Chart(points).mark_circle(size=28, opacity=0.5).encode(
        x=alt.X("x:Q", title="x", scale=xscale), y=alt.Y("y:Q", title="y", scale=yscale),
        color=split_color(_("data"), present=points["split"].unique()),
        tooltip=[alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("y:Q", format=".3f"), alt.Tooltip("split:N", title=_("split"))],
    )
    lines = _solid_first(clip_y(fit, window), color_field).assign(name=lambda f: f[color_field].map(lambda c: _(CURVE_NAMES.get(c, c))))
    order = [_(CURVE_NAMES.get(c, c)) for c in CURVE_STYLE if c in set(fit[color_field])]
    order += [n for n in lines["name"].unique() if n not in order]
    styles = {_(CURVE_NAMES.get(c, c)): style for c, style in CURVE_STYLE.items()}
    drawn = alt.Chart(lines).mark_line(strokeWidth=2.5, clip=True).encode(
        x=alt.X("x:Q", scale=xscale), y=alt.Y("y:Q", scale=yscale),
        color=alt.Color("name:N", title=_("line"), sort=order, legend=alt.Legend(symbolType="stroke", symbolStrokeWidth=2.5, labelLimit=0),
                        scale=alt.Scale(domain=order, range=[styles.get(n, ("#7f7f7f", [1, 0]))[0] for n in order])),
        strokeDash=alt.StrokeDash("name:N", sort=order, legend=None,
                                  scale=alt.Scale(domain=order, range=[styles.get(n, ("", [1, 0]))[1] for n in order])),
    )
    return alt.layer(dots, drawn).resolve_scale(color="independent").properties(title=title or _("Data and fitted lines"), height=height)


def polynomial_fit(points: pd.DataFrame, curves: pd.DataFrame, *, title: str, x_domain: tuple[float, float] = (-3, 3),
                   y_domain: tuple[float, float] | None = None, curves_shown: Sequence[str] = ("closed form", "trained", "true"),
                   height: int = 260) -> alt.LayerChart:
    """A polynomial fit: training points large and dark, test points small and grey, the least-squares and
    gradient-descent curves and the true function, on a y range that keeps the truth and the data in view.

    `points` has x, y, split; `curves` has x, y, curve (ids 'closed form', 'trained', 'true'). Give several panels the
    same `y_domain` (e.g. from `y_window`) so they compare. One legend, below the plot, names points and curves alike,
    so the chart fits a narrow column.
    """
    window = y_domain or y_window(points, curves)
    xscale = alt.Scale(domain=list(x_domain), nice=False)
    yscale = alt.Scale(domain=list(window), nice=False)
    kinds = {"train": _("training points"), "test": _("test points")}
    shown = [c for c in curves_shown if c in set(curves["curve"])]
    present = [s for s in ("train", "test") if s in set(points["split"])]
    series = [kinds[s] for s in present] + [_(CURVE_NAMES[c]) for c in shown]
    point_style = {"train": ("#1f4e99", "circle"), "test": ("#a0a0a0", "triangle-up")}
    # one legend for every series: colour, symbol and dash share the field, and a line's symbol is a stroke
    color = alt.Color("series:N", title=None, sort=series, legend=alt.Legend(orient="bottom", columns=2, labelLimit=0,
                                                                             symbolStrokeWidth=2.5),
                      scale=alt.Scale(domain=series, range=[point_style[s][0] for s in present] + [CURVE_STYLE[c][0] for c in shown]))
    shape = alt.Shape("series:N", sort=series,
                      scale=alt.Scale(domain=series, range=[point_style[s][1] for s in present] + ["stroke"] * len(shown)))
    dash = alt.StrokeDash("series:N", sort=series,
                          scale=alt.Scale(domain=series, range=[[1, 0]] * len(present) + [CURVE_STYLE[c][1] for c in shown]))
    x, y = alt.X("x:Q", title="x", scale=xscale), alt.Y("y:Q", title="y", scale=yscale)
    dots = points[points["x"].between(*x_domain)].assign(series=points["split"].map(kinds))
    tooltip = [alt.Tooltip("series:N", title=_("what")), alt.Tooltip("x:Q", format=".2f"), alt.Tooltip("y:Q", format=".3g")]
    lines = _solid_first(clip_y(curves[curves["curve"].isin(shown)], window), "curve")
    lines = lines.assign(series=lines["curve"].map(lambda c: _(CURVE_NAMES[c])))
    layers = [alt.Chart(lines).mark_line(strokeWidth=2.2, clip=True).encode(x=x, y=y, color=color, strokeDash=dash, tooltip=tooltip)]
    # points over the curves (test points lie along the truth and would vanish under it), training points on top
    layers += [
        alt.Chart(dots[dots["split"] == split]).mark_point(filled=True, size=size, opacity=opacity, clip=True).encode(
            x=x, y=y, color=color, shape=shape, tooltip=tooltip)
        for split, size, opacity in (("test", 26, 0.75), ("train", 80, 0.95)) if split in present
    ]
    return fit_width(alt.layer(*layers).properties(title=title, height=height))


def weights_compare(frame: pd.DataFrame, *, title: str = "Weights", id_col: str = "feature", symlog: bool = False,
                    names: dict[str, str] | None = None) -> alt.Chart:
    """Grouped bars of true, learned (and closed-form) values per weight; `symlog` for values spanning many decades,
    `names` to show a column under another name."""
    value_cols = [c for c in frame.columns if c != id_col]
    long = frame.melt(id_vars=[id_col], value_vars=value_cols, var_name="source", value_name="value")
    shown = [(names or {}).get(c, c) for c in value_cols]
    long["source"] = long["source"].map(dict(zip(value_cols, shown)))
    y_title = _("value (symmetric log scale)") if symlog else _("value")
    y_axis = alt.Axis(values=_symlog_ticks(long["value"]), labelExpr=LOG_LABELS) if symlog else alt.Axis()
    return alt.Chart(long).mark_bar().encode(
        x=alt.X(f"{id_col}:N", title=id_col.replace("_", " "), sort=list(frame[id_col]), axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("source:N", sort=shown),
        y=alt.Y("value:Q", title=y_title, scale=alt.Scale(type="symlog") if symlog else alt.Scale(), axis=y_axis),
        color=alt.Color("source:N", sort=shown, title="", scale=alt.Scale(scheme=CATEGORY), legend=alt.Legend(labelLimit=0)),
        tooltip=[f"{id_col}:N", "source:N", alt.Tooltip("value:Q", format=".4g")],
    ).properties(title=title, height=260)


def _symlog_ticks(values: pd.Series, most: int = 4) -> list[float]:
    """0 and ±powers of ten up to the largest |value|, at most `most` per sign (Vega's own symlog ticks are sparse)."""
    top = float(values.abs().max()) if len(values) else 1.0
    decades = max(0, math.ceil(math.log10(top))) if top > 0 else 0
    step = max(1, math.ceil((decades + 1) / most))
    powers = [10.0**k for k in range(decades, -1, -step)]
    signs = [s for s in (1, -1) if (values * s > 0).any()]
    return sorted([0.0] + [s * p for s in signs for p in powers])


def coefficient_bars(frame: pd.DataFrame, *, title: str = "Coefficients", symlog: bool = False) -> alt.Chart:
    """Learned against true polynomial coefficients (and the least-squares ones when present), bars per power of x."""
    names = {"true": _("true"), "learned": _("gradient descent"), "closed form": _("least squares")}
    return weights_compare(frame.assign(power=frame["power"].map(lambda p: f"x^{p}")), title=title, id_col="power",
                           symlog=symlog, names=names)
