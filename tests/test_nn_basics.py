"""core.nn_basics: derivatives, softmax temperature, vanishing gradients, the tiny network by hand."""

from __future__ import annotations

import math

import pytest
import torch

from core import nn_basics as nb
from core.studies import get_study
from core.studies.common import classification_data


@pytest.mark.parametrize("name", nb.ACTIVATION_NAMES)
def test_autograd_derivative_matches_formula_and_finite_differences(name):
    table = nb.activation_table(-4, 4, 161)
    rows = table[table["activation"] == name]
    assert rows["abs_diff"].max() < 1e-12
    # an independent check: central differences away from the kink at 0
    x = torch.tensor([-3.1, -0.7, 0.3, 2.2], dtype=torch.float64)
    h = 1e-6
    f = nb.activation_module(name)
    fd = (f(x + h) - f(x - h)) / (2 * h)
    assert torch.allclose(nb.derivative_autograd(name, x), fd, atol=1e-6)


def test_known_derivative_values():
    x = torch.tensor([-2.0, 0.0, 2.0], dtype=torch.float64)
    assert nb.derivative_autograd("sigmoid", x)[1].item() == pytest.approx(0.25)
    assert nb.derivative_autograd("tanh", x)[1].item() == pytest.approx(1.0)
    assert nb.derivative_autograd("relu", x).tolist() == [0.0, 0.0, 1.0]
    assert nb.derivative_autograd("leaky_relu", x).tolist() == pytest.approx([0.01, 0.01, 1.0])
    summary = nb.derivative_summary(nb.activation_table()).set_index("activation")["max_derivative"]
    assert summary["sigmoid"] == pytest.approx(0.25)
    assert summary["relu"] == pytest.approx(1.0)


def test_softmax_temperature():
    logits = [2.0, 1.0, 0.1, -1.0]
    p1 = nb.softmax_t(logits, 1.0)
    assert torch.allclose(p1, torch.softmax(torch.tensor(logits, dtype=torch.float64), 0))
    cold, hot = nb.softmax_t(logits, 0.05), nb.softmax_t(logits, 1000.0)
    assert cold[0] > 0.99  # nearly one-hot on the largest logit
    assert (hot.max() - hot.min()) < 0.01  # nearly uniform
    for p in (p1, cold, hot):
        assert p.sum().item() == pytest.approx(1.0)
        assert torch.equal(torch.argsort(p, descending=True), torch.arange(4))  # order never changes
    entropies = [nb.entropy(nb.softmax_t(logits, t)) for t in (0.1, 0.5, 1.0, 2.0, 10.0)]
    assert entropies == sorted(entropies) and entropies[-1] < math.log(4)
    sweep = nb.softmax_sweep(logits)
    assert sweep.groupby("temperature")["probability"].sum().sub(1).abs().max() < 1e-9
    with pytest.raises(ValueError, match="temperature"):
        nb.softmax_t(logits, 0.0)


def test_parse_logits():
    assert nb.parse_logits("2, 1 ,0.1; -1") == [2.0, 1.0, 0.1, -1.0]
    for bad in ("1", "1, x", "", "1, inf"):
        with pytest.raises(ValueError, match="logits"):
            nb.parse_logits(bad)


def test_first_layer_gradient_vanishes_with_sigmoid_not_relu():
    norms = nb.gradient_norms(8, ("sigmoid", "relu"), seeds=(0, 1), init="he")
    ratio = nb.gradient_table(norms, 8).set_index("activation")["ratio to depth 1"]
    assert ratio["sigmoid"] < 1e-3
    assert ratio["relu"] > 0.1
    assert ratio["sigmoid"] < ratio["relu"] / 100
    # within one deep sigmoid network the gradient shrinks on its way back: first layer ≪ output layer
    deep = norms[(norms["activation"] == "sigmoid") & (norms["depth"] == 8) & (norms["seed"] == 0)].sort_values("layer")
    assert deep["grad_norm"].iloc[0] < 1e-3 * deep["grad_norm"].iloc[-1]
    with pytest.raises(ValueError, match="depth"):
        nb.gradient_table(norms, 9)


def test_pytorch_default_init_shrinks_relu_too():
    """The page says ReLU keeps its gradient with He init, not with nn.Linear's smaller default."""
    norms = nb.gradient_norms(6, ("relu",), seeds=(0, 1), init="pytorch")
    assert nb.gradient_table(norms, 6)["ratio to depth 1"].iloc[0] < 0.05
    with pytest.raises(ValueError, match="init"):
        nb.gradient_norms(2, init="zeros")


@pytest.mark.parametrize("activation", nb.ACTIVATION_NAMES)
def test_manual_backward_matches_autograd(activation):
    table = nb.tiny_pass((0.5, -1.0), 1.0, activation, seed=3)
    assert set(table["quantity"]) == set(nb.FORMULAS)
    assert table["abs_diff"].max() < 1e-12
    assert len(table[table["quantity"] == "∂L/∂W1"]) == 6 and len(table[table["quantity"] == "∂L/∂W2"]) == 3


def test_manual_gradients_match_finite_differences():
    """The by-hand gradient of W1[2,1] against the change of the loss when nudging that weight."""
    x, target, act = torch.tensor([0.8, -0.4], dtype=torch.float64), 0.5, "tanh"
    w = nb.tiny_weights(1)
    grads = nb.manual_pass(x, target, w, act)
    h = 1e-6
    for key, idx, gkey in (("W1", (1, 0), "∂L/∂W1"), ("b1", (2,), "∂L/∂b1"), ("W2", (0, 1), "∂L/∂W2")):
        up = {k: v.clone() for k, v in w.items()}
        down = {k: v.clone() for k, v in w.items()}
        up[key][idx] += h
        down[key][idx] -= h
        fd = (nb.manual_pass(x, target, up, act)["L"] - nb.manual_pass(x, target, down, act)["L"]) / (2 * h)
        assert grads[gkey][idx].item() == pytest.approx(fd.item(), abs=1e-6)


def test_toy_points_are_the_study_training_points():
    cfg = get_study("classification").config({"dataset": "circles", "n_train": 50, "n_test": 20, "noise": 0.1, "seed": 4})
    points = nb.toy_points("circles", 50, 20, 0.1, 4)
    train = classification_data(cfg).train
    assert len(points) == 50
    assert torch.allclose(torch.tensor(points[["x1", "x2"]].to_numpy()), train.X)
    assert points["label"].tolist() == [str(int(v)) for v in train.y]
