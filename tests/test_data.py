"""Data: the textbook setups, 2-D sets, images, splits, label noise and augmentation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.data import (
    TOY_DATASETS,
    Augment,
    DataUnavailable,
    Split,
    add_label_noise,
    digits,
    fold_indices,
    function_1d,
    generator,
    grid_2d,
    hold_out,
    linear,
    make_toy,
    mnist,
    poly_features,
    poly_true_coef,
    polynomial,
    prepare,
    subsample,
    toy_bundle,
)
from core.data.augment import _check_convention, affine_batch
from core.models import mlp
from core.studies import get_study
from core.training import TrainConfig, fit


def tracked(labels: np.ndarray) -> Split:
    """A split whose X is the row number, so we can see which rows went where."""
    n = len(labels)
    return Split(torch.arange(n, dtype=torch.float32).reshape(-1, 1), torch.as_tensor(labels, dtype=torch.long))


def rows(split: Split) -> np.ndarray:
    return split.X[:, 0].long().numpy()


def class_shares(y: np.ndarray, k: int = 10) -> np.ndarray:
    return np.bincount(y, minlength=k) / len(y)


# --- synthetic regression ----------------------------------------------------------------


def test_polynomial_textbook_setup():
    cfg = get_study("polynomial").config()
    assert (cfg.n_train, cfg.n_test, cfg.noise) == (100, 100, 0.1)
    data = polynomial(100, 100, 20, 0.1, generator(0, "data"))
    assert data.train.X.shape == (100, 21) and data.test.X.shape == (100, 21)
    assert data.train.y.shape == (100, 1) and data.task == "regression"
    x = data.meta["x"]["train"][:, 0]
    for i in (0, 1, 2, 3, 7, 20):
        assert torch.allclose(data.train.X[:, i], x.pow(i) / math.factorial(i), rtol=1e-5, atol=1e-7)
    true = data.meta["true_coef"]
    assert true[:4] == pytest.approx([5.0, 1.2, -3.4, 5.6]) and true[4:] == [0.0] * 17
    residual = data.train.y - data.train.X @ torch.tensor(true).reshape(-1, 1)
    assert 0.07 < float(residual.std()) < 0.13  # noise sigma = 0.1
    assert abs(float(data.meta["x"]["test"].std()) - 1) < 0.2  # x ~ N(0, 1)


def test_polynomial_degree_sets_feature_columns():
    data = polynomial(30, 10, 3, 0.1, generator(0, "data"))
    assert data.train.X.shape == (30, 4)
    feats = poly_features(torch.tensor([2.0]), 3)
    assert feats.tolist() == [pytest.approx([1.0, 2.0, 2.0, 8 / 6])]
    assert poly_true_coef(3).tolist() == pytest.approx([5.0, 1.2, -3.4, 5.6])


def test_polynomial_same_seed_same_data_other_seed_other_data():
    a = polynomial(20, 20, 3, 0.1, generator(1, "data"))
    b = polynomial(20, 20, 3, 0.1, generator(1, "data"))
    c = polynomial(20, 20, 3, 0.1, generator(2, "data"))
    assert torch.equal(a.train.X, b.train.X) and torch.equal(a.test.y, b.test.y)
    assert not torch.equal(a.train.X, c.train.X)


def test_high_dimensional_setup():
    cfg = get_study("weight-decay").config()
    assert (cfg.n_features, cfg.n_train, cfg.n_test, cfg.noise) == (200, 20, 100, 0.01)
    data = get_study("weight-decay").data(cfg)
    assert data.train.X.shape == (20, 200) and data.test.X.shape == (100, 200)
    assert data.meta["true_w"] == pytest.approx([0.01] * 200) and data.meta["true_b"] == pytest.approx(0.05)
    for s in (data.train, data.test):
        residual = s.y[:, 0] - (0.05 + 0.01 * s.X.sum(1))
        assert float(residual.abs().max()) < 0.05  # noise sigma = 0.01
    assert float((data.test.y[:, 0] - (0.05 + 0.01 * data.test.X.sum(1))).std()) == pytest.approx(0.01, rel=0.3)


def test_linear_data_follows_its_weights():
    w = torch.tensor([2.0, -3.4])
    data = linear(500, 50, w, 4.2, 0.0, generator(0, "data"))
    assert torch.allclose(data.train.y[:, 0], data.train.X @ w + 4.2, atol=1e-5)
    noisy = linear(500, 50, w, 4.2, 0.5, generator(0, "data"))
    assert float((noisy.train.y[:, 0] - noisy.train.X @ w - 4.2).std()) == pytest.approx(0.5, rel=0.15)


@pytest.mark.parametrize("name", ["sin", "abs", "step"])
def test_function_1d(name):
    f = {"sin": torch.sin, "abs": torch.abs, "step": lambda x: (x > 0).float()}[name]
    data = function_1d(name, 200, 50, 0.0, generator(0, "data"))
    x = data.train.X
    assert x.shape == (200, 1) and float(x.abs().max()) <= math.pi
    assert torch.allclose(data.train.y, f(x))


# --- 2-D classification sets -------------------------------------------------------------


@pytest.mark.parametrize("name", TOY_DATASETS)
def test_toy_sets(name):
    X, y = make_toy(name, 300, 0.1, seed=3)
    assert X.shape == (300, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1} and 0.3 < y.mean() < 0.7
    X2, y2 = make_toy(name, 300, 0.1, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    # more noise moves the points away from the noise-free ones
    X0, _ = make_toy(name, 300, 0.0, seed=3)
    Xn, _ = make_toy(name, 300, 0.5, seed=3)
    assert np.abs(Xn - X0).mean() > np.abs(X - X0).mean() > 0
    bundle = toy_bundle(name, 100, 60, 0.1, seed=3)
    assert len(bundle.train) == 100 and len(bundle.test) == 60 and bundle.n_classes == 2
    assert not torch.equal(bundle.train.X[:60], bundle.test.X)  # independent draws


def test_unknown_toy_set_names_the_parameter():
    with pytest.raises(ValueError, match="dataset"):
        make_toy("banana", 10, 0.1, 0)


def test_grid_covers_the_points():
    X = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    grid = grid_2d(X, steps=10, margin=0.5)
    assert grid.shape == (100, 2)
    assert float(grid[:, 0].min()) == pytest.approx(-0.5) and float(grid[:, 1].max()) == pytest.approx(2.5)


# --- images ------------------------------------------------------------------------------


def test_digits_offline_stratified():
    data = digits(seed=0)
    assert len(data.train) + len(data.test) == 1797
    assert len(data.test) == pytest.approx(1797 * 0.25, abs=1)
    assert data.train.X.shape[1:] == (1, 8, 8) and data.image_shape == (1, 8, 8) and data.n_classes == 10
    assert float(data.train.X.min()) >= 0 and float(data.train.X.max()) == 1.0
    assert np.abs(class_shares(data.train.y.numpy()) - class_shares(data.test.y.numpy())).max() < 0.01
    other = digits(seed=1)
    assert not torch.equal(data.test.y, other.test.y)


def test_mnist_loads_from_shared_folder(mnist_dir):
    data = mnist(mnist_dir)
    assert data.train.X.shape == (8000, 1, 28, 28) and data.test.X.shape == (2000, 1, 28, 28)
    assert data.train.X.dtype == torch.float32 and data.train.y.dtype == torch.long
    assert float(data.train.X.min()) == 0.0 and float(data.train.X.max()) == 1.0
    assert set(data.train.y.unique().tolist()) == set(range(10))
    assert data.n_classes == 10 and data.image_shape == (1, 28, 28)


def test_missing_mnist_offline_names_digits(tmp_path, monkeypatch):
    monkeypatch.setenv("OVERFIT_LAB_OFFLINE", "1")
    with pytest.raises(DataUnavailable) as info:
        mnist(tmp_path / "empty")
    message = str(info.value)
    assert "digits" in message and "MNIST" in message
    assert info.value.__suppress_context__  # raised `from None`: no chained traceback to show


# --- splits ------------------------------------------------------------------------------


def test_hold_out_is_stratified_and_partitions():
    labels = digits(seed=0).train.y.numpy()
    kept, out = hold_out(tracked(labels), 0.2, seed=5, task="classification")
    assert len(out) == round(len(labels) * 0.2)
    assert set(rows(kept)).isdisjoint(rows(out)) and len(kept) + len(out) == len(labels)
    assert np.abs(class_shares(kept.y.numpy()) - class_shares(out.y.numpy())).max() < 0.01
    again, _ = hold_out(tracked(labels), 0.2, seed=5, task="classification")
    assert np.array_equal(rows(kept), rows(again))


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_folds_partition_the_rows(task):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=103)
    split = tracked(labels)
    if task == "regression":
        split = Split(split.X, torch.randn(103, 1))
    folds = fold_indices(split, 5, seed=0, task=task)
    assert len(folds) == 5
    vals = [set(v) for _, v in folds]
    assert set().union(*vals) == set(range(103)) and sum(len(v) for v in vals) == 103
    for train, val in folds:
        assert set(train) | set(val) == set(range(103)) and set(train).isdisjoint(val)
        assert len(val) in (20, 21)
        if task == "classification":  # StratifiedKFold keeps each class's share in every fold
            expected = np.bincount(labels, minlength=3) / 5
            assert np.abs(np.bincount(labels[val], minlength=3) - expected).max() <= 1


def test_folds_out_of_range():
    with pytest.raises(ValueError, match="folds"):
        fold_indices(tracked(np.zeros(10, dtype=int)), 11, 0, "regression")


def test_subsample_keeps_a_stratified_fraction():
    labels = digits(seed=0).train.y.numpy()
    small = subsample(tracked(labels), 0.1, seed=0, task="classification")
    assert len(small) == round(len(labels) * 0.1)
    r = rows(small)
    assert len(set(r)) == len(r) and np.array_equal(small.y.numpy(), labels[r])
    assert np.abs(class_shares(small.y.numpy()) - class_shares(labels)).max() < 0.02
    whole = tracked(labels)
    assert subsample(whole, 1.0, 0, "classification") is whole


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.37, 1.0])
def test_label_noise_changes_exactly_the_fraction(fraction):
    labels = np.arange(500) % 10
    split = tracked(labels)
    noisy = add_label_noise(split, fraction, 10, torch.Generator().manual_seed(0))
    changed = int((noisy.y != split.y).sum())
    assert changed == round(500 * fraction)
    assert torch.equal(noisy.X, split.X) and int(noisy.y.min()) >= 0 and int(noisy.y.max()) <= 9


def test_prepare_noises_training_labels_only():
    base = digits(seed=0)
    clean = prepare(base, 0, val_fraction=0.2)
    noisy = prepare(base, 0, val_fraction=0.2, label_noise=0.3)
    assert torch.equal(clean.val.y, noisy.val.y) and torch.equal(clean.test.y, noisy.test.y)
    assert torch.equal(clean.train.X, noisy.train.X)
    assert int((clean.train.y != noisy.train.y).sum()) == round(len(clean.train) * 0.3)
    with pytest.raises(ValueError, match="label_noise"):
        prepare(polynomial(20, 20, 3, 0.1, generator(0, "data")), 0, label_noise=0.1)


def test_prepare_fold_and_train_size():
    base = digits(seed=0)
    folds = [prepare(base, 0, train_size=0.5, fold=i, folds=3) for i in range(3)]
    n_used = round(len(base.train) * 0.5)
    for f in folds:
        assert len(f.train) + len(f.val) == n_used
    assert sum(len(f.val) for f in folds) == n_used


# --- augmentation ------------------------------------------------------------------------


def test_augmentation_matches_torchvision_affine():
    assert _check_convention() < 1e-4


def test_affine_without_rotation_or_shift_is_identity():
    x = torch.rand(3, 1, 8, 8)
    assert torch.allclose(affine_batch(x, torch.zeros(3), torch.zeros(3, 2)), x, atol=1e-6)
    shifted = affine_batch(x, torch.zeros(3), torch.tensor([[1.0, 0.0]] * 3))
    assert torch.allclose(shifted[..., 1:], x[..., :-1], atol=1e-5)  # one pixel to the right


def test_augment_is_seeded_and_stays_in_range():
    x = digits(seed=0).train.X[:16]
    aug = Augment()
    a = aug(x, torch.Generator().manual_seed(1))
    b = aug(x, torch.Generator().manual_seed(1))
    c = aug(x, torch.Generator().manual_seed(2))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    assert float(a.min()) >= 0 and float(a.max()) <= 1 and not torch.allclose(a, x, atol=0.05)


def test_augmentation_touches_training_batches_only():
    base = digits(seed=0)
    data = prepare(base, 0, train_size=0.2, val_fraction=0.25)
    seen: list[torch.Tensor] = []

    def spy(xb: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        seen.append(xb.clone())
        return Augment()(xb, g)

    model = mlp(data.n_inputs, 10, torch.Generator().manual_seed(0), hidden=16)
    result = fit(model, data, TrainConfig(epochs=2, batch_size=32, optimizer="adam", lr=0.01, augment=spy))
    assert result.status == "ok"
    n = len(data.train)
    assert sum(len(b) for b in seen) == 2 * n  # every training row each epoch, nothing else
    assert len(seen) == 2 * math.ceil(n / 32)
    train_rows = {tuple(r.flatten().tolist()) for r in data.train.X}
    eval_rows = {tuple(r.flatten().tolist()) for s in (data.val, data.test) for r in s.X}
    passed = {tuple(r.flatten().tolist()) for b in seen for r in b}
    assert passed <= train_rows and passed.isdisjoint(eval_rows - train_rows)
