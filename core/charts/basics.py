"""Charts for the neural-network basics page: activations, softmax temperature, gradients by depth, decision boundaries."""

from __future__ import annotations

import altair as alt
import pandas as pd

from ..i18n import _
from .curves import DASHES, fit_width, log_axis

ACTIVATION_ORDER = ["sigmoid", "tanh", "relu", "leaky_relu"]
ACTIVATION_COLORS = ["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c"]
# LeakyReLU lies on ReLU for x > 0 (and its gradients track ReLU's): dashed, over a solid ReLU, both stay visible
ACTIVATION_DASHES = [[1, 0], [1, 0], [1, 0], [6, 4]]


def activation_dash() -> alt.StrokeDash:
    """The same dash per activation on every chart of the page (its legend merges with `activation_color`'s)."""
    return alt.StrokeDash("activation:N", title=_("activation"), sort=ACTIVATION_ORDER,
                          scale=alt.Scale(domain=ACTIVATION_ORDER, range=ACTIVATION_DASHES))


def activation_color(title: str | None = None, legend: bool = True) -> alt.Color:
    """Each activation in the same colour on every chart of the page (a legend of line symbols, dashes included)."""
    shown = alt.Legend(symbolType="stroke", symbolStrokeWidth=2.5, labelLimit=0) if legend else None
    return alt.Color("activation:N", title=title or _("activation"), sort=ACTIVATION_ORDER,
                     scale=alt.Scale(domain=ACTIVATION_ORDER, range=ACTIVATION_COLORS), legend=shown)


def activation_curves(table: pd.DataFrame, y: str = "value", *, title: str | None = None, height: int = 260) -> alt.Chart:
    """f(x) (y='value') or f'(x) (y='derivative') against x, a line per activation."""
    y_title = {"value": "f(x)", "derivative": _("f′(x) (autograd)")}.get(y, y)
    return fit_width(alt.Chart(table).mark_line(strokeWidth=2.2).encode(
        x=alt.X("x:Q", title="x"),
        y=alt.Y(f"{y}:Q", title=y_title),
        color=activation_color(),
        strokeDash=activation_dash(),
        tooltip=["activation:N", alt.Tooltip("x:Q", format=".2f"), alt.Tooltip(f"{y}:Q", format=".4f")],
    ).properties(title=title or (_("Activation functions") if y == "value" else _("Their derivatives")), height=height))


def softmax_bars(table: pd.DataFrame, *, title: str | None = None, height: int = 240) -> alt.Chart:
    """Probability of each class at one temperature, the logit in the tooltip."""
    t = float(table["temperature"].iloc[0]) if len(table) else 1.0
    return alt.Chart(table).mark_bar().encode(
        x=alt.X("class:N", title=_("class"), sort=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("probability:Q", title=_("probability"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("class:N", title=_("class"), sort=None, legend=None),
        tooltip=["class:N", alt.Tooltip("logit:Q", format=".3g"), alt.Tooltip("probability:Q", format=".4f")],
    ).properties(title=title or _("softmax(z / T) at T = {t}").format(t=f"{t:g}"), height=height)


def softmax_sweep_chart(sweep: pd.DataFrame, temperature: float | None = None, *, title: str | None = None,
                        height: int = 240) -> alt.Chart:
    """Each class's probability against T (log scale), a rule at the chosen T; dashes tell apart the lines that
    meet at a high T."""
    classes = list(dict.fromkeys(sweep["class"]))
    chart = alt.Chart(sweep).mark_line(strokeWidth=2).encode(
        x=alt.X("temperature:Q", title=_("temperature T (log scale)"), scale=alt.Scale(type="log")),
        y=alt.Y("probability:Q", title=_("probability"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("class:N", title=_("class"), sort=classes, legend=alt.Legend(symbolType="stroke", symbolStrokeWidth=2.5)),
        strokeDash=alt.StrokeDash("class:N", title=_("class"), sort=classes, scale=alt.Scale(
            domain=classes, range=[DASHES[i % len(DASHES)] for i in range(len(classes))])),
        tooltip=["class:N", alt.Tooltip("temperature:Q", format=".3g"), alt.Tooltip("probability:Q", format=".4f")],
    )
    if temperature is not None:
        rule = alt.Chart(pd.DataFrame({"temperature": [temperature], "what": [_("chosen T")]})).mark_rule(
            strokeDash=[4, 4], color="black").encode(x="temperature:Q", tooltip=["what:N", "temperature:Q"])
        chart = chart + rule
    return fit_width(chart.properties(title=title or _("Probabilities against temperature"), height=height))


def gradient_by_depth(summary: pd.DataFrame, *, mark_depth: int | None = None, title: str | None = None,
                      height: int = 300) -> alt.Chart:
    """First-layer gradient norm against depth (log scale): mean over seeds as a line, min–max as a band."""
    ys = alt.Scale(type="log")
    base = alt.Chart(summary).encode(x=alt.X("depth:Q", title=_("hidden layers (depth)"), axis=alt.Axis(tickMinStep=1, format="d")),
                                     color=activation_color())
    band = base.mark_area(opacity=0.15).encode(y=alt.Y("grad_min:Q", scale=ys), y2="grad_max:Q", color=activation_color(legend=False))
    line = base.mark_line(point=True).encode(
        y=alt.Y("grad_norm:Q", title=_("‖∂L/∂W₁‖ (log scale)"), scale=ys, axis=log_axis(summary["grad_norm"])),
        strokeDash=activation_dash(),
        tooltip=["activation:N", "depth:Q", alt.Tooltip("grad_norm:Q", format=".3e", title=_("mean over seeds")),
                 alt.Tooltip("grad_min:Q", format=".3e", title=_("min")), alt.Tooltip("grad_max:Q", format=".3e", title=_("max"))],
    )
    chart = band + line
    if mark_depth is not None:
        chart = chart + alt.Chart(pd.DataFrame({"depth": [mark_depth]})).mark_rule(strokeDash=[4, 4], color="black").encode(x="depth:Q")
    return fit_width(chart.properties(title=title or _("Gradient reaching the first layer, by depth"), height=height))


def gradient_by_layer(norms: pd.DataFrame, depth: int, *, title: str | None = None, height: int = 300) -> alt.Chart:
    """In the network of `depth` hidden layers: each layer's weight-gradient norm (mean over seeds), output layer last."""
    data = norms[norms["depth"] == depth].groupby(["activation", "layer"], sort=False)["grad_norm"].mean().reset_index()
    return fit_width(alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("layer:Q", title=_("layer (1 = first, last = output)"), axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("grad_norm:Q", title=_("‖∂L/∂W‖ (log scale)"), scale=alt.Scale(type="log"), axis=log_axis(data["grad_norm"])),
        color=activation_color(),
        strokeDash=activation_dash(),
        tooltip=["activation:N", "layer:Q", alt.Tooltip("grad_norm:Q", format=".3e")],
    ).properties(title=title or _("Every layer's gradient at depth {depth}").format(depth=depth), height=height))


def decision_boundary(boundary: pd.DataFrame, points: pd.DataFrame | None = None, *, title: str = "Decision boundary",
                      height: int = 300) -> alt.LayerChart:
    """P(class 1) over a grid as a coloured background, the 0.5 contour visible as the colour change, data on top."""
    xs = sorted(boundary["x1"].unique())
    ys = sorted(boundary["x2"].unique())
    dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1)
    dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1)
    grid = boundary.assign(x1_end=boundary["x1"] + dx, x2_end=boundary["x2"] + dy)
    xscale = alt.Scale(domain=[float(xs[0]), float(xs[-1] + dx)], nice=False)
    yscale = alt.Scale(domain=[float(ys[0]), float(ys[-1] + dy)], nice=False)
    background = alt.Chart(grid).mark_rect().encode(
        x=alt.X("x1:Q", title="x₁", scale=xscale), x2="x1_end:Q",
        y=alt.Y("x2:Q", title="x₂", scale=yscale), y2="x2_end:Q",
        # light, opaque tiles (overlapping translucent tiles draw a grid) so the data points stand out
        color=alt.Color("p_class1:Q", title="P(class 1)",
                        scale=alt.Scale(domain=[0, 0.5, 1], range=["#f4a582", "#f7f7f7", "#92c5de"])),
    )
    layers = [background]
    if points is not None and len(points):
        layers.append(alt.Chart(points).mark_point(filled=True, size=22, stroke="black", strokeWidth=0.4).encode(
            x=alt.X("x1:Q", scale=xscale), y=alt.Y("x2:Q", scale=yscale),
            shape=alt.Shape("label:N", title="true class"),
            fill=alt.Fill("label:N", title="true class", scale=alt.Scale(domain=["0", "1"], range=["#b2182b", "#2166ac"])),
            tooltip=["label:N", alt.Tooltip("x1:Q", format=".2f"), alt.Tooltip("x2:Q", format=".2f")],
        ))
    return alt.layer(*layers).resolve_scale(color="independent").properties(title=title, height=height)
