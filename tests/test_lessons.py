"""Teaching tests: each page's default runs show the phenomenon the page is named for, with a margin, and every
caption that states a trend says only what the numbers drawn beside it bear out (core only, no UI)."""

from __future__ import annotations

import pandas as pd
import pytest

from core import lessons as L
from core.studies import get_study, run_study
from core.sweeps import sweep_frame


def run(study: str, values: dict):
    result = run_study(get_study(study), values)[0]
    assert result.status == "ok"
    return result


def least_squares(values: dict, degrees=(1, 3, 20)) -> dict[int, dict]:
    return {d: run("polynomial", {**values, "degree": d, "epochs": 1}).metrics for d in degrees}


@pytest.mark.parametrize("data", [{}, {k: L.POLYNOMIAL_VIEW[k] for k in ("n_train", "noise")}], ids=["study default", "page default"])
def test_polynomial_underfits_at_1_and_overfits_at_20(data):
    m = least_squares(data)
    train = {d: m[d]["closed_form_train_loss"] for d in m}
    assert train[1] >= 5 * train[3]  # a line cannot bend: underfitting
    assert train[20] < train[3]  # 21 coefficients fit the training points better than the truth's 4 ...
    assert m[20]["closed_form_test_loss"] >= 3 * train[20]  # ... and new points far worse: overfitting


def test_gradient_descent_never_beats_the_least_squares_optimum():
    runs = {d: run("polynomial", {**L.POLYNOMIAL_VIEW, "degree": d}).metrics for d in (1, 3, 8)}
    for m in runs.values():  # least squares is the optimum of the very loss gradient descent minimises
        assert m["train_loss"] >= m["closed_form_train_loss"] * (1 - 1e-5)
    assert runs[3]["train_loss"] < 1.5 * runs[3]["closed_form_train_loss"]  # and close at the right degree: a fair pair


@pytest.fixture(scope="module")
def degree_sweep() -> pd.DataFrame:
    """The Capacity tab's default runs: every degree of its sweep on its default data."""
    data = L.DEGREE_DATA
    return sweep_frame([run("polynomial", L.degree_config(d, data["n_train"], data["noise"])) for d in L.SWEEP_DEGREES])


def test_capacity_default_sweep_shows_the_u_shape(degree_sweep):
    trend = L.degree_trend(degree_sweep)
    train = degree_sweep.set_index("degree")["closed_form_train_loss"]
    assert all(b <= a * 1.01 for a, b in zip(train, train.iloc[1:]))  # non-increasing in degree, within 1%
    assert trend.train_falls and trend.best_degree == 3 and trend.test_rises
    caption = L.degree_caption(trend)
    assert "falls as the degree grows" in caption and "lowest at degree 3" in caption
    assert L.num(train.iloc[0]) in caption and L.num(train.iloc[-1]) in caption  # the numbers drawn, not others
    panels = {name: degree_sweep.set_index("degree").loc[d] for name, d in L.DEGREE_PANELS.items()}
    verdicts = [L.fit_verdict(p["closed_form_train_loss"], p["closed_form_test_loss"], L.DEGREE_DATA["noise"]) for p in panels.values()]
    assert [v.split("**")[1] for v in verdicts] == ["Underfitting", "A good fit", "Overfitting"]


def test_degree_caption_leaves_out_what_does_not_hold():
    frame = pd.DataFrame({"degree": [1, 2, 3, 4], "closed_form_train_loss": [1.0, 0.5, 0.6, 0.4],
                          "closed_form_test_loss": [2.0, 1.0, 0.8, 0.7]})
    caption = L.degree_caption(L.degree_trend(frame))
    assert "does not fall steadily" in caption and "rises from 0.5 at degree 2 to 0.6 at degree 3" in caption
    assert "lowest at the highest degree shown, 4" in caption and "climbs" not in caption
    flat = frame.assign(closed_form_test_loss=[2.0, 0.5, 0.6, 0.7])  # lowest at 2, but never twice that after
    caption = L.degree_caption(L.degree_trend(flat))
    assert "lowest at degree 2 (0.5) and stays within 2×" in caption and "climbs" not in caption


def test_fit_verdict_against_the_noise_level():
    assert L.fit_verdict(3.0, 10.0, 0.3).startswith("**Underfitting**")
    assert L.fit_verdict(0.01, 5.0, 0.3).startswith("**Overfitting**")
    assert L.fit_verdict(0.08, 0.11, 0.3).startswith("**A good fit**")


def test_width_vs_depth_verdict_names_the_measured_winner():
    view = L.DEPTH_VIEW
    frame = sweep_frame([run("capacity", L.depth_config(d, view["budget"], view["function"], view["activation"], view["epochs"]))
                         for d in L.DEPTHS])
    verdict = L.depth_verdict(frame)
    assert verdict.best_depth == int(frame.loc[frame["test_loss"].idxmin(), "depth"])
    text = L.depth_caption(verdict, view["budget"])
    assert f"depth {verdict.best_depth} reaches test MSE {L.num(verdict.best_test)}" in text
    assert ("Deeper is not better here" in text) == (verdict.best_depth == 1)
    # each wording, fed runs where it holds
    deep = pd.DataFrame({"depth": [1, 2, 3], "test_loss": [0.3, 0.2, 0.1]})
    middle = deep.assign(test_loss=[0.3, 0.1, 0.2])
    assert "deepest network wins here: depth 3 reaches test MSE 0.1" in L.depth_caption(L.depth_verdict(deep), 60)
    assert "neither extreme wins: depth 2 reaches test MSE 0.1" in L.depth_caption(L.depth_verdict(middle), 60)


def test_universal_approximation_default_improves_and_the_caption_says_by_how_much():
    view = L.WIDTH_VIEW
    widths = [n for n in L.WIDTHS if n <= view["hidden"]]
    frame = sweep_frame([run("capacity", L.width_config(n, view["function"], view["activation"], view["noise"])) for n in widths])
    first, last = frame["test_loss"].iloc[0], frame["test_loss"].iloc[-1]
    assert last < first / 10  # ReLU, a non-squashing activation, approximates sin ever better
    text = L.approximation_caption(frame)
    assert text.startswith(f"Test MSE falls from {L.num(first)} with N = 1 to {L.num(last)} with N = {widths[-1]}")
    rising = pd.DataFrame({"hidden": [1, 2, 4], "test_loss": [0.1, 0.2, 0.3]})
    flat = rising.assign(test_loss=[0.1, 0.09, 0.11])
    assert L.approximation_caption(rising).startswith("Test MSE rises") and "falls" not in L.approximation_caption(rising)
    assert L.approximation_caption(flat).startswith("Test MSE stays about the same")


def test_not_clearing_gradients_oscillates_at_the_default_and_blows_up_at_lr_1():
    swings = L.loss_swings(run("linear-regression", {"model": "scratch", "clear_grad": False}).history)
    assert swings.oscillates and not swings.explodes  # the guide's "exponential explosion" does not happen here
    text = L.accumulation_text(swings, 0.03)
    assert "oscillates" in text and f"rises {swings.rises} times" in text
    huge = L.loss_swings(run("linear-regression", {"model": "scratch", "clear_grad": False, "lr": 1.0}).history)
    assert huge.explodes and "grows from" in L.accumulation_text(huge, 1.0)
    calm = L.loss_swings(pd.DataFrame({"epoch": [1, 2, 3], "split": "train", "loss": [3.0, 2.0, 1.0]}))
    assert not calm.oscillates and "without oscillating" in L.accumulation_text(calm, 0.1)


def test_gradient_caption_reports_the_table():
    from core import nn_basics as nb

    table = nb.gradient_table(nb.gradient_norms(4, width=8), 4)
    text = L.gradient_caption(table)
    for name, ratio in zip(table["activation"], table["ratio to depth 1"]):
        assert f"{name} {L.num(ratio)}" in text


def test_line_leaves_and_numbers_stay_short():
    points = pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0], "split": "train"})
    inside = pd.DataFrame({"x": [0.0, 1.0] * 2, "y": [0.0, 1.0, 0.1, 0.9], "line": ["trained"] * 2 + ["true"] * 2})
    assert not L.line_leaves(inside, points)
    assert L.line_leaves(inside.assign(y=[0.0, 1e14, 0.1, 0.9]), points)
    assert L.num(-1.0037e14) == "-1.00e+14" and L.num(0.0123456) == "0.0123" and L.num(2.0) == "2"


def test_the_vanishing_gradient_text_holds_at_the_default_depth_and_width():
    from core import nn_basics as nb

    depth, width = nb.PARAMS["depth"].default, nb.PARAMS["hidden"].default

    def ratios(init: str) -> dict[str, float]:
        table = nb.gradient_table(nb.gradient_norms(depth, init=init, width=width), depth)
        return dict(zip(table["activation"], table["ratio to depth 1"]))

    he, small = ratios("he"), ratios("pytorch")
    # "sigmoid: the first layer gets almost nothing; ReLU with He initialisation keeps its size"
    assert he["sigmoid"] < 1e-3 and he["relu"] > 0.5 and he["leaky_relu"] > 0.5
    # "try pytorch (small weights), where tanh and ReLU shrink too"
    assert small["tanh"] < 0.1 and small["relu"] < 0.1
