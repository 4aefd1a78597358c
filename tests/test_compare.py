"""Comparing runs (core.compare) and the comparison charts: one study at a time, captions true for the numbers drawn,
charts that fit their column, label every series and keep categorical axes."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.charts.compare import axis_positions, facet_curves, overlay_curves, parallel_coordinates
from core.charts.curves import MAX_WIDTH, metric_vs, panel_layout, side_by_side_curves
from core.compare import curve_turn, default_comparison, group_history, one_study, summary_by, turn_caption


def runs_table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "study", "degree", "test_loss"])


def test_default_comparison_is_the_latest_runs_of_one_study():
    runs = runs_table([(1, "polynomial", 1, 1.0), (2, "polynomial", 3, 0.1), (3, "dropout", None, 0.3),
                       (4, "polynomial", 5, 0.2), (5, "polynomial", 7, 0.4)])
    assert default_comparison(runs) == [5, 4, 2]
    runs.loc[len(runs)] = (6, "dropout", None, 0.2)
    assert default_comparison(runs) == [6, 3]  # never a polynomial MSE beside a dropout cross-entropy
    assert default_comparison(runs.iloc[:0]) == []


def test_grouping_refuses_to_pool_studies():
    runs = runs_table([(1, "polynomial", 1, 1.0), (2, "weight-decay", 1, 0.1)])
    for call in (lambda: summary_by(runs, "degree", ["test_loss"]), lambda: one_study(runs, "group by"),
                 lambda: group_history(pd.DataFrame(columns=["run_id", "epoch", "split", "loss"]), runs, "degree")):
        with pytest.raises(ValueError, match=r"2 studies \(polynomial, weight-decay\); pick one study"):
            call()
    assert list(summary_by(runs.iloc[:1], "degree", ["test_loss"])["runs"]) == [1]


def _mean_by(frame: pd.DataFrame, x: str, metric: str) -> pd.Series:
    return frame.groupby(x)[metric].mean().sort_index()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.001, 100, allow_nan=False), min_size=1, max_size=8), st.integers(1, 3),
       st.sampled_from(["test_loss", "test_acc"]))
def test_turn_caption_is_true_for_the_numbers_drawn(values, repeats, metric):
    """Whatever the curve, the caption names its real best point and claims a turn only when both ends are worse."""
    xs = list(range(1, len(values) + 1))
    frame = pd.DataFrame({"degree": xs * repeats, metric: values * repeats})
    turn = curve_turn(frame, "degree", metric)
    caption = turn_caption(turn)
    means = _mean_by(frame, "degree", metric)
    best_x = means.idxmin() if metric == "test_loss" else means.idxmax()
    assert f"at degree = {best_x} (" in caption or f"({best_x}:" in caption
    claims_turn = caption.startswith("The test") and " turns: " in caption
    lower = metric == "test_loss"
    worse = (lambda v: v > means[best_x]) if lower else (lambda v: v < means[best_x])
    assert claims_turn == (len(means) >= 3 and best_x not in (xs[0], xs[-1]) and worse(means.iloc[0]) and worse(means.iloc[-1]))
    if "shows no turn" in caption:
        assert best_x in (xs[0], xs[-1])


def test_turn_caption_examples():
    turn = curve_turn(pd.DataFrame({"degree": [1, 2, 3, 4, 5], "test_loss": [10, 3, 0.1, 0.5, 2.0]}), "degree", "test_loss")
    assert turn_caption(turn) == ("The test loss turns: lowest at degree = 3 (0.1), worse on both sides — 10 at degree = 1 "
                                  "and 2 at degree = 5.")
    edge = curve_turn(pd.DataFrame({"lr": [0.001, 0.01, 0.1], "test_acc": [0.5, 0.8, 0.9]}), "lr", "test_acc")
    assert "highest at the highest lr swept (0.1: 0.9), so this range shows no turn" in turn_caption(edge)
    assert curve_turn(pd.DataFrame({"lr": [0.1], "weight_norm": [1.0]}), "lr", "weight_norm") is None  # no better direction


def spec(chart) -> dict:
    return chart.to_dict()


def all_encodings(d: dict):
    """Every encoding block of a (layered, faceted) Vega-Lite spec."""
    if isinstance(d, dict):
        if "encoding" in d:
            yield d["encoding"]
        for v in d.values():
            yield from all_encodings(v)
    elif isinstance(d, list):
        for v in d:
            yield from all_encodings(v)


def test_metric_vs_integer_ticks_log_losses_clean_title_and_dashes():
    frame = pd.DataFrame({"degree": [1, 2, 3, 4] * 2, "train_loss": [3, 1, 0.01, 0.005] * 2, "test_loss": [4, 2, 0.02, 0.5] * 2})
    d = spec(metric_vs(frame, "degree", ["train_loss", "test_loss"], log_y=True, best="test_loss"))
    encodings = list(all_encodings(d))
    xs = [e["x"] for e in encodings if "x" in e and e["x"].get("field") == "degree" and "axis" in e["x"]]
    assert xs and all(x["axis"] == {"format": "d", "values": [1, 2, 3, 4]} for x in xs)  # a tick per degree, no 0.2 steps
    ys = [e["y"] for e in encodings if "y" in e]
    assert {y.get("title") for y in ys if "title" in y} == {"loss"}  # not "value, train loss, test loss"
    assert all(y["scale"]["type"] == "log" for y in ys if "scale" in y)
    dashes = [e["strokeDash"] for e in encodings if "strokeDash" in e]
    assert dashes and dashes[0]["scale"]["range"] == [[1, 0], [2, 2]]  # train solid, test dotted: overlaps stay apart
    assert any("lowest test loss: degree = 3" in json.dumps(v) for v in d.get("datasets", {}).values())


def test_metric_vs_series_colours_a_second_parameter():
    frame = pd.DataFrame({"train_size": [0.1, 0.2] * 2, "augment": [False, False, True, True],
                          "train_loss": [0.1, 0.05, 0.3, 0.1], "test_loss": [0.5, 0.3, 0.6, 0.2]})
    d = spec(metric_vs(frame, "train_size", ["train_loss", "test_loss"], series="augment", log_x=True))
    colors = [e["color"] for e in all_encodings(d) if "color" in e]
    assert colors[0]["field"] == "augment" and colors[0]["legend"]["labelLimit"] == 0
    data = [row for rows in d["datasets"].values() for row in rows]
    assert {row["augment"] for row in data} == {"false", "true"}


def test_metric_vs_leaves_out_what_a_log_axis_cannot_draw():
    frame = pd.DataFrame({"lr": [0.1, 1.0], "train_loss": [0.0, 0.2], "test_loss": [0.3, 0.4]})
    d = spec(metric_vs(frame, "lr", ["train_loss", "test_loss"], log_y=True))
    data = [row for rows in d["datasets"].values() for row in rows]
    assert all(row["mean"] > 0 for row in data) and len(data) == 3


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 12])
def test_facets_wrap_and_narrow_within_the_column(n):
    columns, width = panel_layout(n, 300, None, MAX_WIDTH)
    assert 1 <= columns <= n and 60 + columns * width + 20 * (columns - 1) <= MAX_WIDTH
    assert width >= 170 or columns == 1


def test_side_by_side_curves_fit_and_show_full_panel_titles():
    names = ["no penalty", "L2 penalty", "L1 penalty (subgradient in the loss)"]
    history = pd.DataFrame([(name, e, split, 1.0 / e) for name in names for e in (1, 2) for split in ("train", "test")],
                           columns=["method", "epoch", "split", "loss"])
    d = spec(side_by_side_curves(history, "method", order=names))
    assert d["columns"] == 3 and 60 + 3 * d["spec"]["width"] + 40 <= MAX_WIDTH
    assert d["facet"]["header"]["labelLimit"] == 0  # "L1 penalty (subgr…" no more
    many = pd.concat([history.assign(method=f"run {i}") for i in range(6)])
    assert spec(facet_curves(many.rename(columns={"method": "run"})))["columns"] <= 3


def test_overlay_legend_keeps_whole_run_labels():
    history = pd.DataFrame({"run": ["#13 polynomial degree=5 n_train=100"] * 2, "epoch": [1, 2], "split": "train", "loss": [1.0, 0.5]})
    d = spec(overlay_curves(history, log_y=True))
    assert d["encoding"]["color"]["legend"]["labelLimit"] == 0 and d["encoding"]["color"]["legend"]["orient"] == "bottom"


def test_parallel_coordinates_places_and_labels_categories():
    runs = pd.DataFrame({"id": [1, 2, 3, 4], "dataset": pd.array(["moons", "circles", "moons", "xor"], dtype="str"),
                         "activation": ["relu", "tanh", "relu", "tanh"], "weight_decay": [1e-4, 1e-2, 1.0, 1e-3],
                         "test_loss": [0.3, 0.2, 0.5, 0.4]})
    positions, ticks = axis_positions(runs["dataset"])
    assert ticks == [(0.0, "circles"), (0.5, "moons"), (1.0, "xor")]
    assert list(positions) == [0.5, 0.0, 0.5, 1.0]
    positions, ticks = axis_positions(runs["weight_decay"])  # 10 000× wide: log positions, labelled at both ends
    assert ticks == [(0.0, "0.0001"), (1.0, "1")] and positions.tolist() == pytest.approx([0, 0.5, 1, 0.25])
    d = spec(parallel_coordinates(runs, ["dataset", "activation", "weight_decay", "test_loss"], "test_loss"))
    rows = [row for rows in d["datasets"].values() for row in rows]
    lines = [r for r in rows if "position" in r and "id" in r]
    assert len(lines) == 16 and all(0 <= r["position"] <= 1 for r in lines)  # every run on every axis, categorical too
    assert {r["tick"] for r in rows if "tick" in r} >= {"circles", "moons", "xor", "relu", "tanh"}


def test_chart_titles_do_not_join_series_names():
    frame = pd.DataFrame({"lr": [0.1, 1.0], "train_acc": [0.9, 0.8], "test_acc": [0.85, 0.7]})
    titles = re.findall(r'"title": "([^"]*)"', json.dumps(spec(metric_vs(frame, "lr", ["train_acc", "test_acc"]))))
    assert "accuracy" in titles and not any(t.startswith("value") for t in titles)
