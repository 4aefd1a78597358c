"""The 2-D decision-boundary frame and chart, charts whose spec stays fixed when only the data changes, and the
live curves that grow while runs train."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from core.boundary import boundary_frame, grid_axes, points_frame
from core.charts.boundary import boundary_chart
from core.charts.curves import side_by_side_curves, training_curves
from core.charts.stable import chart_frames, split_spec
from core.data import toy_bundle
from core.pipeline import expand, plan, train
from core.studies import get_study, run_study


def spec_text(chart) -> str:
    return json.dumps(split_spec(chart)[0], sort_keys=True)


@pytest.fixture(scope="module")
def moons_runs():
    """Two moons MLPs trained for different epochs: the same grid and points, different numbers."""
    study = get_study("classification")
    return [run_study(study, {"dataset": "moons", "epochs": e, "n_train": 100, "n_test": 100})[0] for e in (1, 8)]


def test_boundary_frame_covers_the_points_with_a_fixed_grid(moons_runs):
    a, b = (r.frames["boundary"] for r in moons_runs)
    points = moons_runs[0].frames["points"]
    assert len(a) == 60 * 60
    # the cells depend on the points only, not on the model: a redraw while training moves no cell
    for col in ("x1", "x2", "x1_lo", "x1_hi", "x2_lo", "x2_hi"):
        assert np.array_equal(a[col].to_numpy(), b[col].to_numpy())
    assert not np.allclose(a["p_class1"], b["p_class1"])
    assert a["x1_lo"].min() < points["x1"].min() and a["x1_hi"].max() > points["x1"].max()
    assert a["x2_lo"].min() < points["x2"].min() and a["x2_hi"].max() > points["x2"].max()
    # neighbouring cells touch: no gaps, no overlaps
    xs = np.sort(a["x1_lo"].unique())
    assert np.allclose(np.sort(a["x1_hi"].unique())[:-1], xs[1:])
    # two classes: predicted is the class with p > 0.5, confidence its probability
    assert ((b["p_class1"] > 0.5) == (b["predicted"] == 1)).all()
    assert np.allclose(b["confidence"], np.maximum(b["p_class1"], 1 - b["p_class1"]))
    # the trained model gets most test points right where the field says so
    test = points[points["split"] == "test"]
    assert set(points["split"]) == {"train", "test"} and len(test) == 100
    assert moons_runs[1].metrics["test_acc"] > 0.75


def test_boundary_frame_for_k_classes():
    torch.manual_seed(0)
    model = nn.Linear(2, 4)
    with torch.no_grad():  # class k wins in direction k: right, left, up, down
        model.weight.copy_(torch.tensor([[5.0, 0], [-5, 0], [0, 5], [0, -5]]))
        model.bias.zero_()
    X = torch.randn(50, 2)
    frame = boundary_frame(model, X, n_classes=4, steps=20)
    assert len(frame) == 400 and "p_class1" not in frame
    logits = model(torch.tensor(frame[["x1", "x2"]].to_numpy(), dtype=torch.float32)).detach()
    assert (frame["predicted"].to_numpy() == logits.argmax(1).numpy()).all()
    assert ((frame["confidence"] >= 0.25 - 1e-9) & (frame["confidence"] <= 1)).all()
    assert set(frame["predicted"]) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="n_classes"):
        boundary_frame(model, X, n_classes=3)
    with pytest.raises(ValueError, match="points"):
        grid_axes(torch.randn(5, 3))
    with pytest.raises(ValueError, match="steps"):
        grid_axes(X, steps=1)


def test_points_frame_has_every_split_with_the_trained_labels():
    data = toy_bundle("circles", 30, 20, 0.1, seed=1)
    frame = points_frame(data)
    assert frame["split"].value_counts().to_dict() == {"train": 30, "test": 20}
    assert frame.loc[frame["split"] == "train", "label"].tolist() == data.train.y.tolist()


def test_boundary_chart_spec_stays_fixed_when_only_the_numbers_change(moons_runs):
    charts = [boundary_chart(r.frames["boundary"], r.frames["points"], title="moons") for r in moons_runs]
    assert spec_text(charts[0]) == spec_text(charts[1])
    spec, frames = split_spec(charts[1])
    assert len(frames) == 2  # the field and the points, each sent once
    assert list(frames.values())[1] is moons_runs[1].frames["points"]
    assert np.allclose(frames["frame_0"]["p_class1"], moons_runs[1].frames["boundary"]["p_class1"])
    text = json.dumps(spec)
    assert "p_class1" in text and "triangle-up" in text and "true class" in text
    assert chart_frames(charts[1]).keys() == frames.keys()
    # a different data set of the same shape (another seed) gives the same spec too
    other = run_study(get_study("classification"), {"dataset": "xor", "epochs": 1, "n_train": 50, "n_test": 50})[0]
    assert spec_text(boundary_chart(other.frames["boundary"], other.frames["points"], title="moons")) == spec_text(charts[0])


def test_boundary_chart_with_more_classes_shades_the_predicted_class_by_confidence():
    from core.charts.boundary import CLASS_COLORS, LEVELS

    torch.manual_seed(0)
    X = torch.randn(60, 2)
    field = boundary_frame(nn.Linear(2, 3), X, n_classes=3, steps=10)
    points = pd.DataFrame({"x1": X[:, 0].numpy(), "x2": X[:, 1].numpy(), "label": np.arange(60) % 3,
                           "split": ["train"] * 40 + ["test"] * 20})
    spec, frames = split_spec(boundary_chart(field, points))
    cells = frames["frame_0"]
    assert "p_class1" not in json.dumps(spec)
    shades = spec["layer"][0]["encoding"]["color"]["scale"]["range"]
    assert len(shades) == 3 * LEVELS and shades[LEVELS - 1] != CLASS_COLORS[0]  # a tint: points stay visible on it
    # each cell takes a shade of its predicted class; surer cells a stronger one
    assert (cells["shade"] // LEVELS == cells["predicted"]).all()
    for k in range(3):
        mine = cells[cells["predicted"] == k].sort_values("confidence")
        assert mine["shade"].is_monotonic_increasing and mine["shade"].nunique() > 1
    # the points: filled by class, shaped by split, test points outlined in black
    assert spec["layer"][1]["mark"]["stroke"] == "black" and spec["layer"][1]["transform"] == [{"filter": "datum.split === 'test'"}]
    assert spec["layer"][2]["mark"]["size"] > spec["layer"][1]["mark"]["size"]  # training points drawn larger, on top
    assert spec["layer"][2]["encoding"]["shape"]["scale"]["domain"] == ["train", "test"]


def test_split_spec_types_untyped_encodings_and_shares_one_frame_between_layers(moons_runs):
    a, b = moons_runs
    # training_curves writes its tooltip without types; the detached spec still says what each field is
    spec, frames = split_spec(training_curves(b.history, "acc", mark_epoch=3))
    assert spec["layer"][0]["encoding"]["tooltip"][0] == {"field": "epoch", "type": "quantitative"}
    assert set(frames) == {"frame_0", "frame_1"}
    assert spec_text(training_curves(a.history, "acc", mark_epoch=3)) == spec_text(training_curves(b.history, "acc", mark_epoch=3))
    hist = pd.concat([a.history.assign(run="a"), b.history.assign(run="b")])
    chart = side_by_side_curves(hist, "run", "loss", order=["a", "b"])
    spec, frames = split_spec(chart)
    assert list(frames) == ["frame_0"] and spec["data"] == {"name": "frame_0"}
    assert chart_frames(chart) == frames  # the cheap path finds the same frames by the same names
    assert "config" not in spec or "continuousWidth" not in json.dumps(spec["config"])


class Place:
    """Stands in for a Streamlit container: records what is drawn and returns itself as the element."""

    def __init__(self):
        self.specs: list[dict] = []

    def vega_lite_chart(self, spec):
        self.specs.append(spec)
        return self

    def altair_chart(self, chart):  # pragma: no cover - only when a chart cannot be split
        raise AssertionError("every chart here can be split")


def test_live_charts_grow_epoch_by_epoch_for_each_run_of_a_stacked_group():
    from ui.live import LiveCharts

    study = get_study("dropout")
    values = {"epochs": 4, "hidden": 16, "train_size": 0.1}
    points = expand(study, [{**values, "dropout": 0.0}, {**values, "dropout": 0.5}])
    groups = plan(study, points)
    assert len(groups) == 1 and groups[0].engine == "stacked"  # the pair trains as one computation
    frames: list[pd.DataFrame] = []
    place = Place()
    live = LiveCharts([lambda h: frames.append(h) or training_curves(h, "loss")], [place], every=0.0)
    callback = live.callback(["without", "with"], [None, None], [g.points for g in groups])
    results = train(study, points, callbacks=[callback], groups=groups)
    assert [f["epoch"].max() for f in frames] == [1, 2, 3, 4]  # a draw after every epoch (no throttle here)
    assert set(frames[-1]["run"]) == {"without", "with"}
    for label, result in zip(["without", "with"], results):
        drawn = frames[-1][frames[-1]["run"] == label].drop(columns=["run", "fold"]).reset_index(drop=True)
        pd.testing.assert_frame_equal(drawn, result.history)
    assert len(place.specs) == 4
    bare = [{k: v for k, v in s.items() if k != "datasets"} for s in place.specs]
    assert all(s == bare[0] for s in bare)  # the spec never changed: only the data did


def test_live_charts_throttle_and_draw_cached_runs_beside_training_ones():
    from ui.live import LiveCharts, tag

    study = get_study("classification")
    points = expand(study, [{"dataset": "moons", "epochs": 6, "n_train": 50, "n_test": 50}], folds=2)
    groups = plan(study, points)
    done = tag(pd.DataFrame({"epoch": [1], "split": ["train"], "loss": [1.0], "acc": [0.5]}), "cached", None)
    frames: list[pd.DataFrame] = []
    live = LiveCharts([lambda h: frames.append(h) or training_curves(h, "loss")], [Place()], every=3600.0)
    train(study, points, callbacks=[live.callback(["k-fold"] * 2, [0, 1], [g.points for g in groups], done)], groups=groups)
    assert len(frames) == 1  # the first epoch is drawn at once, then nothing for an hour
    assert set(frames[0]["run"]) == {"cached", "k-fold"}
    assert set(frames[0].loc[frames[0]["run"] == "k-fold", "fold"]) == {0, 1}
    assert live.draws == 1
    assert not live.update(frames[0]) and live.update(frames[0], force=True) and live.draws == 2
