"""The one training loop: what regularisation does, early stopping, divergence, reproducibility, callbacks."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from core.callbacks import Cancel, EarlyStopping, Progress
from core.data import Split, digits, generator, polynomial, prepare, toy_bundle
from core.models import linear_regression, mlp
from core.penalties import Penalty
from core.store import Store
from core.studies import get_study, run_study
from core.loop import Loop
from core.training import TrainConfig, batches, evaluate, fit, make_optimizer

SPLITS = ("train", "val", "test")


def run(study: str, **values):
    """Run a study once (no folds) and return its only result."""
    results = run_study(get_study(study), values)
    assert len(results) == 1
    return results[0]


def without_time(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "duration_s"}


# --- what the studies are for ------------------------------------------------------------


def test_degree_3_recovers_the_polynomial_coefficients():
    r = run("polynomial", degree=3)
    assert r.status == "ok"
    coef = r.frames["coefficients"]
    learned = coef.set_index("power")["learned"]
    for power, true in enumerate([5.0, 1.2, -3.4, 5.6]):
        assert learned[power] == pytest.approx(true, abs=0.1)
    assert r.metrics["coef_error"] < 0.1
    assert r.metrics["test_loss"] < 0.02  # close to the noise floor sigma^2 = 0.01
    underfit = run("polynomial", degree=1)
    assert underfit.metrics["train_loss"] > 10 * r.metrics["train_loss"]


def test_weight_decay_lowers_test_loss_in_high_dimensions():
    free = run("weight-decay", weight_decay=0.0)
    decayed = run("weight-decay", weight_decay=3.0)
    assert free.metrics["train_loss"] < 1e-4  # 200 inputs, 20 examples: it memorises
    assert decayed.metrics["test_loss"] < 0.5 * free.metrics["test_loss"]
    assert decayed.metrics["weight_norm"] < 0.5 * free.metrics["weight_norm"]


def test_mnist_mlp_learns(mnist_dir, monkeypatch):
    monkeypatch.setenv("OVERFIT_LAB_DATA", str(mnist_dir))
    # one epoch of 8,000 images in batches of 32: 250 steps
    r = run("classification", dataset="mnist", model="mlp", hidden=32, epochs=1, batch_size=32)
    assert r.status == "ok" and r.metrics["train_examples"] == 8000
    assert r.metrics["test_acc"] > 0.85
    assert r.metrics["train_acc"] > 0.85 and r.metrics["test_loss"] < 0.6  # 2.30 is chance for 10 classes


def test_l1_zeroes_more_weights_than_l2():
    l1 = run("weight-decay", l1=0.1, l1_mode="proximal")
    l2 = run("weight-decay", l2=0.1)
    n = l1.metrics["n_weights"]
    assert n == 200
    assert l1.metrics["zero_weights"] > n / 2
    assert l2.metrics["zero_weights"] < l1.metrics["zero_weights"] / 10
    weights = l1.frames["weights"]["weight"]
    assert int((weights == 0).sum()) == l1.metrics["zero_weights"]


def test_penalty_terms_and_proximal_step():
    w = torch.tensor([[1.0, -2.0], [0.05, -0.5]])
    assert float(Penalty(l1=0.5)([w])) == pytest.approx(0.5 * 3.55)
    assert float(Penalty(l2=0.5)([w])) == pytest.approx(0.25 * (1 + 4 + 0.0025 + 0.25))
    assert float(Penalty(lp=0.3, p=3)([w])) == pytest.approx(0.1 * (1 + 8 + 0.05**3 + 0.125))
    assert Penalty(l1=0.5, l1_mode="proximal")([w]) == 0.0  # applied as a step, not in the loss
    assert not Penalty().active
    v = w.clone()
    Penalty(l1=1.0, l1_mode="proximal").proximal_step([v], lr=0.1)
    assert v.tolist() == [pytest.approx([0.9, -1.9]), pytest.approx([0.0, -0.4])]


def test_early_stopping_restores_the_best_epoch():
    r = run("early-stopping", epochs=40)
    m = r.metrics
    assert r.status == "ok" and m["stopped_early"] is True
    assert m["epochs_run"] < 40 and m["epochs_run"] == m["best_epoch"] + 5  # patience 5
    val = r.history.query("split == 'val'").set_index("epoch")["loss"]
    assert len(val) == m["epochs_run"]
    assert val.idxmin() == m["best_epoch"]
    assert m["val_loss"] == pytest.approx(val[m["best_epoch"]], rel=1e-6)
    assert m["val_loss"] < val.iloc[-1]  # the last epoch was worse: the best weights came back
    kept_last = run("early-stopping", epochs=40, restore_best=False)
    assert kept_last.metrics["val_loss"] == pytest.approx(val.iloc[-1], rel=1e-6)


class ScriptedEngine:
    """An engine whose models report scripted val_loss values: the loop and its callbacks without training."""

    task = "regression"

    def __init__(self, val_losses: list[list[float]]):
        self.values, self.M, self.epoch = torch.tensor(val_losses, dtype=torch.float64), len(val_losses), 0
        self.split_names = [("train", "val", "test")] * self.M
        self.trained, self.restored = [], None

    def train_epoch(self, active):
        self.trained.append(active.tolist())
        self.epoch += 1

    def evaluate(self):
        v = self.values[:, min(self.epoch, self.values.shape[1]) - 1]
        return {"train_loss": v, "val_loss": v, "test_loss": v}

    def snapshot(self, mask, into=None):
        into = dict(into or {})
        into.update({m: self.epoch for m in torch.nonzero(mask).flatten().tolist()})
        return into

    def restore(self, snapshot, mask):
        self.restored = {m: snapshot[m] for m in torch.nonzero(mask).flatten().tolist()}

    def model(self, m):
        return None


def test_early_stopping_counts_patience_per_model():
    # model 0: 0.45 and 0.42 are within min_delta of 0.5, so it stops at epoch 4 with epoch 2 its best;
    # model 1: patience 0 leaves it alone; model 2: patience 1, keeps its last weights (restore_best off)
    script = [[1.0, 0.5, 0.45, 0.42, 0.3, 0.2], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 0.9, 0.95, 0.1, 0.1, 0.1]]
    engine = ScriptedEngine(script)
    es = EarlyStopping(patience=[2, 0, 1], min_delta=[0.1, 0.0, 0.0], restore_best=[True, True, False])
    loop = Loop(engine, 6, [es])
    fits = loop.run()
    assert [f.metrics["epochs_run"] for f in fits] == [4, 6, 3]
    assert [f.metrics["stopped_early"] for f in fits] == [True, False, True]
    assert [f.best_epoch for f in fits] == [2, None, 2]
    assert engine.trained[3] == [True, True, False] and engine.trained[4] == [False, True, False]  # stopped models sit out
    assert engine.restored == {0: 2}  # only model 0 gets its best weights back
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)


def test_loop_stepped_epoch_by_epoch_equals_run():
    """Pause and resume: stepping the loop (reading history and the current model between steps) gives run()'s result."""
    data = prepare(toy_bundle("moons", 120, 60, 0.2, seed=0), 0, val_fraction=0.25)
    cfg = TrainConfig(epochs=8, lr=0.05, batch_size=16, optimizer="adam", seed=3)
    whole = fit(mlp(2, 2, generator(0, "init"), hidden=8, dropout=0.2), data, cfg, [EarlyStopping(patience=3)])
    from core.engines import ModuleEngine

    loop = Loop(ModuleEngine(mlp(2, 2, generator(0, "init"), hidden=8, dropout=0.2), data, cfg), cfg.epochs,
                [EarlyStopping(patience=3)])
    seen = []
    while not loop.done:
        records = loop.step()
        seen.append(records[0]["val_loss"])
        assert len(loop.history(0)) == 3 * loop.epoch  # the history so far, readable between steps
        assert evaluate(loop.model(0), data.val, "classification")["loss"] == records[0]["val_loss"]
    stepped = loop.results()[0]
    assert loop.step() == {} and loop.results()[0] is stepped
    assert stepped.status == whole.status and stepped.metrics == whole.metrics
    assert seen == [rec["val_loss"] for rec in whole.log]


def test_diverging_run_is_diverged_and_stored_so():
    store = Store()
    results = run_study(get_study("weight-decay"), {"lr": 10.0}, store=store)
    r = results[0]
    assert r.status == "diverged"
    assert math.isnan(r.metrics["test_loss"]) and r.metrics["epochs_run"] < 100
    runs = store.runs()
    assert len(runs) == 1 and runs.loc[0, "status"] == "diverged"
    assert math.isnan(runs.loc[0, "test_loss"]) and runs.loc[0, "lr"] == 10.0
    assert store.records()[0]["status"] == "diverged"


def test_not_clearing_gradients_changes_the_result():
    cleared = run("linear-regression", clear_grad=True)
    piled = run("linear-regression", clear_grad=False)
    assert cleared.metrics["train_loss"] != piled.metrics["train_loss"]
    assert piled.metrics["train_loss"] > 2 * cleared.metrics["train_loss"]
    # the same with nn.Linear and a torch optimizer
    data = polynomial(50, 20, 3, 0.1, generator(0, "data"))
    losses = []
    for clear in (True, False):
        model = linear_regression(4, generator(0, "init"))
        res = fit(model, data, TrainConfig(epochs=3, lr=0.01, batch_size=10, clear_grad=clear))
        losses.append(res.metrics["train_loss"])
    assert losses[0] != losses[1]


def test_same_config_and_seed_give_identical_metrics():
    values = dict(dataset="moons", hidden=32, dropout=0.3, epochs=5, val_fraction=0.2, label_noise=0.1)
    a, b = run("classification", **values), run("classification", **values)
    assert without_time(a.metrics) == without_time(b.metrics)
    pd.testing.assert_frame_equal(a.history, b.history)
    c = run("classification", **values, seed=1)
    assert without_time(c.metrics) != without_time(a.metrics)


def test_dropout_is_active_in_training_and_off_in_evaluation():
    data = prepare(toy_bundle("moons", 200, 100, 0.2, seed=0), 0)
    model = mlp(2, 2, generator(0, "init"), hidden=64, dropout=0.5)
    result = fit(model, data, TrainConfig(epochs=5, lr=0.01, optimizer="adam"))
    # evaluation (history and final metrics) runs with dropout off: repeatable, and equal to a fresh evaluate
    assert evaluate(model, data.test, "classification") == evaluate(model, data.test, "classification")
    assert result.metrics["test_loss"] == evaluate(model, data.test, "classification")["loss"]
    # training mode drops units: two forward passes differ
    model.train()
    assert not torch.equal(model(data.train.X), model(data.train.X))
    without = run("classification", dataset="moons", hidden=64, epochs=5, dropout=0.0)
    with_drop = run("classification", dataset="moons", hidden=64, epochs=5, dropout=0.5)
    assert without.metrics["train_loss"] != with_drop.metrics["train_loss"]


def test_cancel_callback_stops_with_cancelled():
    data = prepare(toy_bundle("moons", 100, 50, 0.2, seed=0), 0)
    model = mlp(2, 2, generator(0, "init"), hidden=8)
    calls = []

    def should_stop() -> bool:
        calls.append(1)
        return len(calls) >= 3

    result = fit(model, data, TrainConfig(epochs=50), [Cancel(should_stop)])
    assert result.status == "cancelled" and result.metrics["epochs_run"] == 3
    assert not math.isnan(result.metrics["test_loss"])


def test_cancel_through_run_study_stores_nothing_and_starts_no_more_runs():
    store = Store()
    results = run_study(get_study("polynomial"), {"epochs": 50}, folds=3, should_stop=lambda: True, store=store,
                        engine="module")
    assert [r.status for r in results] == ["cancelled"]
    assert results[0].metrics["epochs_run"] == 1
    # the three folds trained together: all three were in flight, all three end cancelled
    together = run_study(get_study("polynomial"), {"epochs": 50}, folds=3, should_stop=lambda: True, store=store)
    assert [(r.status, r.metrics["epochs_run"], r.engine) for r in together] == [("cancelled", 1, "stacked")] * 3
    assert store.count() == 0


def test_progress_reports_each_epoch_up_to_one():
    for engine, calls, text in (("module", 8, "run 2/2"), ("auto", 4, "2 runs together")):
        seen = []
        run_study(get_study("polynomial"), {"epochs": 4}, folds=2, progress=lambda f, text: seen.append((f, text)),
                  engine=engine)
        fractions = [f for f, _ in seen]
        assert len(seen) == calls and fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
        assert text in seen[-1][1]

    reports = []
    data = prepare(toy_bundle("moons", 50, 20, 0.2, seed=0), 0)
    fit(mlp(2, 2, generator(0, "init"), hidden=4), data, TrainConfig(epochs=4), [Progress(lambda f, logs: reports.append(f))])
    assert reports == [0.25, 0.5, 0.75, 1.0]


# --- the loop's mechanics ----------------------------------------------------------------


def test_history_is_tidy():
    r = run("polynomial", epochs=6, val_fraction=0.2)
    h = r.history
    assert list(h.columns) == ["epoch", "split", "loss", "acc"]
    assert len(h) == 6 * 3 and set(h["split"]) == set(SPLITS)
    assert sorted(h["epoch"].unique()) == list(range(1, 7))
    assert h["acc"].isna().all()  # regression has no accuracy
    last = h[h["epoch"] == 6].set_index("split")["loss"]
    for split in SPLITS:
        assert r.metrics[f"{split}_loss"] == pytest.approx(last[split], rel=1e-6)


def test_losses_are_plain_mse_and_mean_cross_entropy():
    data = polynomial(40, 10, 3, 0.1, generator(0, "data"))
    model = linear_regression(4, generator(0, "init"))
    with torch.no_grad():
        mse = float(F.mse_loss(model(data.train.X), data.train.y))
    assert evaluate(model, data.train, "regression")["loss"] == pytest.approx(mse, rel=1e-5)
    digits_data = digits(0)
    net = mlp(64, 10, generator(0, "init"), hidden=8)
    with torch.no_grad():
        out = net(digits_data.test.X)
    result = evaluate(net, digits_data.test, "classification")
    assert result["loss"] == pytest.approx(float(F.cross_entropy(out, digits_data.test.y)), rel=1e-5)
    assert result["acc"] == pytest.approx(float((out.argmax(1) == digits_data.test.y).float().mean()))


def test_batches_cover_every_row_once():
    g = torch.Generator().manual_seed(0)
    parts = batches(103, 10, g)
    assert [len(p) for p in parts] == [10] * 10 + [3]
    assert sorted(torch.cat(parts).tolist()) == list(range(103))
    assert torch.equal(torch.cat(batches(7, 3, None)), torch.arange(7))


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "adamw"])
def test_every_optimizer_trains(optimizer):
    r = run("polynomial", epochs=10, optimizer=optimizer, lr=0.02)
    first = r.history.query("split == 'train' and epoch == 1")["loss"].iloc[0]
    untrained = evaluate(linear_regression(4, generator(0, "init")), polynomial(100, 100, 3, 0.1, generator(0, "data")).train, "regression")
    assert r.status == "ok" and r.metrics["train_loss"] < min(first, untrained["loss"]) / 2


def test_weight_decay_leaves_biases_alone_unless_asked():
    model = mlp(3, 2, generator(0, "init"), hidden=4)
    groups = make_optimizer(model, TrainConfig(weight_decay=0.5, optimizer="adamw")).param_groups
    decayed = {id(p) for grp in groups if grp["weight_decay"] == 0.5 for p in grp["params"]}
    assert decayed == {id(model[1].weight), id(model[3].weight)}
    groups = make_optimizer(model, TrainConfig(weight_decay=0.5, decay_bias=True)).param_groups
    decayed = {id(p) for grp in groups if grp["weight_decay"] == 0.5 for p in grp["params"]}
    assert decayed == {id(p) for p in model.parameters()}
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")


def test_nan_in_data_diverges_instead_of_raising():
    data = polynomial(20, 10, 3, 0.1, generator(0, "data"))
    bad = data.with_splits(train=Split(data.train.X, torch.full_like(data.train.y, float("inf"))))
    result = fit(linear_regression(4, generator(0, "init")), bad, TrainConfig(epochs=5))
    assert result.status == "diverged" and result.metrics["epochs_run"] == 1
    assert math.isnan(result.metrics["train_loss"])
