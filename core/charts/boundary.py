"""The decision boundary of a 2-D classifier: class probabilities as a shaded field, the points on top.

The chart's spec depends only on the number of classes and the splits present, never on the numbers: scale
domains come from the data at draw time (Vega computes them), so a page that redraws it while a model trains
(`ui.live.draw`) sends only new data and the browser keeps the same chart.
"""

from __future__ import annotations

from typing import Sequence

import altair as alt
import pandas as pd

from ..i18n import _

LEVELS = 6  # shades of confidence per class with more than two classes
CLASS_COLORS = ["#2166ac", "#d6604d", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666", "#17becf"]
SPLIT_SHAPES = {"train": "circle", "val": "square", "test": "triangle-up"}


def boundary_chart(field: pd.DataFrame, points: pd.DataFrame | None = None, *, n_classes: int | None = None,
                   splits: Sequence[str] | None = None, title: str | None = None, height: int = 400,
                   axis_titles: tuple[str, str] = ("x₁", "x₂")) -> alt.LayerChart:
    """The field of `core.boundary.boundary_frame` with the points of `points_frame` on top.

    Two classes: the field is p(class 1) on a diverging scale (white where the model is undecided, 0.5); more
    classes: the predicted class's colour, paler where the model is less sure (white at 1/k). Points are filled
    with their label's colour; their shape tells the split (train ●, validation ■, test ▲ outlined in black).
    `n_classes` and `splits` default to what the frames hold; pass them to keep the spec fixed across redraws.
    `axis_titles` name the two inputs (a table's columns).
    """
    if n_classes is None:
        labels = points["label"] if points is not None and len(points) else field["predicted"]
        n_classes = max(2, int(labels.max()) + 1, int(field["predicted"].max()) + 1)
    classes = list(range(n_classes))
    palette = CLASS_COLORS[:n_classes]
    x = alt.X("x1_lo:Q", title=axis_titles[0], scale=alt.Scale(zero=False, nice=False))
    y = alt.Y("x2_lo:Q", title=axis_titles[1], scale=alt.Scale(zero=False, nice=False))
    # each tile reaches a hair into its neighbours: tiles that only touch leave anti-aliased seams. Computed in the
    # chart (a calculate transform), so the chart draws the very frame it was given and a live redraw swaps only data
    overlap = [{"calculate": "datum.x1_hi + 0.3 * (datum.x1_hi - datum.x1_lo)", "as": "x1_end"},
               {"calculate": "datum.x2_hi + 0.3 * (datum.x2_hi - datum.x2_lo)", "as": "x2_end"}]
    tooltip = [alt.Tooltip("x1:Q", format=".2f", title="x₁"), alt.Tooltip("x2:Q", format=".2f", title="x₂"),
               alt.Tooltip("predicted:N", title=_("predicted class")),
               alt.Tooltip("confidence:Q", format=".0%", title=_("confidence"))]
    # opaque tiles in light tints: translucent tiles let hairlines show where neighbours meet
    if n_classes == 2:
        color = alt.Color("p_class1:Q", title=_("p(class 1)"),
                          scale=alt.Scale(domain=[0, 0.5, 1], range=[_tint(palette[0], 0.4), "#ffffff", _tint(palette[1], 0.4)]),
                          legend=alt.Legend(gradientLength=90, format=".1f"))
        cells = alt.Chart(field, transform=overlap).mark_rect().encode(x=x, x2="x1_end:Q", y=y, y2="x2_end:Q", color=color,
                                                                     tooltip=tooltip)
    else:
        # the predicted class's colour, mixed with white by how unsure the model is (LEVELS steps of confidence)
        shades = [_tint(c, 0.45 * level / (LEVELS - 1)) for c in palette for level in range(LEVELS)]
        shaded = field if "shade" in field else shade_cells(field, n_classes)
        cells = alt.Chart(shaded, transform=overlap).mark_rect().encode(
            x=x, x2="x1_end:Q", y=y, y2="x2_end:Q",
            color=alt.Color("shade:O", scale=alt.Scale(domain=list(range(len(shades))), range=shades), legend=None),
            tooltip=tooltip,
        )
    layers = [cells]
    if points is not None and len(points):
        present = [s for s in SPLIT_SHAPES if s in set(points["split"] if splits is None else splits)]
        names = {"train": _("train"), "val": _("validation"), "test": _("test")}
        shape = alt.Shape("split:N", title=_("points"), scale=alt.Scale(domain=present, range=[SPLIT_SHAPES[s] for s in present]),
                          legend=alt.Legend(labelExpr=_split_label_expr(names), symbolFillColor="#888888",
                                            symbolStrokeColor="#222222", symbolSize=60))
        encoding = dict(
            x=alt.X("x1:Q"), y=alt.Y("x2:Q"), shape=shape,
            fill=alt.Fill("label:N", title=_("class"), scale=alt.Scale(domain=classes, range=palette)),
            tooltip=[alt.Tooltip("split:N", title=_("split")), alt.Tooltip("label:N", title=_("true class")),
                     alt.Tooltip("x1:Q", format=".2f", title="x₁"), alt.Tooltip("x2:Q", format=".2f", title="x₂")],
        )
        # test points first, small and lighter; the training points (what the model fits) large, on top
        for outline, size, opacity, keep in (("black", 28, 0.7, "datum.split === 'test'"),
                                             ("white", 75, 1.0, "datum.split !== 'test'")):
            layers.append(alt.Chart(points).transform_filter(keep).mark_point(
                filled=True, size=size, stroke=outline, strokeWidth=1, opacity=opacity).encode(**encoding))
    chart = alt.layer(*layers)
    return chart.properties(title=title or _("Decision boundary"), height=height)


def shade_cells(field: pd.DataFrame, n_classes: int) -> pd.DataFrame:
    """The field with `shade`: its predicted class × LEVELS + how sure the model is (0 undecided … LEVELS-1 certain), the
    colour a cell gets with more than two classes. A field that has it already is drawn as it is (a live view computes
    it with the field, so the chart's data is the frame it was given)."""
    level = ((field["confidence"] - 1.0 / n_classes) / (1 - 1.0 / n_classes) * (LEVELS - 1)).round().clip(0, LEVELS - 1)
    return field.assign(shade=(field["predicted"] * LEVELS + level).astype(int))


def _tint(color: str, strength: float) -> str:
    """`color` mixed with white: strength 1 is the colour itself, 0 is white."""
    rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - c) * strength):02x}" for c in rgb)


def _split_label_expr(names: dict[str, str]) -> str:
    """A Vega expression showing each split's display name in the legend."""
    parts = " : ".join(f"datum.label === {k!r} ? {v!r}" for k, v in names.items())
    return f"{parts} : datum.label"
