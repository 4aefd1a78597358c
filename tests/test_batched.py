"""Batched training (core.batched) gives the same runs as training each model alone (run_study)."""

from __future__ import annotations

import math

import pytest
import torch

from core.batched import can_batch, train_batched
from core.data import prepare
from core.store import Store
from core.studies import get_study, run_study
from core.training import evaluate


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: one intra-op thread. With two, a busy shared machine makes every op wait for the second
    thread (measured: 10-100x slower, serial and batched alike); both paths here use the same setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


MOONS = dict(dataset="moons", n_train=100, n_test=60, hidden=8, depth=2, activation="tanh", epochs=6, batch_size=16)


def serial(study, configs, folds=None):
    return [r for cfg in configs for r in run_study(study, cfg, folds=folds)]


def close(a: float, b: float, rel: float = 1e-4, abs_: float = 1e-6) -> bool:
    return abs(a - b) <= max(abs_, rel * abs(b))


def assert_same_runs(batched, alone, keys=("train_loss", "val_loss", "test_loss")):
    assert len(batched) == len(alone)
    for b, s in zip(batched, alone):
        assert b.config == s.config
        assert b.status == s.status
        assert list(b.metrics) == list(s.metrics)  # same metric names, same order
        for k in keys:
            if k not in s.metrics:
                continue
            assert close(b.metrics[k], s.metrics[k]), (k, b.config, b.metrics[k], s.metrics[k])
        for k in ("epochs_run", "stopped_early", "best_epoch", "train_examples", "val_acc", "test_acc", "zero_weights"):
            if k in s.metrics:
                assert b.metrics[k] == s.metrics[k], (k, b.metrics[k], s.metrics[k])
        assert list(b.history.columns) == list(s.history.columns)
        assert len(b.history) == len(s.history)
        assert set(b.frames) == set(s.frames)


def test_batched_matches_serial_across_lr_decay_seed_dropout_and_uneven_folds():
    study = get_study("classification")
    configs = [
        dict(MOONS, lr=0.01, weight_decay=0.0, seed=0),
        dict(MOONS, lr=0.03, weight_decay=0.01, seed=1),
        dict(MOONS, lr=0.01, weight_decay=0.1, dropout=0.3, seed=2),
        dict(MOONS, lr=0.02, l2=0.01, l1=0.001, dropout=0.5, seed=3),
    ]
    # 100 rows in 3 folds: training sets of 66 and 67 rows, so the models' last batches differ in size
    batched = train_batched(study, configs, folds=3)
    assert {r.metrics["train_examples"] for r in batched} == {66, 67}
    assert_same_runs(batched, serial(study, configs, folds=3))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adamw"])
def test_penalties_and_optimizers_match_serial(optimizer):
    study = get_study("weight-decay")
    configs = [
        dict(optimizer=optimizer, epochs=15, l1=0.05, l1_mode="proximal"),
        dict(optimizer=optimizer, epochs=15, l1=0.01, l1_mode="loss", seed=1),
        dict(optimizer=optimizer, epochs=15, l2=0.1, lp=0.05, p=1.5),
        dict(optimizer=optimizer, epochs=15, weight_decay=0.1, decay_bias=True, val_fraction=0.2),
    ]
    batched = train_batched(study, configs)
    assert_same_runs(batched, serial(study, configs), keys=("train_loss", "test_loss", "weight_norm"))
    if optimizer == "sgd":
        assert batched[0].metrics["zero_weights"] > 0  # the proximal L1 step really zeroed weights


def test_early_stopping_per_model_matches_serial():
    study = get_study("early-stopping")
    base = dict(dataset="moons", n_train=200, n_test=60, hidden=16, depth=2, epochs=30, patience=2, train_size=1.0,
                label_noise=0.2, batch_size=32)
    configs = [dict(base, lr=0.05), dict(base, lr=0.01, dropout=0.3, seed=1), dict(base, lr=0.003, restore_best=False, seed=2)]
    batched = train_batched(study, configs)
    assert any(r.metrics["stopped_early"] for r in batched)
    assert len({r.metrics["epochs_run"] for r in batched}) > 1  # each model stopped on its own
    assert_same_runs(batched, serial(study, configs))


def test_a_diverging_model_is_marked_alone():
    study = get_study("capacity")
    configs = [dict(lr=0.01, optimizer="sgd", epochs=8), dict(lr=10.0, optimizer="sgd", epochs=8), dict(lr=0.05, optimizer="sgd", epochs=8)]
    batched = train_batched(study, configs)
    assert [r.status for r in batched] == ["ok", "diverged", "ok"]
    assert math.isnan(batched[1].metrics["test_loss"])
    assert batched[1].metrics["epochs_run"] < 8
    alone = serial(study, [configs[0], configs[2]])
    assert_same_runs([batched[0], batched[2]], alone)


def test_unstacked_model_is_the_trained_model_and_runs_are_stored(tmp_path):
    study = get_study("classification")
    store = Store(tmp_path / "runs.db")
    configs = [dict(MOONS, lr=0.01, val_fraction=0.2), dict(MOONS, lr=0.03, val_fraction=0.2, seed=5)]
    results = train_batched(study, configs, store=store, sweep_id=None)
    assert store.count() == 2 and all(r.run_id is not None for r in results)
    r = results[1]
    cfg = study.config(configs[1])
    data = prepare(study.data(cfg), cfg.seed, val_fraction=0.2)
    assert close(evaluate(r.model, data.test, "classification")["loss"], r.metrics["test_loss"], rel=1e-5)
    assert {"confusion", "boundary", "weights"} <= set(r.frames)
    assert r.metrics["duration_s"] > 0


def test_cancel_stops_every_running_model():
    study = get_study("classification")
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) >= 2  # after the second epoch

    fractions = []
    results = train_batched(study, [dict(MOONS, lr=0.01), dict(MOONS, lr=0.02)], folds=2, should_stop=should_stop,
                            progress=lambda f, text: fractions.append(f))
    assert [r.status for r in results] == ["cancelled"] * 4
    assert all(r.metrics["epochs_run"] == 2 for r in results)
    assert fractions == sorted(fractions) and 0 < fractions[-1] < 1


def test_can_batch_says_why_not():
    study = get_study("classification")
    ok, reason = can_batch(study, [dict(MOONS), dict(MOONS, lr=0.1)], folds=2)
    assert ok, reason
    ok, reason = can_batch(study, [dict(MOONS), dict(MOONS, batch_norm=True)])
    assert not ok and "batch norm" in reason
    ok, reason = can_batch(study, [dict(MOONS), dict(MOONS, hidden=32)])
    assert not ok and "shape" in reason
    ok, reason = can_batch(study, [dict(MOONS), dict(MOONS, optimizer="sgd")])
    assert not ok and "optimizer" in reason
    ok, reason = can_batch(get_study("augmentation"), [dict(epochs=1)])
    assert not ok and "augment" in reason
    ok, reason = can_batch(get_study("linear-regression"), [dict(model="scratch")])
    assert not ok and "hand-written" in reason
    with pytest.raises(ValueError, match="batch norm"):
        train_batched(study, [dict(MOONS, batch_norm=True)])


def test_same_seed_same_numbers():
    study = get_study("classification")
    a = train_batched(study, [dict(MOONS, dropout=0.2)], folds=2, report=False)
    b = train_batched(study, [dict(MOONS, dropout=0.2)], folds=2, report=False)
    assert [r.metrics["val_loss"] for r in a] == [r.metrics["val_loss"] for r in b]
    assert a[0].frames == {} and torch.equal(a[0].model[1].weight, b[0].model[1].weight)
