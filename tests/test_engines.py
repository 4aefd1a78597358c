"""The two engines agree: the stacked engine trains many models as the module engine trains each alone.

`assert_same_runs` holds the two implementations equal (1e-4 relative): every kind of model the stacked
engine accepts is checked against training it alone, and every kind it refuses is refused by name.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

from core.data import generator, prepare, toy_bundle
from core.engines import ModuleEngine, StackedEngine, stack_key
from core.models import mlp
from core.pipeline import can_stack, expand, plan, train
from core.store import Store
from core.studies import get_study
from core.studies.common import classification_model
from core.training import TrainConfig, evaluate

MOONS = dict(dataset="moons", n_train=100, n_test=60, hidden=8, depth=2, activation="tanh", epochs=6, batch_size=16)


def stacked(study, configs, folds=None, **kw):
    results = train(study, expand(study, configs, folds), engine="stacked", **kw)
    assert {r.engine for r in results} == {"stacked"}
    return results


def alone(study, configs, folds=None):
    return train(study, expand(study, configs, folds), engine="module")


def close(a: float, b: float, rel: float = 1e-4, abs_: float = 1e-6) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= max(abs_, rel * abs(b))


def assert_same_runs(batched, serial, keys=("train_loss", "val_loss", "test_loss")):
    assert len(batched) == len(serial)
    for b, s in zip(batched, serial):
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


def test_stacked_matches_alone_across_lr_decay_seed_dropout_and_uneven_folds():
    study = get_study("classification")
    configs = [
        dict(MOONS, lr=0.01, weight_decay=0.0, seed=0),
        dict(MOONS, lr=0.03, weight_decay=0.01, seed=1),
        dict(MOONS, lr=0.01, weight_decay=0.1, dropout=0.3, seed=2),
        dict(MOONS, lr=0.02, l2=0.01, l1=0.001, dropout=0.5, seed=3),
    ]
    # 100 rows in 3 folds: training sets of 66 and 67 rows, so the models' last batches differ in size
    batched = stacked(study, configs, folds=3)
    assert {r.metrics["train_examples"] for r in batched} == {66, 67}
    assert_same_runs(batched, alone(study, configs, folds=3))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adamw"])
def test_penalties_and_optimizers_match_alone(optimizer):
    study = get_study("weight-decay")
    configs = [
        dict(optimizer=optimizer, epochs=15, l1=0.05, l1_mode="proximal"),
        dict(optimizer=optimizer, epochs=15, l1=0.01, l1_mode="loss", seed=1),
        dict(optimizer=optimizer, epochs=15, l2=0.1, lp=0.05, p=1.5),
        dict(optimizer=optimizer, epochs=15, weight_decay=0.1, decay_bias=True, val_fraction=0.2),
    ]
    batched = stacked(study, configs)
    assert_same_runs(batched, alone(study, configs), keys=("train_loss", "test_loss", "weight_norm"))
    if optimizer == "sgd":
        assert batched[0].metrics["zero_weights"] > 0  # the proximal L1 step really zeroed weights


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "leaky_relu"])
def test_every_activation_and_a_linear_model_match_alone(activation):
    study = get_study("capacity")
    configs = [dict(activation=activation, depth=2, hidden=6, epochs=4, n_train=60, seed=s, lr=0.02) for s in range(2)]
    assert_same_runs(stacked(study, configs), alone(study, configs))
    poly = get_study("polynomial")  # depth 0 and no bias: a linear model on x^0..x^degree
    configs = [dict(epochs=5, lr=0.01, optimizer="momentum", seed=s) for s in range(2)]
    assert_same_runs(stacked(poly, configs), alone(poly, configs))


def test_softmax_on_images_and_learning_curve_sizes_match_alone():
    """Depth 0 with a bias on flattened 8×8 images; a learning curve's training sets of different sizes, padded."""
    study = get_study("classification")
    configs = [dict(model="softmax", epochs=2, train_size=0.2, lr=0.01, seed=s) for s in range(2)]
    assert_same_runs(stacked(study, configs), alone(study, configs))
    curve = get_study("learning-curve")
    configs = [dict(n_sizes=3, train_size=0.3, hidden=8, epochs=2)]
    batched = stacked(curve, configs)
    assert len({r.metrics["train_examples"] for r in batched}) == 3
    assert_same_runs(batched, alone(curve, configs))


def test_early_stopping_per_model_matches_alone():
    study = get_study("early-stopping")
    base = dict(dataset="moons", n_train=200, n_test=60, hidden=16, depth=2, epochs=30, patience=2, train_size=1.0,
                label_noise=0.2, batch_size=32)
    configs = [dict(base, lr=0.05), dict(base, lr=0.01, dropout=0.3, seed=1), dict(base, lr=0.003, restore_best=False, seed=2),
               dict(base, lr=0.05, patience=0, seed=3)]
    batched = stacked(study, configs)
    assert any(r.metrics["stopped_early"] for r in batched)
    assert len({r.metrics["epochs_run"] for r in batched}) > 1  # each model stopped on its own
    assert batched[3].metrics["epochs_run"] == 30 and "best_epoch" not in batched[3].metrics  # no early stopping there
    assert_same_runs(batched, alone(study, configs))


def test_a_diverging_model_is_marked_alone():
    study = get_study("capacity")
    configs = [dict(lr=0.01, optimizer="sgd", epochs=8), dict(lr=10.0, optimizer="sgd", epochs=8), dict(lr=0.05, optimizer="sgd", epochs=8)]
    batched = stacked(study, configs)
    assert [r.status for r in batched] == ["ok", "diverged", "ok"]
    assert math.isnan(batched[1].metrics["test_loss"])
    assert batched[1].metrics["epochs_run"] < 8
    assert_same_runs(batched, alone(study, configs))


def freeze_first_layer(cfg, data, g):
    model = classification_model(cfg, data, g)
    for p in model[1].parameters():  # model[0] is Flatten
        p.requires_grad_(False)
    return model


FROZEN = dataclasses.replace(get_study("classification"), id="frozen-first-layer", model=freeze_first_layer)


def test_a_frozen_layer_is_never_trained_by_either_engine():
    configs = [dict(MOONS, lr=0.05, weight_decay=0.1, l1=0.01, seed=0), dict(MOONS, lr=0.05, l2=0.1, dropout=0.2, seed=1)]
    batched = train(FROZEN, expand(FROZEN, configs))  # auto: the stacked engine takes frozen layers
    assert [r.engine for r in batched] == ["stacked", "stacked"]
    serial = alone(FROZEN, configs)
    assert [r.engine for r in serial] == ["module", "module"]
    assert_same_runs(batched, serial)
    for b, s in zip(batched, serial):
        cfg = FROZEN.config(b.config)
        fresh = freeze_first_layer(cfg, prepare(FROZEN.data(cfg), cfg.seed), generator(cfg.seed, "init"))
        for trained in (b.model, s.model):
            assert torch.equal(trained[1].weight, fresh[1].weight) and torch.equal(trained[1].bias, fresh[1].bias)
            assert not torch.equal(trained[-1].weight, fresh[-1].weight)  # the layers after it did train


def test_trained_model_is_the_model_and_a_group_is_stored_in_one_transaction(tmp_path, store_writes):
    study = get_study("classification")
    store = Store(tmp_path / "runs.db")
    writes = store_writes
    configs = [dict(MOONS, lr=0.01, val_fraction=0.2), dict(MOONS, lr=0.03, val_fraction=0.2, seed=5)]
    results = stacked(study, configs, store=store)
    assert len(writes) == 1 and store.count() == 2 and all(r.run_id is not None for r in results)
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
    results = stacked(study, [dict(MOONS, lr=0.01), dict(MOONS, lr=0.02)], folds=2, should_stop=should_stop,
                      progress=lambda f, text: fractions.append(f))
    assert [r.status for r in results] == ["cancelled"] * 4
    assert all(r.metrics["epochs_run"] == 2 for r in results)
    assert fractions == sorted(fractions) and 0 < fractions[-1] < 1


REFUSED = [
    ("batch norm", "classification", dict(MOONS, batch_norm=True)),
    ("augment", "augmentation", dict(epochs=1, hidden=8)),
    ("hand-written", "linear-regression", dict(model="scratch")),
    ("clear_grad", "linear-regression", dict(model="linear", clear_grad=False)),
]


@pytest.mark.parametrize("needle, study_id, values", REFUSED, ids=[r[0] for r in REFUSED])
def test_stacked_engine_refuses_by_name_what_it_cannot_train_faithfully(needle, study_id, values):
    study = get_study(study_id)
    ok, reason = can_stack(study, expand(study, [values, dict(values, seed=1)]))
    assert not ok and needle in reason
    with pytest.raises(ValueError, match=needle):
        train(study, expand(study, [values]), engine="stacked")
    results = train(study, expand(study, [values, dict(values, seed=1)]))  # auto trains them one by one instead
    assert [r.engine for r in results] == ["module", "module"] and all(r.status == "ok" for r in results)


def test_stacked_engine_refuses_unknown_layers_unshuffled_batches_and_mixed_kinds():
    data = prepare(toy_bundle("moons", 40, 20, 0.2, seed=0), 0)
    g = torch.Generator().manual_seed(0)
    odd = nn.Sequential(nn.Flatten(), nn.Linear(2, 4), nn.Dropout(0.5), nn.Linear(4, 2))  # torch's unseeded Dropout
    assert "Dropout layer" in stack_key(odd, data, TrainConfig())[1]
    assert "not an MLP" in stack_key(nn.Linear(2, 2), data, TrainConfig())[1]
    assert "unshuffled" in stack_key(mlp(2, 2, g), data, TrainConfig(shuffle=False))[1]
    a, b = mlp(2, 2, g, hidden=4), mlp(2, 2, g, hidden=8)
    for other, cfg, needle in ((b, TrainConfig(), "model shapes"), (mlp(2, 2, g, hidden=4), TrainConfig(optimizer="adam"), "optimizers"),
                               (mlp(2, 2, g, hidden=4), TrainConfig(batch_size=8), "batch sizes")):
        with pytest.raises(ValueError, match=needle):
            StackedEngine([a, other], [data, data], [TrainConfig(), cfg])
    study = get_study("classification")
    ok, reason = can_stack(study, expand(study, [dict(MOONS), dict(MOONS, hidden=32)]))
    assert not ok and "shapes" in reason
    groups = plan(study, expand(study, [dict(MOONS), dict(MOONS, hidden=32), dict(MOONS, lr=0.1)]))
    assert [(g.points, g.engine) for g in groups] == [([0, 2], "stacked"), ([1], "module")]


def test_same_seed_same_numbers_and_metrics_do_not_depend_on_the_report_level():
    study = get_study("classification")
    a = stacked(study, [dict(MOONS, dropout=0.2)], folds=2, report="metrics")
    b = stacked(study, [dict(MOONS, dropout=0.2)], folds=2)
    assert [r.metrics["val_loss"] for r in a] == [r.metrics["val_loss"] for r in b]
    strip = lambda m: {k: v for k, v in m.items() if k != "duration_s"}  # noqa: E731
    assert [strip(r.metrics) for r in a] == [strip(r.metrics) for r in b]  # weight_norm, n_params included
    assert a[0].frames == {} and set(b[0].frames) == {"confusion", "misclassified", "boundary", "points", "weights"}
    assert torch.equal(a[0].model[1].weight, b[0].model[1].weight)


def test_module_engine_skips_frozen_parameters_everywhere():
    model = mlp(3, 2, torch.Generator().manual_seed(0), hidden=4)
    model[1].weight.requires_grad_(False)
    data = prepare(toy_bundle("moons", 40, 20, 0.2, seed=0), 0)
    data = data.with_splits(train=dataclasses.replace(data.train, X=torch.cat([data.train.X, data.train.X[:, :1]], 1)),
                            test=dataclasses.replace(data.test, X=torch.cat([data.test.X, data.test.X[:, :1]], 1)))
    engine = ModuleEngine(model, data, TrainConfig(optimizer="adamw", weight_decay=0.5, lr=0.1))
    frozen = {id(model[1].weight)}
    assert not frozen & {id(p) for grp in engine.optimizer.param_groups for p in grp["params"]}
    assert not frozen & {id(w) for w in engine.weights}  # no penalty, no decay
    before = model[1].weight.clone()
    engine.train_epoch(torch.ones(1, dtype=torch.bool))
    assert torch.equal(model[1].weight, before)


def test_a_sparse_history_trains_the_same_and_lets_every_size_stack():
    """A learning curve evaluated every k epochs (history_points): the sizes take about as many loop steps, so 'auto'
    stacks them all; each run trains exactly as when evaluated every epoch (dropout and uneven sizes included), and
    its history is the every-epoch history at the epochs it kept."""
    from core.pipeline import history_every

    curve = get_study("learning-curve")
    sparse = dataclasses.replace(curve, history_points=5)
    configs = [dict(n_sizes=3, train_size=0.3, hidden=8, epochs=4, dropout=0.2, lr=0.01)]
    points = expand(sparse, configs)
    epochs = [p.config.epochs for p in points]
    assert epochs == [24, 10, 4]
    assert [history_every(sparse, e) for e in epochs] == [5, 2, 1]
    assert [len(g.points) for g in plan(sparse, points, "auto")] == [3]  # one stacked computation
    assert [len(g.points) for g in plan(curve, points, "auto")] == [1, 1, 1]  # every epoch: 24 steps against 4
    batched = stacked(sparse, configs)
    assert_same_runs(batched, alone(sparse, configs))
    full = alone(curve, configs)
    for b, f in zip(batched, full):
        for k in ("train_loss", "val_loss", "test_loss"):
            assert close(b.metrics[k], f.metrics[k]), k
        assert b.metrics["epochs_run"] == f.metrics["epochs_run"]
        kept = sorted(set(b.history.epoch))
        assert kept[-1] == f.metrics["epochs_run"] and len(kept) <= 5
        every = f.history.set_index(["epoch", "split"]).loc[list(zip(b.history.epoch, b.history.split))]
        assert every.loss.to_numpy() == pytest.approx(b.history.loss.to_numpy(), rel=1e-4)
    assert sorted(set(batched[0].history.epoch)) == [5, 10, 15, 20, 24]


def test_a_sparse_history_refuses_callbacks_that_need_every_epoch():
    from core.callbacks import EarlyStopping
    from core.loop import Loop
    from core.pipeline import history_every

    sparse = dataclasses.replace(get_study("learning-curve"), history_points=5)
    assert history_every(sparse, 24, patience=3) == 1  # early stopping watches every epoch
    assert history_every(get_study("classification"), 400) == 1  # a study without the cap
    data = toy_bundle("moons", 40, 20, 0.1, seed=0)
    model = mlp(data.n_inputs, 2, generator(0, "init"), hidden=4)
    engine = ModuleEngine(model, data, TrainConfig(epochs=10))
    with pytest.raises(ValueError, match="EarlyStopping needs every epoch"):
        Loop(engine, 10, [EarlyStopping(patience=2)], every=2)
