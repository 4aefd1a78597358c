"""Regularization and model selection in core: dropout in expectation, L1 against L2, weight decay, early stopping."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from core.models import Dropout
from core.regularization import (
    SCHEMES,
    compare_dropout_schemes,
    penalty_values,
    strength_grid,
)
from core.selection import best_epoch, pick_best, stacked_history, value_at
from core.studies import get_study, run_study

WD = get_study("weight-decay")


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_both_dropout_schemes_match_their_test_time_output_in_expectation(p):
    result = compare_dropout_schemes(p, 200_000, seed=1)
    linear = result.summary[result.summary["stage"] == "linear"]
    assert set(linear["scheme"]) == set(SCHEMES)
    # the Monte Carlo mean sits within a few standard errors of the test-time output, for every unit of both schemes
    assert (linear["difference"].abs() <= 4 * linear["std_error"]).all()
    assert result.max_abs_difference() < 0.02
    # and the two test-time rules really differ (classic scales by q = 1 - p), so the agreement is not trivial
    inverted = linear[linear["scheme"] == SCHEMES[0]]["test_output"].to_numpy()
    classic = linear[linear["scheme"] == SCHEMES[1]]["test_output"].to_numpy()
    assert abs(inverted - classic).max() > 0.05


def test_dropout_average_converges_with_more_masks():
    few = compare_dropout_schemes(0.5, 20, seed=3)
    many = compare_dropout_schemes(0.5, 100_000, seed=3)
    assert many.max_abs_difference() < few.max_abs_difference() / 5
    # the running means end at the full average
    last = many.running[many.running["n_masks"] == 100_000].set_index(["scheme", "unit"])["running_mean"]
    lin = many.summary[many.summary["stage"] == "linear"].set_index(["scheme", "unit"])["mc_mean"]
    assert last.sort_index().to_numpy() == pytest.approx(lin.sort_index().to_numpy())


def test_relu_after_dropout_only_approximately_matches():
    result = compare_dropout_schemes(0.5, 200_000, seed=0)
    relu = result.summary[result.summary["stage"] == "after_relu"]
    # E[relu(z)] >= relu(E[z]) (Jensen), strictly for some unit: the weight scaling rule is an approximation there
    assert (relu["difference"] > -4 * relu["std_error"]).all()
    assert (relu["difference"] > 10 * relu["std_error"]).any()


def test_pytorch_style_dropout_module_is_the_inverted_scheme():
    layer = Dropout(0.25).train()
    layer.generator = torch.Generator().manual_seed(0)
    x = torch.full((50_000, 4), 2.0)
    out = layer(x)
    assert sorted(out.unique().tolist()) == [0.0, pytest.approx(2.0 / 0.75)]  # kept units scaled by 1/(1 - p)
    assert out.mean().item() == pytest.approx(2.0, rel=0.01)  # so the mean is the input, as at test time
    assert torch.equal(layer.eval()(x), x)


def test_dropout_comparison_rejects_bad_input():
    with pytest.raises(ValueError, match="dropout"):
        compare_dropout_schemes(1.0)
    with pytest.raises(ValueError, match="n_masks"):
        compare_dropout_schemes(0.5, 0)


def test_penalty_values_name_the_study_parameters():
    assert penalty_values("weight decay", 3) == {"weight_decay": 3.0}
    assert penalty_values("L1 penalty (subgradient)", 0.1) == {"l1": 0.1, "l1_mode": "loss"}
    WD.config(penalty_values("L1 penalty (proximal)", 0.1))  # valid for the study
    with pytest.raises(ValueError, match="method"):
        penalty_values("L3", 1.0)


def test_strength_grid_is_centred_on_the_chosen_strength_and_stays_in_range():
    assert strength_grid(3.0) == [0.03, 0.3, 3.0, 30.0]  # 300 is above the allowed 100
    assert strength_grid(0.001, decades=1) == [0.001, 0.01]
    assert strength_grid(0.1) == [0.001, 0.01, 0.1, 1.0, 10.0]
    with pytest.raises(ValueError, match="strength"):
        strength_grid(0.0)


@pytest.fixture(scope="module")
def high_dim_runs():
    """The 200-input, 20-example regression without a penalty, with weight decay, L2, and L1 both ways."""
    configs = {
        "none": {},
        "wd": penalty_values("weight decay", 3.0),
        "l2": penalty_values("L2 penalty", 0.1),
        "l1": penalty_values("L1 penalty (proximal)", 0.1),
        "l1_sub": penalty_values("L1 penalty (subgradient)", 0.1),
    }
    return {name: run_study(WD, cfg)[0] for name, cfg in configs.items()}


def test_l1_zeroes_more_weights_than_l2_at_the_same_strength(high_dim_runs):
    l1, l2, sub = high_dim_runs["l1"], high_dim_runs["l2"], high_dim_runs["l1_sub"]
    assert l2.metrics["zero_weights"] == 0
    assert l1.metrics["zero_weights"] > 100  # most of the 200 weights are exactly 0
    assert (l1.frames["weights"]["weight"] == 0).sum() == l1.metrics["zero_weights"]
    # the subgradient version shrinks as much but lands on exactly zero (almost) never
    assert sub.metrics["zero_weights"] < l1.metrics["zero_weights"] / 10
    assert sub.metrics["weight_norm"] == pytest.approx(l1.metrics["weight_norm"], rel=0.5)


def test_weight_decay_lowers_the_test_loss_of_the_memorising_model(high_dim_runs):
    none, wd = high_dim_runs["none"], high_dim_runs["wd"]
    assert none.metrics["train_loss"] < 1e-6 < wd.metrics["train_loss"]  # without a penalty it fits the 20 examples exactly
    assert wd.metrics["test_loss"] < none.metrics["test_loss"] / 5
    assert wd.metrics["weight_norm"] < none.metrics["weight_norm"] / 5


def test_weight_decay_and_l2_are_the_same_update_except_with_adamw():
    a = run_study(WD, {"weight_decay": 1.0, "epochs": 20})[0]
    b = run_study(WD, {"l2": 1.0, "epochs": 20})[0]
    assert a.metrics["test_loss"] == pytest.approx(b.metrics["test_loss"], rel=1e-4)
    # torch's Adam adds λ·w to the gradient (coupled, = L2); AdamW decays the weights directly (decoupled)
    c = run_study(WD, {"weight_decay": 1.0, "epochs": 20, "optimizer": "adamw"})[0]
    d = run_study(WD, {"l2": 1.0, "epochs": 20, "optimizer": "adamw"})[0]
    assert c.metrics["test_loss"] != pytest.approx(d.metrics["test_loss"], rel=1e-3)


def test_early_stopping_restores_the_best_epoch():
    r = run_study(get_study("early-stopping"), {"epochs": 60})[0]
    best, ran = r.metrics["best_epoch"], r.metrics["epochs_run"]
    assert r.metrics["stopped_early"] and best < ran < 60
    assert best == best_epoch(r.history)  # the epoch with the lowest recorded val_loss
    assert r.metrics["val_loss"] == pytest.approx(value_at(r.history, best), rel=1e-6)
    assert r.metrics["val_loss"] < value_at(r.history, ran)  # not the weights of the last epoch


def test_pick_best_by_run_and_by_group():
    runs = pd.DataFrame({"degree": [1, 1, 3, 3, 9], "fold": [0, 1, 0, 1, 0], "val_loss": [2.0, 2.2, 0.5, 1.9, 1.0]})
    assert pick_best(runs, "val_loss")["degree"] == 3  # the single lowest run
    best = pick_best(runs, "val_loss", by="degree")
    assert best.name == 9 and best["val_loss"] == 1.0  # degree 3's mean over folds is 1.2
    with pytest.raises(ValueError, match="test_acc"):
        pick_best(runs, "test_acc")


def test_best_epoch_and_stacked_history():
    a = run_study(get_study("polynomial"), {"epochs": 3, "val_fraction": 0.2})[0]
    b = run_study(get_study("polynomial"), {"epochs": 3, "degree": 1})[0]
    both = stacked_history([a, b], "degree")
    assert set(both["degree"]) == {3, 1} and len(both) == len(a.history) + len(b.history)
    assert best_epoch(b.history) is None  # no validation split recorded
    assert best_epoch(b.history, split="train") in (1, 2, 3)
    assert math.isfinite(value_at(a.history, 2))
    with pytest.raises(ValueError, match="epoch"):
        value_at(a.history, 99)
