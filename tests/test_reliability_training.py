"""Training that cannot go as asked: batch norm with a batch of one, a fold that fails, a sweep that stops midway.

A run (all its folds) is stored whole or not at all; a sweep keeps every group it finished and says, in one line,
how many runs it stored and which points are missing.
"""

from __future__ import annotations

import json
import re

import pytest

import core.pipeline
from core.cli import main
from core.data.bundle import generator
from core.data.splits import prepare
from core.data import toy_bundle
from core.engines import ModuleEngine
from core.models import mlp
from core.store import Store
from core.studies import get_study, run_study
from core.sweeps import Axis, SweepFailed, SweepSpec, run_sweep
from core.training import TrainConfig, batches

BN = ["--set", "dataset=moons", "--set", "batch_norm=true", "--set", "hidden=8", "--set", "epochs=2",
      "--set", "n_train=40", "--set", "n_test=20"]


def test_batches_leave_out_a_last_batch_smaller_than_min_size():
    sizes = lambda n, b, m=1: [len(i) for i in batches(n, b, None, m)]  # noqa: E731
    assert sizes(27, 13) == [13, 13, 1]
    assert sizes(27, 13, 2) == [13, 13]
    assert sizes(26, 13, 2) == [13, 13]  # nothing to leave out
    assert sizes(15, 13, 2) == [13, 2]


def test_batch_norm_with_a_last_batch_of_one_trains_every_fold(tmp_path, capsys):
    """40 points in 3 folds train on 26, 27 and 27: batches of 13 leave one example over, which is left out."""
    db = tmp_path / "runs.db"
    argv = ["run", "classification", *BN, "--set", "batch_size=13", "--folds", "3", "--format", "json", "--db", str(db)]
    assert main(argv) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in runs] == ["ok"] * 3 and Store(db).count() == 3
    results = run_study(get_study("classification"), {"dataset": "moons", "batch_norm": True, "hidden": 8, "epochs": 2,
                                                       "n_train": 40, "n_test": 20, "batch_size": 13}, folds=3)
    for r in results:  # two batches an epoch, whether the fold has 26 examples or 27
        bn = next(m for m in r.model if hasattr(m, "num_batches_tracked"))
        assert r.metrics["train_examples"] in (26, 27) and int(bn.num_batches_tracked) == 2 * 2
    sweep = run_sweep(SweepSpec("classification", {"dataset": "moons", "batch_norm": True, "hidden": 8, "epochs": 2,
                                                   "n_train": 27, "n_test": 20, "batch_size": 13},
                                (Axis("lr", (0.01, 0.03)),)))
    assert [r.status for r in sweep.results] == ["ok", "ok"] and sweep.backend == "serial"


def test_batch_norm_with_batch_size_one_is_refused_naming_batch_size(tmp_path, capsys):
    db = tmp_path / "runs.db"
    assert main(["run", "classification", *BN, "--set", "batch_size=1", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: batch_size: 1 is not allowed with batch_norm") and len(err.strip().splitlines()) == 1
    assert Store(db).count() == 0
    with pytest.raises(ValueError, match="^batch_size"):
        SweepSpec("classification", {"batch_norm": True, "batch_size": 1}, (Axis("lr", (0.01, 0.02)),))
    # a model built in code meets the same rule in the engine, before any training
    data = prepare(toy_bundle("moons", 20, 10, 0.2, seed=0), 0)
    model = mlp(2, 2, generator(0, "init"), hidden=4, batch_norm=True)
    with pytest.raises(ValueError, match="^batch_size: 1"):
        ModuleEngine(model, data, TrainConfig(batch_size=1))


def _fail_at(monkeypatch, when, error: BaseException) -> None:
    """Make setting up the points for which `when(point)` holds raise `error`."""
    real = core.pipeline.setup

    def setup(study, point, bases=None):
        if when(point):
            raise error
        return real(study, point, bases)

    monkeypatch.setattr(core.pipeline, "setup", setup)


def test_a_run_whose_last_fold_fails_stores_none_of_its_folds(tmp_path, capsys, monkeypatch):
    """Batch-norm folds train one by one (folds 0 and 1 finish first): a failure in fold 2 stores none of them."""
    db = tmp_path / "runs.db"
    _fail_at(monkeypatch, lambda p: p.fold == 2, RuntimeError("injected failure in fold 2"))
    assert main(["run", "classification", *BN, "--folds", "3", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err == "error: RuntimeError: injected failure in fold 2; nothing stored\n"
    _fail_at(monkeypatch, lambda p: p.fold == 2, ValueError("hidden: injected refusal"))
    assert main(["run", "polynomial", "--set", "epochs=2", "--folds", "3", "--db", str(db)]) == 2
    assert capsys.readouterr().err == "error: hidden: injected refusal; nothing stored\n"
    assert Store(db).count() == 0


@pytest.mark.parametrize("backend, stored, missing", [
    ("serial", 3, "degree=2 (fold 1), degree=3 (folds 0, 1)"),  # one run at a time: degree 2's fold 0 is stored
    ("auto", 2, "degree=2 (folds 0, 1), degree=3 (folds 0, 1)"),  # a degree's folds train (and are stored) together
])
def test_a_sweep_that_fails_midway_keeps_finished_groups_and_names_what_is_missing(tmp_path, monkeypatch, backend,
                                                                                   stored, missing):
    store = Store(tmp_path / "runs.db")
    _fail_at(monkeypatch, lambda p: p.config.degree == 2 and p.fold == 1, RuntimeError("injected"))
    spec = SweepSpec("polynomial", {"epochs": 2}, (Axis("degree", (1, 2, 3)),), folds=2)
    with pytest.raises(SweepFailed) as info:
        run_sweep(spec, store=store, backend=backend)
    failed = info.value
    assert str(failed) == (f"sweep {failed.sweep_id} stopped: RuntimeError: injected; stored {stored} of 6 runs; "
                           f"missing: {missing}")
    assert failed.stored == stored == len(store.runs(sweep_id=failed.sweep_id))
    assert len(failed.missing) == 6 - stored


def test_the_cli_says_what_a_failed_or_interrupted_sweep_stored(tmp_path, capsys, monkeypatch):
    db = tmp_path / "runs.db"
    argv = ["sweep", "polynomial", "--set", "epochs=2", "--grid", "degree=1,2,3", "--backend", "serial", "--db", str(db)]
    _fail_at(monkeypatch, lambda p: p.config.degree == 3, RuntimeError("injected"))
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(r"error: sweep \w+ stopped: RuntimeError: injected; stored 2 of 3 runs; missing: degree=3", err)
    _fail_at(monkeypatch, lambda p: p.config.degree == 2, KeyboardInterrupt())
    assert main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(r"interrupted: sweep \w+ stopped: stored 1 of 3 runs; missing: degree=2, degree=3", err)
    assert Store(db).count() == 3
