"""The decision boundary of a 2-D classifier: class probabilities as a shaded field, the points on top.

The chart's spec depends only on the number of classes and the splits present, never on the numbers: scale
domains come from the data at draw time (Vega computes them), so a page that redraws it while a model trains
(`ui.live.draw`) sends only new data and the browser keeps the same chart.

`picture_chart` draws the same field as one picture (`field_picture`: a PNG with a pixel per cell, in one row of data)
for a view redrawn several times a second: the browser decodes a small image instead of laying out 2,500 rectangles
through Vega's expression interpreter, which kept a browser's main thread busy and held the Playground's redraws to
about 3 a second.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Sequence

import altair as alt
import numpy as np
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
    palette = CLASS_COLORS[:n_classes]
    x, y = _axes(axis_titles)
    # each tile reaches a hair into its neighbours: tiles that only touch leave anti-aliased seams. Computed in the
    # chart (a calculate transform), so the chart draws the very frame it was given and a live redraw swaps only data
    overlap = [{"calculate": "datum.x1_hi + 0.3 * (datum.x1_hi - datum.x1_lo)", "as": "x1_end"},
               {"calculate": "datum.x2_hi + 0.3 * (datum.x2_hi - datum.x2_lo)", "as": "x2_end"}]
    tooltip = [alt.Tooltip("x1:Q", format=".2f", title="x₁"), alt.Tooltip("x2:Q", format=".2f", title="x₂"),
               alt.Tooltip("predicted:N", title=_("predicted class")),
               alt.Tooltip("confidence:Q", format=".0%", title=_("confidence"))]
    # opaque tiles in light tints: translucent tiles let hairlines show where neighbours meet
    if n_classes == 2:
        cells = alt.Chart(field, transform=overlap).mark_rect().encode(x=x, x2="x1_end:Q", y=y, y2="x2_end:Q",
                                                                     color=_p_class1_color(palette), tooltip=tooltip)
    else:
        # the predicted class's colour, mixed with white by how unsure the model is (LEVELS steps of confidence)
        shades = _shades(palette)
        shaded = field if "shade" in field else shade_cells(field, n_classes)
        cells = alt.Chart(shaded, transform=overlap).mark_rect().encode(
            x=x, x2="x1_end:Q", y=y, y2="x2_end:Q",
            color=alt.Color("shade:O", scale=alt.Scale(domain=list(range(len(shades))), range=shades), legend=None),
            tooltip=tooltip,
        )
    chart = alt.layer(cells, *_point_layers(points, n_classes, splits))
    return chart.properties(title=title or _("Decision boundary"), height=height)


def picture_chart(pictures: pd.DataFrame, points: pd.DataFrame | None = None, *, n_classes: int,
                  splits: Sequence[str] | None = None, title: str | None = None, height: int = 400,
                  axis_titles: tuple[str, str] = ("x₁", "x₂")) -> alt.LayerChart:
    """The field as a picture (`field_picture`; or the stack of `picture_slots`, the newest on top), with the points and
    legends of `boundary_chart`; the cells carry no tooltip. Its spec depends on the number of classes and the splits
    only."""
    x, y = _axes(axis_titles)
    # `key`: the browser keeps the pictures already decoded in the slots that did not change (see picture_slots)
    extra = dict(key="slot:N", order="order:Q") if "slot" in pictures else {}
    field = alt.Chart(pictures).mark_image(aspect=False, smooth=False).encode(x=x, x2="x1_hi:Q", y=y, y2="x2_hi:Q",
                                                                            url="boundary_png:N", **extra)
    layers = [field]
    if n_classes == 2:  # the p(class 1) legend, from an invisible mark over the picture
        layers.append(alt.Chart(pictures).mark_rect(opacity=0).encode(x=x, x2="x1_hi:Q", y=y, y2="x2_hi:Q",
                                                                      color=_p_class1_color(CLASS_COLORS[:2])))
    chart = alt.layer(*layers, *_point_layers(points, n_classes, splits))
    return chart.properties(title=title or _("Decision boundary"), height=height)


def field_picture(field: pd.DataFrame, n_classes: int) -> pd.DataFrame:
    """A `core.boundary.boundary_frame` field as one row: the grid's outer edges (`x1_lo`, `x1_hi`, `x2_lo`, `x2_hi`)
    and `boundary_png`, a PNG data URL with one pixel per cell in the colour `boundary_chart` gives it."""
    nx = int(field["x1"].nunique())
    ny = len(field) // nx
    if nx * ny != len(field):
        raise ValueError(f"field: {len(field)} cells do not form a grid of {nx} columns")
    if n_classes == 2:
        stops = np.array([_rgb(_tint(CLASS_COLORS[0], 0.4)), (255, 255, 255), _rgb(_tint(CLASS_COLORS[1], 0.4))], dtype=np.float64)
        p = field["p_class1"].to_numpy(np.float64)
        rgb = np.stack([np.interp(p, [0.0, 0.5, 1.0], stops[:, c]) for c in range(3)], axis=1)
    else:
        shades = np.array([_rgb(c) for c in _shades(CLASS_COLORS[:n_classes])], dtype=np.float64)
        shade = (field["shade"] if "shade" in field else shade_cells(field, n_classes)["shade"]).to_numpy()
        rgb = shades[shade]
    # rows of the field run from the lowest x2 up; a picture's first row is its top
    pixels = np.rint(rgb).astype(np.uint8).reshape(ny, nx, 3)[::-1]
    url = "data:image/png;base64," + base64.b64encode(png_bytes(pixels)).decode("ascii")
    return pd.DataFrame({"x1_lo": [float(field["x1_lo"].min())], "x1_hi": [float(field["x1_hi"].max())],
                         "x2_lo": [float(field["x2_lo"].min())], "x2_hi": [float(field["x2_hi"].max())],
                         "p_class1": [0.5], "boundary_png": [url]})


PICTURE_SLOTS = 3  # pictures a live view keeps stacked: the newest on top, the older ones showing through


def picture_slots(shown: pd.DataFrame | None, picture: pd.DataFrame, depth: int = PICTURE_SLOTS) -> pd.DataFrame:
    """What a live view sends next: the last `depth` pictures in `depth` slots (`slot`, drawn in `order`), the new
    picture taking the oldest one's slot, on top. A browser decodes a new picture after it has drawn the chart, so a
    chart with only the new one is blank for a frame (a flicker); the previous pictures show through until then, even
    when updates arrive faster than it decodes them. `shown` is what was sent last (None at first), returned as it is
    when the picture has not changed."""
    new = {c: picture[c].iat[0] for c in picture.columns}
    if shown is None:
        rows = [{**new, "slot": k, "order": k} for k in range(depth)]
    else:
        ordered = shown.sort_values("order")
        if ordered["boundary_png"].iat[-1] == new["boundary_png"]:
            return shown
        rows = [r.to_dict() for _, r in ordered.iloc[1:].iterrows()]
        rows.append({**new, "slot": int(ordered["slot"].iat[0]), "order": int(ordered["order"].iat[-1]) + 1})
    return pd.DataFrame({c: [row[c] for row in rows] for c in rows[-1]})


def png_bytes(pixels: np.ndarray) -> bytes:
    """An 8-bit RGB image (height × width × 3, uint8) as a PNG file."""
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(f"pixels: expected a (height, width, 3) uint8 array, got {pixels.shape} {pixels.dtype}")
    h, w, _ = pixels.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), pixels.reshape(h, w * 3)], axis=1)  # filter byte 0 per row

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))


def _axes(axis_titles: tuple[str, str]) -> tuple[alt.X, alt.Y]:
    return (alt.X("x1_lo:Q", title=axis_titles[0], scale=alt.Scale(zero=False, nice=False)),
            alt.Y("x2_lo:Q", title=axis_titles[1], scale=alt.Scale(zero=False, nice=False)))


def _p_class1_color(palette: Sequence[str]) -> alt.Color:
    return alt.Color("p_class1:Q", title=_("p(class 1)"),
                     scale=alt.Scale(domain=[0, 0.5, 1], range=[_tint(palette[0], 0.4), "#ffffff", _tint(palette[1], 0.4)],
                                     interpolate="rgb"),
                     legend=alt.Legend(gradientLength=90, format=".1f"))


def _shades(palette: Sequence[str]) -> list[str]:
    """Every class's colour at each of LEVELS confidences: white (undecided) to a light tint of the class colour."""
    return [_tint(c, 0.45 * level / (LEVELS - 1)) for c in palette for level in range(LEVELS)]


def _point_layers(points: pd.DataFrame | None, n_classes: int, splits: Sequence[str] | None) -> list[alt.Chart]:
    """The points over a field: filled with their label's colour, shaped by split; test points small, under the rest."""
    if points is None or not len(points):
        return []
    present = [s for s in SPLIT_SHAPES if s in set(points["split"] if splits is None else splits)]
    names = {"train": _("train"), "val": _("validation"), "test": _("test")}
    shape = alt.Shape("split:N", title=_("points"), scale=alt.Scale(domain=present, range=[SPLIT_SHAPES[s] for s in present]),
                      legend=alt.Legend(labelExpr=_split_label_expr(names), symbolFillColor="#888888",
                                        symbolStrokeColor="#222222", symbolSize=60))
    encoding = dict(
        x=alt.X("x1:Q"), y=alt.Y("x2:Q"), shape=shape,
        fill=alt.Fill("label:N", title=_("class"), scale=alt.Scale(domain=list(range(n_classes)), range=CLASS_COLORS[:n_classes])),
        tooltip=[alt.Tooltip("split:N", title=_("split")), alt.Tooltip("label:N", title=_("true class")),
                 alt.Tooltip("x1:Q", format=".2f", title="x₁"), alt.Tooltip("x2:Q", format=".2f", title="x₂")],
    )
    # test points first, small and lighter; the training points (what the model fits) large, on top
    return [alt.Chart(points).transform_filter(keep).mark_point(filled=True, size=size, stroke=outline, strokeWidth=1,
                                                                opacity=opacity).encode(**encoding)
            for outline, size, opacity, keep in (("black", 28, 0.7, "datum.split === 'test'"),
                                                 ("white", 75, 1.0, "datum.split !== 'test'"))]


def shade_cells(field: pd.DataFrame, n_classes: int) -> pd.DataFrame:
    """The field with `shade`: its predicted class × LEVELS + how sure the model is (0 undecided … LEVELS-1 certain), the
    colour a cell gets with more than two classes. A field that has it already is drawn as it is (a live view computes
    it with the field, so the chart's data is the frame it was given)."""
    level = ((field["confidence"] - 1.0 / n_classes) / (1 - 1.0 / n_classes) * (LEVELS - 1)).round().clip(0, LEVELS - 1)
    return field.assign(shade=(field["predicted"] * LEVELS + level).astype(int))


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _tint(color: str, strength: float) -> str:
    """`color` mixed with white: strength 1 is the colour itself, 0 is white."""
    return "#" + "".join(f"{round(255 - (255 - c) * strength):02x}" for c in _rgb(color))


def _split_label_expr(names: dict[str, str]) -> str:
    """A Vega expression showing each split's display name in the legend."""
    parts = " : ".join(f"datum.label === {k!r} ? {v!r}" for k, v in names.items())
    return f"{parts} : datum.label"
