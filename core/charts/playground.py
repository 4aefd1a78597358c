"""The Playground's live charts: the network diagram and the loss/accuracy curves, each with a spec that depends only
on the view (how many runs, which splits), never on the numbers, so a live page sends only new data
(`core.charts.stable.FixedSpec`); and charts as PNG or SVG files.
"""

from __future__ import annotations

import io
from typing import Sequence

import altair as alt
import pandas as pd

from ..i18n import _
from .curves import SPLIT_COLORS, SPLIT_DASHES, SPLIT_ORDER

SIGN_COLORS = {"positive": "#2166ac", "negative": "#e08214"}  # blue and orange, as the boundary's classes 0 and 1
RUN_DASHES = [[1, 0], [5, 3]]  # panel A solid, panel B dashed


def network_chart(nodes: pd.DataFrame, edges: pd.DataFrame, layers: pd.DataFrame, *, title: str | None = None,
                  height: int = 220) -> alt.LayerChart:
    """The network of `core.playground.network_frames`: a line per weight, as wide as the weight is large (relative to
    the largest), blue for positive and orange for negative weights (said in the title); a dot per unit; each layer's
    width on top."""
    axis = dict(axis=None, scale=alt.Scale(zero=False, nice=False, padding=12))
    lines = alt.Chart(edges).mark_rule(opacity=0.75).encode(
        x=alt.X("x:Q", **axis), y=alt.Y("y:Q", **axis), x2="x2:Q", y2="y2:Q",
        strokeWidth=alt.StrokeWidth("magnitude:Q", scale=alt.Scale(range=[0.1, 5]), legend=None),
        color=alt.Color("sign:N", scale=alt.Scale(domain=list(SIGN_COLORS), range=list(SIGN_COLORS.values())),
                        legend=None),  # the title names the colours: a legend would take the diagram's height
        tooltip=[alt.Tooltip("weight:Q", format=".3f", title=_("weight"))],
    )
    dots = alt.Chart(nodes).mark_circle(size=70, color="#444444", opacity=1).encode(x="x:Q", y="y:Q")
    text = alt.Chart(layers).mark_text(fontSize=11, baseline="bottom").encode(x="x:Q", y="y:Q", text="text:N")
    # the colour key as a subtitle: one long title was cut to the narrow column ("Network (weights: blue +, or…")
    heading = title or alt.TitleParams(_("Network"), subtitle=_("weights: blue +, orange −"))
    return alt.layer(lines, dots, text).properties(title=heading, height=height,
                                                   view=alt.ViewBackground(stroke=None))


def live_curves(history: pd.DataFrame, y: str, *, runs: Sequence[str], splits: Sequence[str], title: str,
                height: int = 220) -> alt.Chart:
    """Loss or accuracy (`y`) against epoch for the runs (`run` column) and splits named: a colour per split, a dash
    per run (the first solid). Scales come from the data, so only the data changes from one redraw to the next."""
    keep = [s for s in SPLIT_ORDER if s in splits]
    names = {"train": _("train"), "val": _("validation"), "test": _("test")}
    label_expr = " : ".join(f"datum.label === {k!r} ? {v!r}" for k, v in names.items()) + " : datum.label"
    encoding = dict(
        x=alt.X("epoch:Q", title=_("epoch"), scale=alt.Scale(zero=False, nice=False)),
        y=alt.Y(f"{y}:Q", title=_("loss (cross-entropy)") if y == "loss" else _("accuracy"),
                scale=alt.Scale(zero=False) if y == "loss" else alt.Scale(domain=[0, 1])),
        color=alt.Color("split:N", title=_("split"), scale=alt.Scale(domain=keep, range=[SPLIT_COLORS[SPLIT_ORDER.index(s)] for s in keep]),
                        legend=alt.Legend(orient="bottom", labelExpr=label_expr)),
        tooltip=[alt.Tooltip("run:N", title=_("run")), alt.Tooltip("split:N", title=_("split")), alt.Tooltip("epoch:Q"),
                 alt.Tooltip(f"{y}:Q", format=".4f")],
    )
    if len(runs) > 1:
        encoding["strokeDash"] = alt.StrokeDash("run:N", title=_("run"), scale=alt.Scale(domain=list(runs), range=RUN_DASHES[: len(runs)]),
                                                legend=alt.Legend(orient="bottom", labelLimit=0))
        encoding["detail"] = "run:N"
    else:
        encoding["strokeDash"] = alt.StrokeDash("split:N", scale=alt.Scale(domain=keep, range=[SPLIT_DASHES[SPLIT_ORDER.index(s)] for s in keep]),
                                                legend=None)
    return alt.Chart(history).mark_line(clip=True).encode(**encoding).properties(title=title, height=height)


def curves_pair(history: pd.DataFrame, *, runs: Sequence[str], splits: Sequence[str], width: int | None = None) -> alt.HConcatChart:
    """Loss and accuracy side by side from one frame (one data set for both views: a redraw sends it once)."""
    extra = {"width": width} if width else {}
    return alt.hconcat(live_curves(history, "loss", runs=runs, splits=splits, title=_("Loss by epoch")).properties(**extra),
                       live_curves(history, "acc", runs=runs, splits=splits, title=_("Accuracy by epoch")).properties(**extra))


def thin(history: pd.DataFrame, most: int = 300) -> pd.DataFrame:
    """At most `most` epochs of a history (every k-th, and always the last): a live chart's cost stays flat as a run
    grows longer, and the curve's shape survives."""
    epochs = history["epoch"].to_numpy()
    last = int(epochs.max()) if len(epochs) else 0
    if last <= most:
        return history
    step = -(-last // most)
    return history[(epochs % step == 0) | (epochs == last)]


FORMATS = ("png", "svg")


def chart_bytes(chart: alt.TopLevelMixin, fmt: str, width: int = 560) -> bytes:
    """A chart as a PNG or SVG file (Altair's save through vl-convert), `width` pixels wide per view."""
    if fmt not in FORMATS:
        raise ValueError(f"format: {fmt!r} is not allowed; expected one of {'|'.join(FORMATS)}")
    out = io.BytesIO() if fmt == "png" else io.StringIO()
    sized = chart.properties(width=width) if not isinstance(chart, (alt.HConcatChart, alt.VConcatChart, alt.ConcatChart)) else chart
    sized.save(out, format=fmt, scale_factor=2 if fmt == "png" else 1)
    value = out.getvalue()
    return value if isinstance(value, bytes) else value.encode()
