"""Beyond the textbook: double descent, memorisation, bias–variance, the closed-form fit and the frozen layer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.descent import shape
from core.pipeline import expand, plan, train
from core.schema import check_run
from core.solve import least_squares
from core.studies import get_study, run_study
from core.sweeps import Axis, SweepSpec, run_sweep, sweep_frame

DD = get_study("double-descent")


def by_p(results) -> dict[int, dict]:
    return {r.config["hidden"]: r.metrics for r in results}


# --- double descent -----------------------------------------------------------------------------------


def test_test_error_peaks_at_the_interpolation_threshold():
    """Digits, n = 200, minimum-norm least squares on P random ReLU features: worst at P = n, better at n/4 and 8n."""
    ps = (50, 200, 1600)
    results = train(DD, expand(DD, [DD.config(hidden=p) for p in ps]))
    m = by_p(results)
    error = {p: 1 - m[p]["test_acc"] for p in ps}
    assert error[200] >= error[50] + 0.15 and error[200] >= error[1600] + 0.15, error
    assert m[200]["test_loss"] > 5 * max(m[50]["test_loss"], m[1600]["test_loss"])
    # at and past the threshold the features fit every training label; the fit at P = n needs the largest weights
    assert m[200]["train_acc"] == 1.0 and m[1600]["train_acc"] == 1.0 and m[50]["train_acc"] < 1.0
    assert m[200]["weight_norm"] > 10 * m[1600]["weight_norm"]
    assert all(r.engine == "module" and r.metrics["epochs_run"] == 1 for r in results)  # one exact solve each


def test_the_peak_on_an_mnist_subset(mnist_dir):
    results = train(DD, expand(DD, [DD.config(dataset="mnist", hidden=p) for p in (50, 200, 1600)]))
    error = {p: 1 - m["test_acc"] for p, m in by_p(results).items()}
    assert all(r.metrics["train_examples"] == 200 for r in results)
    assert error[200] >= error[50] + 0.2 and error[200] >= error[1600] + 0.2, error


def test_a_subset_larger_than_the_data_set_is_refused_by_name():
    with pytest.raises(ValueError, match="^n_train: 5000 is more than the 1347 examples available"):
        run_study(DD, {"n_train": 5000})


def test_ridge_flattens_the_peak():
    plain, ridge = (run_study(DD, {"hidden": 200, "l2": l2})[0].metrics for l2 in (0.0, 1e-3))
    assert ridge["test_acc"] >= plain["test_acc"] + 0.3
    assert ridge["train_loss"] > plain["train_loss"]  # no longer an exact fit


def test_least_squares_is_the_minimum_norm_or_ridge_solution():
    g = torch.Generator().manual_seed(0)
    wide = torch.randn(6, 10, generator=g, dtype=torch.float64)  # fewer equations than unknowns
    Y = torch.randn(6, 2, generator=g, dtype=torch.float64)
    W = least_squares(wide, Y)
    assert torch.allclose(wide @ W, Y, atol=1e-10)  # interpolates
    assert torch.allclose(W, torch.linalg.pinv(wide) @ Y, atol=1e-10)  # and has the least norm doing so
    l2 = 0.3
    R = least_squares(wide, Y, l2)
    # the gradient of mean((ΦW − Y)²) + l2/2·‖W‖² vanishes at the ridge solution
    grad = 2 * wide.T @ (wide @ R - Y) / Y.numel() + l2 * R
    assert grad.abs().max() < 1e-10


def test_lstsq_is_refused_by_name_where_it_cannot_apply():
    with pytest.raises(ValueError, match="^epochs: "):
        DD.config(epochs=5)
    with pytest.raises(ValueError, match="^model: "):
        DD.config(model="mlp")
    with pytest.raises(ValueError, match="^criterion: "):
        DD.config(criterion="cross_entropy")
    groups = plan(DD, expand(DD, [DD.config(hidden=p) for p in (20, 20)]), "auto")
    assert [g.engine for g in groups] == ["module", "module"] and "closed-form" in groups[0].reason
    with pytest.raises(ValueError, match="closed-form"):
        plan(DD, expand(DD, [DD.config(seed=s) for s in (0, 1)]), "stacked")


def test_gradient_trained_random_features_agree_across_engines_and_stay_frozen():
    """The frozen first layer under --backend auto (stacked) and serial (module): the same numbers, layer untouched."""
    base = {"optimizer": "adam", "lr": 0.01, "epochs": 3, "hidden": 64, "n_train": 100, "n_test": 100}
    spec = SweepSpec("double-descent", base, (Axis("criterion", ("mse", "cross_entropy")), Axis("l2", (0.0, 0.01))), seeds=2)
    auto, serial = run_sweep(spec, backend="auto"), run_sweep(spec, backend="serial")
    assert [r.engine for r in auto.results] == ["stacked"] * 8
    assert [r.engine for r in serial.results] == ["module"] * 8
    for a, s in zip(auto.results, serial.results):
        assert a.config == s.config
        for name in ("train_loss", "test_loss", "train_acc", "test_acc", "weight_norm"):
            assert a.metrics[name] == pytest.approx(s.metrics[name], rel=1e-4, abs=1e-6), name
        assert not a.model[1].weight.requires_grad
    # frozen means untouched: the trained first layer is exactly the one the seed built
    from core.pipeline import setup

    built = setup(DD, expand(DD, [DD.config(**{**base, "seed": 1})])[0]).model
    for result in (auto, serial):
        trained = next(r for r in result.results if r.config["seed"] == 1).model
        assert torch.equal(trained[1].weight, built[1].weight)
        assert not torch.equal(trained[3].weight, built[3].weight)  # the output layer did learn


# --- memorisation -------------------------------------------------------------------------------------


def test_random_labels_are_memorised_while_test_stays_at_chance():
    mem = get_study("memorisation")
    small = {"hidden": 512, "train_size": 0.15, "batch_size": 32, "epochs": 60}
    real, random = train(mem, expand(mem, [mem.config(**small, random_labels=f) for f in (0.0, 1.0)]), report="metrics")
    assert random.metrics["train_acc"] >= 0.99
    assert abs(random.metrics["test_acc"] - 0.1) <= 0.05
    assert real.metrics["test_acc"] >= 0.85
    assert random.metrics["epochs_to_fit"] > 2 * real.metrics["epochs_to_fit"]  # noise takes longer to fit


def test_random_labels_and_pixels_touch_the_training_set_only():
    from core.data import Split, random_labels, random_pixels

    g = torch.Generator().manual_seed(0)
    y = torch.arange(1000) % 10
    split = Split(torch.rand(1000, 1, 8, 8), y)
    half = random_labels(split, 0.5, 10, g)
    changed = (half.y != y).float().mean().item()
    assert 0.5 * 0.9 - 0.06 <= changed <= 0.5 * 0.9 + 0.06  # a uniform draw keeps the label one time in ten
    assert torch.equal(random_labels(split, 0.0, 10, g).y, y)
    noisy = random_pixels(split, g)
    assert torch.equal(noisy.y, y) and not torch.equal(noisy.X, split.X)
    assert abs(noisy.X.mean().item() - split.X.mean().item()) < 0.02
    mem = get_study("memorisation")
    data, clean = mem.data(mem.config(random_pixels=True)), get_study("classification").data(mem.config())
    assert torch.equal(data.test.X, clean.test.X) and torch.equal(data.test.y, clean.test.y)


# --- bias–variance ------------------------------------------------------------------------------------


def test_bias_variance_terms_add_up_and_trade_off_with_degree():
    bv = get_study("bias-variance")
    base = {"function": "cos", "x_range": "0..1", "n_train": 30, "noise": 0.1}
    degrees = (1, 2, 4, 6, 8)
    results = {r.config["degree"]: r.metrics for r in train(bv, expand(bv, [bv.config(**base, degree=d) for d in degrees]))}
    for d, m in results.items():
        total = m["bias2"] + m["variance"] + m["irreducible"]
        assert total == pytest.approx(m["test_loss"], rel=0.05), d
        assert m["decomposition_error"] == pytest.approx(abs(total - m["test_loss"]) / m["test_loss"], rel=1e-3, abs=1e-9)
        assert m["irreducible"] == pytest.approx(0.1**2, rel=0.15)  # the noise variance, measured on the test set
    bias = [results[d]["bias2"] for d in (1, 2, 4)]
    variance = [results[d]["variance"] for d in (4, 6, 8)]
    assert bias == sorted(bias, reverse=True) and bias[0] > 100 * bias[-1]
    assert variance == sorted(variance) and variance[-1] > 10 * variance[0]


def test_each_resample_is_fitted_on_its_own_training_set():
    bv = get_study("bias-variance")
    cfg = bv.config(resamples=3, degree=2, n_train=12)
    data = bv.data(cfg)
    [result] = run_study(bv, cfg)
    model = result.model
    for r in range(3):  # member r is exactly the least-squares polynomial of training set r
        X, y = data.train.X[:, r, :].double(), data.train.y[:, r].double()
        w = torch.linalg.lstsq(X, y.unsqueeze(1)).solution[:, 0]
        assert torch.allclose(model.weight[r].double(), w, atol=1e-4)
    assert len({tuple(x[:3, 0].tolist()) for x in data.meta["x"]}) == 3  # three different draws


# --- polynomial: scikit-learn's target and closed-form fit ----------------------------------------------


def test_polynomial_lstsq_on_the_cos_target_is_scikit_learns_fit():
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures

    poly = get_study("polynomial")
    cfg = poly.config(function="cos", x_range="0..1", n_train=30, noise=0.1, optimizer="lstsq", epochs=1, degree=4)
    [result] = run_study(poly, cfg)
    data = poly.data(cfg)
    x = data.meta["x"]["train"].numpy()
    assert x.min() >= 0 and x.max() <= 1
    sk = make_pipeline(PolynomialFeatures(4), LinearRegression()).fit(x, data.train.y.numpy()[:, 0])
    grid = np.linspace(0, 1, 50).reshape(-1, 1)
    from core.data import poly_features
    from core.training import predict

    ours = predict(result.model, poly_features(torch.tensor(grid, dtype=torch.float32), 4))[:, 0].numpy()
    assert np.allclose(ours, sk.predict(grid), atol=1e-3)
    assert "coef_error" not in result.metrics  # the distance to the cubic's coefficients means nothing here


def test_runs_from_before_function_and_x_range_read_as_the_cubic():
    rec = {"study": "polynomial", "status": "ok", "metrics": {"test_loss": 1.0},
           "config": {k: v for k, v in get_study("polynomial").defaults().items() if k not in ("function", "x_range")}}
    clean = check_run(rec)
    assert clean["config"]["function"] == "cubic" and clean["config"]["x_range"] == "normal"
    with pytest.raises(ValueError, match="needs parameter.*degree"):
        check_run({**rec, "config": {k: v for k, v in rec["config"].items() if k != "degree"}})


# --- reading curves -------------------------------------------------------------------------------------


def test_shape_tells_a_second_descent_from_overfitting_and_noise():
    xs = list(range(60))
    double = [0.3 - 0.01 * x if x < 20 else 0.1 + 0.01 * (x - 20) if x < 35 else 0.25 - 0.01 * (x - 35) for x in xs]
    assert shape(xs, double).kind == "double"
    rise = [0.3 - 0.01 * x if x < 20 else 0.1 + 0.004 * (x - 20) for x in xs]
    got = shape(xs, rise)
    assert got.kind == "rise" and got.first_min_x in range(17, 23)
    wiggle = [r + (0.005 if x % 7 == 0 else 0.0) for x, r in zip(xs, rise)]  # a dip smaller than test-set noise
    assert shape(xs, wiggle).kind == "rise"
    assert shape(xs, [0.3 - 0.004 * x for x in xs]).kind == "falls"
    assert math.isclose(shape(xs, double).peak_x, 35, abs_tol=3)
