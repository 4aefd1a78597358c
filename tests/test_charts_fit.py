"""Fit charts read at first sight: the truth stays in view, wild curves are cut at the edge (not drawn as a box),
training points are told apart from test points, and every series is named in a legend."""

from __future__ import annotations

import pandas as pd

from core.charts.basics import activation_curves
from core.charts.regression import fit_plot, polynomial_fit, y_window
from core.nn_basics import activation_table


def layers(chart) -> list[dict]:
    spec = chart.to_dict()
    return spec["layer"], spec["datasets"]


def frames():
    points = pd.DataFrame({"x": [-1.0, 0.0, 1.0, -0.5, 0.5], "y": [1.0, 0.0, 1.0, 0.3, 0.2],
                           "split": ["train", "train", "train", "test", "test"]})
    x = [-2.0, -1.0, 0.0, 1.0, 2.0]
    curves = pd.concat([pd.DataFrame({"x": x, "y": [4.0, 1.0, 0.0, 1.0, 4.0], "curve": "true"}),
                        pd.DataFrame({"x": x, "y": [1e15, 1.0, 0.0, 1.0, -1e15], "curve": "closed form"}),
                        pd.DataFrame({"x": x, "y": [3.0, 1.0, 0.1, 1.0, 3.0], "curve": "trained"})], ignore_index=True)
    return points, curves


def test_polynomial_fit_keeps_the_truth_in_view_and_cuts_a_wild_curve():
    points, curves = frames()
    lo, hi = y_window(points, curves)
    assert lo < 0.0 and hi > 1.0 and hi < 10  # the data and the truth over the data's x range, not the 1e15 curve
    chart_layers, data = layers(polynomial_fit(points, curves, title="t", x_domain=(-2, 2)))
    line = next(layer for layer in chart_layers if layer["mark"]["type"] == "line")
    ys = [row["y"] for row in data[line["data"]["name"]]]
    assert max(ys) <= hi + (hi - lo) and min(ys) >= lo - (hi - lo)  # held just past the edge, then clipped by the mark
    assert line["mark"]["clip"] is True
    assert line["encoding"]["y"]["scale"]["domain"] == [lo, hi]


def test_polynomial_fit_tells_training_from_test_points_and_names_every_series():
    points, curves = frames()
    chart_layers, _ = layers(polynomial_fit(points, curves, title="t"))
    dots = [layer for layer in chart_layers if layer["mark"]["type"] == "point"]
    sizes = {layer["mark"]["size"] for layer in dots}
    assert len(dots) == 2 and len(sizes) == 2  # two layers, two sizes: test small and faint, training large on top
    color = dots[0]["encoding"]["color"]
    assert color["scale"]["domain"] == ["training points", "test points", "least squares", "gradient descent", "true function"]
    assert dots[0]["encoding"]["shape"]["scale"]["range"][:2] == ["circle", "triangle-up"]
    assert color["legend"]["orient"] == "bottom"  # one legend, under the plot, so the chart fits a narrow column


def test_fit_plot_no_longer_clamps_a_runaway_line_into_a_box():
    points, curves = frames()
    fit = curves.rename(columns={"curve": "line"})
    chart_layers, data = layers(fit_plot(points, fit))
    line = chart_layers[1]
    assert "clamp" not in line["encoding"]["y"]["scale"] and line["mark"]["clip"] is True
    assert max(abs(row["y"]) for row in data[line["data"]["name"]]) < 100


def test_relu_and_leaky_relu_are_told_apart_by_dash():
    spec = activation_curves(activation_table()).to_dict()
    dash = spec["encoding"]["strokeDash"]["scale"]
    by_name = dict(zip(dash["domain"], dash["range"]))
    assert by_name["relu"] != by_name["leaky_relu"]
