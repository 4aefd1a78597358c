"""Models: from-scratch regression, the MLP builder, dropout, parameter budgets."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from core.models import (
    Dropout,
    ManualSGD,
    ScratchLinearRegression,
    count_params,
    hidden_for_budget,
    linear_regression,
    mlp,
    polynomial_regression,
    softmax_regression,
    weight_tensors,
)


def g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def kinds(model: nn.Module) -> list[type]:
    return [type(m) for m in model]


def test_scratch_regression_init():
    model = ScratchLinearRegression(2000, g())
    assert model.w.shape == (2000, 1) and model.b.shape == (1,)
    assert model.w.requires_grad and model.b.requires_grad
    w = model.w.detach()
    assert 0.008 < float(w.std()) < 0.012 and abs(float(w.mean())) < 0.002  # randn * 0.01
    assert torch.equal(model.b.detach(), torch.zeros(1))
    assert {n for n, _ in model.named_parameters()} == {"w", "b"}
    assert torch.equal(ScratchLinearRegression(2000, g()).w, model.w)
    X = torch.randn(7, 2000)
    assert torch.allclose(model(X), X @ model.w + model.b)


def test_manual_step_and_gradient_accumulation():
    model = ScratchLinearRegression(3, g())
    X, y = torch.randn(10, 3), torch.randn(10, 1)
    opt = ManualSGD(model.parameters(), lr=0.1)
    ((model(X) - y) ** 2).mean().backward()
    grad = model.w.grad.clone()
    before = model.w.detach().clone()
    opt.step()
    assert torch.allclose(model.w.detach(), before - 0.1 * grad)
    # without zero_grad the next backward adds to the old gradient
    opt.zero_grad()
    ((model(X) - y) ** 2).mean().backward()
    once = model.w.grad.clone()
    ((model(X) - y) ** 2).mean().backward()
    assert torch.allclose(model.w.grad, 2 * once)
    opt.zero_grad()
    assert torch.equal(model.w.grad, torch.zeros_like(once))


def test_mlp_shapes_activations_dropout_batch_norm():
    model = mlp(16, 3, g(), hidden=8, depth=2, activation="tanh", dropout=0.2, batch_norm=True)
    assert kinds(model) == [nn.Flatten, nn.Linear, nn.BatchNorm1d, nn.Tanh, Dropout,
                            nn.Linear, nn.BatchNorm1d, nn.Tanh, Dropout, nn.Linear]
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(16, 8), (8, 8), (8, 3)]
    assert all(m.p == 0.2 for m in model if isinstance(m, Dropout))
    assert model(torch.rand(5, 1, 4, 4)).shape == (5, 3)  # images are flattened


@pytest.mark.parametrize("name,cls", [("relu", nn.ReLU), ("tanh", nn.Tanh), ("sigmoid", nn.Sigmoid), ("leaky_relu", nn.LeakyReLU)])
def test_mlp_activation(name, cls):
    model = mlp(4, 2, g(), hidden=5, depth=3, activation=name)
    assert sum(isinstance(m, cls) for m in model) == 3
    assert not any(isinstance(m, (Dropout, nn.BatchNorm1d)) for m in model)


def test_mlp_depth_zero_is_linear_and_bad_activation_is_refused():
    model = mlp(4, 2, g(), depth=0)
    assert kinds(model) == [nn.Flatten, nn.Linear]
    with pytest.raises(ValueError, match="activation"):
        mlp(4, 2, g(), activation="swish")


def test_init_depends_only_on_the_seed():
    a, b, c = mlp(4, 2, g(1), hidden=6), mlp(4, 2, g(1), hidden=6), mlp(4, 2, g(2), hidden=6)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert not torch.equal(a[1].weight, c[1].weight)


def test_dropout_active_in_train_off_in_eval():
    drop = Dropout(0.5)
    drop.generator = g(0)
    x = torch.ones(10_000)
    out = drop(x)
    assert set(out.unique().tolist()) == {0.0, 2.0}  # inverted dropout: survivors scaled by 1/(1-p)
    assert 0.45 < float((out == 0).float().mean()) < 0.55
    drop.eval()
    assert torch.equal(drop(x), x)
    model = mlp(10, 2, g(), hidden=64, dropout=0.5)
    X = torch.randn(8, 10)
    model.train()
    assert not torch.equal(model(X), model(X))
    model.eval()
    assert torch.equal(model(X), model(X))
    with pytest.raises(ValueError, match="dropout"):
        Dropout(1.0)


def test_regression_and_softmax_builders():
    poly = polynomial_regression(5, g())
    layer = poly[1]
    assert layer.in_features == 6 and layer.out_features == 1 and layer.bias is None
    lin = linear_regression(3, g())
    assert lin(torch.randn(4, 3)).shape == (4, 1)
    soft = softmax_regression(64, 10, g())
    assert soft(torch.rand(4, 1, 8, 8)).shape == (4, 10) and count_params(soft) == 64 * 10 + 10


def test_weight_tensors_leave_out_biases_and_norms():
    model = mlp(4, 2, g(), hidden=3, depth=1, batch_norm=True)
    weights = weight_tensors(model)
    assert sorted(w.shape for w in weights) == sorted([torch.Size([3, 4]), torch.Size([2, 3])])
    assert len(weight_tensors(model, include_bias=True)) == len(list(model.parameters()))
    scratch = ScratchLinearRegression(3, g())
    assert [w.shape for w in weight_tensors(scratch)] == [torch.Size([3, 1])]


@pytest.mark.parametrize("depth", [1, 2, 3, 6])
@pytest.mark.parametrize("budget", [500, 2000, 10_000])
def test_hidden_for_budget_gives_about_the_budget(depth, budget):
    h = hidden_for_budget(budget, depth)
    n = count_params(mlp(1, 1, g(), hidden=h, depth=depth))
    assert abs(n - budget) / budget < 0.1
    # within half a width step of the budget: the width was rounded, not truncated or guessed
    below, above = (count_params(mlp(1, 1, g(), hidden=w, depth=depth)) for w in (h - 1, h + 1))
    assert abs(n - budget) <= (above - below) / 2


def test_hidden_for_budget_narrows_with_depth():
    widths = [hidden_for_budget(3000, d) for d in (1, 2, 4, 8)]
    assert widths == sorted(widths, reverse=True) and widths[0] > 3 * widths[-1]
    assert hidden_for_budget(3000, 2, n_inputs=64, n_outputs=10) < hidden_for_budget(3000, 2)
    h = hidden_for_budget(3000, 2, n_inputs=64, n_outputs=10)
    assert abs(count_params(mlp(64, 10, g(), hidden=h, depth=2)) - 3000) / 3000 < 0.1
