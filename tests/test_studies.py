"""Studies: declared once (parameters, defaults, ranges), validated at the edge, run through one function."""

from __future__ import annotations

import dataclasses
import math

import pytest

from core.metrics import METRICS
from core.params import P, Param, shared_params
from core.store import Store
from core.studies import STUDIES, check_run, config_dict, get_study, run_study
from core.studies.learning_curve import training_sizes

IDS = ["linear-regression", "multivariate-regression", "polynomial", "weight-decay", "classification", "dropout",
       "early-stopping", "augmentation", "capacity", "learning-curve", "double-descent", "memorisation", "bias-variance"]

# the smallest settings that still exercise each study's whole pipeline
QUICK = {
    "multivariate-regression": {"n_train": 100},
    "classification": {"train_size": 0.2},
    "dropout": {"hidden": 32},
    "early-stopping": {"hidden": 32, "train_size": 0.2},
    "augmentation": {"hidden": 32},
    "capacity": {"n_train": 50},
    "learning-curve": {"n_sizes": 2, "train_size": 0.2, "hidden": 16},
    "double-descent": {"optimizer": "sgd", "hidden": 32},  # lstsq is exact in one epoch: the gradient path, 2 epochs
    "memorisation": {"hidden": 32, "train_size": 0.1},
    "bias-variance": {"optimizer": "adam", "resamples": 5},
}


def test_registry_has_every_study_in_order():
    assert list(STUDIES) == IDS
    with pytest.raises(ValueError, match="unknown study 'nope'.*polynomial"):
        get_study("nope")


@pytest.mark.parametrize("study_id", IDS)
def test_every_study_runs_and_reports_declared_metrics(study_id):
    study = get_study(study_id)
    results = run_study(study, {"epochs": 2, **QUICK.get(study_id, {})})
    assert results and all(r.status == "ok" for r in results)
    for r in results:
        unknown = set(r.metrics) - set(METRICS)
        assert not unknown, f"{study_id} reports undeclared metrics {unknown}"
        for name in ("train_loss", "test_loss", "epochs_run", "stopped_early", "duration_s", "train_examples"):
            assert name in r.metrics
        # a learning curve gives its smaller sets more epochs (the same examples seen): each run's own config says how many
        assert r.metrics["epochs_run"] == r.config["epochs"] and math.isfinite(r.metrics["test_loss"])
        assert r.config["epochs"] == 2 or study_id == "learning-curve"
        # every parameter, seed included, but optional ones at their default (a CSV's file and columns) are left out
        assert set(r.config) == {p.name for p in study.params if not p.optional}
        assert list(r.history.columns) == ["epoch", "split", "loss", "acc"] and len(r.history) >= 4
        for name, frame in r.frames.items():
            assert len(frame) > 0, f"{study_id}: frame {name} is empty"
        if study.id in ("classification", "dropout", "early-stopping", "augmentation", "learning-curve", "double-descent",
                        "memorisation"):
            assert 0 <= r.metrics["test_acc"] <= 1


@pytest.mark.parametrize("study_id", IDS)
def test_parameters_are_declared_once(study_id):
    study = get_study(study_id)
    shared = shared_params()
    names = [p.name for p in study.params]
    assert len(names) == len(set(names)) and names[0] == "seed"
    for p in study.params:
        assert p.help and p.validate(p.default) == p.default
        if p.name in shared:  # one name per idea: a study may change the default or range, not the meaning
            assert p.kind is shared[p.name].kind
    cfg = study.config()
    assert config_dict(cfg) == {p.name: p.default for p in study.params if not p.optional}
    assert study.config(config_dict(cfg)) == cfg  # a stored config (optional defaults left out) builds the same config


def test_config_validation_names_the_parameter():
    study = get_study("polynomial")
    assert study.config({"degree": "5"}).degree == 5
    for values, name in [({"degree": 21}, "degree"), ({"degree": 2.5}, "degree"), ({"degree": "abc"}, "degree"),
                         ({"lr": -1.0}, "lr"), ({"optimizer": "rmsprop"}, "optimizer"), ({"colour": 1}, "colour"),
                         ({"noise": float("nan")}, "noise")]:
        with pytest.raises(ValueError, match=name):
            study.config(values)
    assert study.parse(["degree=7", "lr = 0.1".replace(" ", "")]) == {"degree": 7, "lr": 0.1}
    with pytest.raises(ValueError, match="key=value"):
        study.parse(["degree"])


def test_param_parse_and_describe():
    assert P.augment.parse("yes") is True and P.augment.parse("off") is False
    with pytest.raises(ValueError, match="augment"):
        P.augment.parse("maybe")
    assert P.epochs.parse("30") == 30 and P.epochs.parse("30.0") == 30
    with pytest.raises(ValueError, match="epochs"):
        P.epochs.validate(True)  # a bool is not a number of epochs
    assert P.lr.describe() == "float in [1e-05, 10], log scale"
    assert P.optimizer.describe() == "one of sgd|momentum|adam|adamw"
    with pytest.raises(ValueError):
        Param("x", 5, "help", 0, 3).replace(help="still invalid")  # a study may not declare an invalid default


def test_cross_parameter_rules():
    with pytest.raises(ValueError, match="augment"):
        get_study("classification").config(dataset="moons", augment=True)
    with pytest.raises(ValueError, match="dropout"):
        get_study("classification").config(model="softmax", dropout=0.5)
    with pytest.raises(ValueError, match="optimizer"):
        get_study("linear-regression").config(model="scratch", optimizer="adam")
    cfg = get_study("classification").config(patience=3)
    with pytest.raises(ValueError, match="patience"):
        check_run(cfg, None)
    check_run(cfg, 3)  # folds give a validation set
    with pytest.raises(ValueError, match="folds"):
        check_run(get_study("polynomial").config(), 1)


def test_folds_give_one_run_per_fold_with_val_loss():
    store = Store()
    results = run_study(get_study("polynomial"), {"epochs": 3}, folds=3, store=store)
    assert [r.config["fold"] for r in results] == [0, 1, 2]
    assert all(r.config["folds"] == 3 for r in results)
    assert all(math.isfinite(r.metrics["val_loss"]) for r in results)
    assert sum(r.metrics["train_examples"] for r in results) == 2 * 100  # each row trains in 2 of 3 folds
    assert len({r.metrics["val_loss"] for r in results}) == 3
    runs = store.runs()
    assert runs["fold"].tolist() == [0, 1, 2] and [r.run_id for r in results] == runs["id"].tolist()


def test_learning_curve_expands_into_training_sizes():
    assert training_sizes(1.0, 1) == [1.0]
    sizes = training_sizes(0.8, 4)
    assert len(sizes) == 4 and sizes[0] == pytest.approx(0.05) and sizes[-1] == pytest.approx(0.8)
    results = run_study(get_study("learning-curve"), {"epochs": 2, "n_sizes": 3, "train_size": 0.4, "hidden": 8})
    assert [r.config["train_size"] for r in results] == training_sizes(0.4, 3)
    n = [r.metrics["train_examples"] for r in results]
    assert n == sorted(n) and n[0] < n[-1] / 4
    assert all(r.config["n_sizes"] == 1 for r in results)  # each point can be re-run alone
    # the same examples seen at every size: epochs × training-set fraction is constant (2 epochs of 40%)
    assert [r.config["epochs"] for r in results] == [round(2 * 0.4 / f) for f in training_sizes(0.4, 3)]
    assert [r.metrics["epochs_run"] for r in results] == [r.config["epochs"] for r in results]
    again = run_study(get_study("learning-curve"), results[0].config)[0]  # a point re-run alone is the same run
    assert again.config == results[0].config and again.metrics["train_loss"] == pytest.approx(results[0].metrics["train_loss"], rel=1e-4)


def test_capacity_budget_sets_the_width():
    results = run_study(get_study("capacity"), {"epochs": 1, "budget": 1000, "depth": 3, "n_train": 20})
    m = results[0].metrics
    assert m["hidden_used"] != get_study("capacity").config().hidden
    assert abs(m["n_params"] - 1000) / 1000 < 0.1


def test_study_configs_are_frozen():
    cfg = get_study("polynomial").config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.degree = 5
