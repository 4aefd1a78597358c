"""The results store: concurrent writers lose nothing, reads are DataFrames, NaN stays NaN."""

from __future__ import annotations

import math
import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pandas as pd
import pytest

from core.schema import SchemaError
from core.store import HISTORY_COLUMNS, RUN_COLUMNS, Store, default_path
from core.studies import RunResult, get_study, run_study

WRITERS = 4
RUNS_EACH = 15


def record(writer: str, i: int, **metrics) -> dict:
    """A valid polynomial run; `writer` is kept in its source so each writer's runs can be told apart."""
    history = [{"epoch": e, "split": s, "loss": 1.0 / e, "acc": math.nan} for e in (1, 2) for s in ("train", "test")]
    return {"study": "polynomial", "status": "ok", "config": {**get_study("polynomial").defaults(), "seed": i},
            "metrics": {"train_loss": 0.5, "test_loss": 0.25 + i, **metrics}, "history": history, "source": writer}


def _process_writer(path: str, writer: str, barrier) -> None:
    store = Store(path)
    barrier.wait()
    for i in range(RUNS_EACH):
        store.save_records([record(writer, i)])


def _result(writer: int, i: int) -> RunResult:
    """A valid classification run; the seed says which thread wrote it (writer × 1000 + i)."""
    history = pd.DataFrame([{"epoch": e, "split": s, "loss": 0.1 * e, "acc": 0.5} for e in (1, 2, 3) for s in ("train", "val")])
    config = {**get_study("classification").defaults(), "seed": writer * 1000 + i}
    return RunResult("classification", config, {"train_loss": 0.1, "val_loss": 0.2}, "ok", history)


def test_concurrent_writers_lose_no_row(isolated_store):
    path = str(isolated_store)
    Store(path)  # create the schema once, as the dashboard does on start
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    barrier = ctx.Barrier(WRITERS * 2, timeout=60)  # a writer that dies early fails the test instead of hanging it
    procs = [ctx.Process(target=_process_writer, args=(path, f"p{w}", barrier)) for w in range(WRITERS)]
    errors: list[BaseException] = []

    shared = Store(path)  # one Store object shared by threads, as Streamlit sessions share it

    def thread_writer(w: int) -> None:
        try:
            barrier.wait()
            for i in range(RUNS_EACH):
                shared.save_run(_result(w, i))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=thread_writer, args=(w,)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for t in threads:
        t.start()
    for p in procs:
        p.join(60)
    for t in threads:
        t.join(60)
    assert not errors and all(p.exitcode == 0 for p in procs)

    store = Store(path)
    records = store.records()
    assert store.count() == len(records) == 2 * WRITERS * RUNS_EACH
    who = lambda r: r["source"] if r["study"] == "polynomial" else f"t{r['config']['seed'] // 1000}"  # noqa: E731
    seen = sorted((who(r), r["config"]["seed"] % 1000) for r in records)
    expected = sorted((f"{kind}{w}", i) for kind in "pt" for w in range(WRITERS) for i in range(RUNS_EACH))
    assert seen == expected  # every run exactly once
    hist = store.history()
    per_run = hist.groupby("run_id").size()
    assert len(per_run) == len(records)
    by_id = {r["id"]: r["study"] for r in records}
    assert all(n == (4 if by_id[rid] == "polynomial" else 6) for rid, n in per_run.items())
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_runs_and_history_are_dataframes_with_documented_columns():
    store = Store()
    results = run_study(get_study("polynomial"), {"epochs": 3, "val_fraction": 0.2}, store=store)
    run_study(get_study("classification"), {"epochs": 2, "dataset": "moons", "n_train": 60, "n_test": 40}, store=store)
    runs = store.runs()
    assert isinstance(runs, pd.DataFrame) and len(runs) == 2
    assert list(runs.columns[: len(RUN_COLUMNS)]) == RUN_COLUMNS
    params = {p.name for s in ("polynomial", "classification") for p in get_study(s).params if not p.optional} - {"seed"}
    for name in params | {"train_loss", "val_loss", "test_loss", "test_acc", "epochs_run", "duration_s"}:
        assert name in runs.columns
    assert runs["study"].tolist() == ["polynomial", "classification"]
    assert runs["status"].tolist() == ["ok", "ok"] and runs["seed"].tolist() == [0, 0]
    first = runs.iloc[0]
    assert first["degree"] == 3 and first["epochs"] == 3 and first["test_loss"] == results[0].metrics["test_loss"]
    assert pd.isna(first["test_acc"])  # a regression run has no accuracy
    assert runs["epochs_run"].dtype == "Int64" and runs["stopped_early"].dtype == "boolean"
    assert pd.Timestamp(first["created_at"]).tzinfo is not None and first["source"] == "local"

    hist = store.history()
    assert list(hist.columns) == HISTORY_COLUMNS
    poly = hist[hist["run_id"] == first["id"]]
    assert len(poly) == 3 * 3 and set(poly["split"]) == {"train", "val", "test"}
    expected = results[0].history.sort_values(["split", "epoch"])["loss"].tolist()
    assert poly["loss"].tolist() == pytest.approx(expected)
    assert store.history([]).empty and list(store.history([]).columns) == HISTORY_COLUMNS
    assert len(store.runs(study="classification")) == 1 and len(store.runs(ids=[first["id"]])) == 1


def test_nan_metrics_round_trip_as_nan():
    store = Store()
    [rid] = store.save_records([record("x", 0, val_loss=math.nan, test_acc=float("inf"))])
    runs = store.runs()
    assert math.isnan(runs.loc[0, "val_loss"]) and math.isnan(runs.loc[0, "test_acc"])
    assert runs.loc[0, "train_loss"] == 0.5
    rec = store.records([rid])[0]
    assert math.isnan(rec["metrics"]["val_loss"]) and rec["metrics"]["test_loss"] == 0.25
    hist = store.history([rid])
    assert hist["acc"].isna().all() and hist["loss"].notna().all()


def test_delete_and_sweeps():
    store = Store()
    sweep = store.create_sweep("polynomial", {"degree": [1, 3]})
    ids = store.save_records([record("s", 0), record("s", 1)], sweep_id=sweep)
    store.save_records([record("other", 0)])
    sweeps = store.sweeps()
    assert sweeps.loc[0, "id"] == sweep and sweeps.loc[0, "runs"] == 2 and sweeps.loc[0, "settings"] == {"degree": [1, 3]}
    assert len(store.runs(sweep_id=sweep)) == 2
    assert store.delete_runs(ids[:1]) == 1
    assert store.count() == 2 and len(store.history(ids[:1])) == 0


def test_failed_write_leaves_nothing(monkeypatch):
    store = Store()
    bad = record("x", 1)
    bad["history"] = [{"epoch": 1, "split": "train"}, {"epoch": 1, "split": "train"}]  # a second row for one epoch
    with pytest.raises(ValueError, match="run 2 of 2: history row 2: a second row for split train, epoch 1"):
        store.save_records([record("x", 0), bad])
    assert store.count() == 0 and store.history().empty
    # a write that fails inside the transaction (after the first run's rows went in) leaves nothing either
    calls = []

    class Failing(sqlite3.Connection):
        def executemany(self, sql, rows):
            calls.append(sql)
            if len(calls) == 2:
                raise sqlite3.OperationalError("disk I/O error")
            return super().executemany(sql, rows)

    connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: connect(*a, **k, factory=Failing))
    with pytest.raises(ValueError, match="disk I/O error"):
        store.save_records([record("x", 0), record("x", 1)])
    monkeypatch.undo()
    assert store.count() == 0 and store.history().empty


def test_db_path_comes_from_the_environment(isolated_store, tmp_path, monkeypatch):
    assert default_path() == Path(isolated_store)
    Store().save_records([record("x", 0)])
    assert Store(isolated_store).count() == 1
    monkeypatch.delenv("OVERFIT_LAB_DB")
    assert default_path() == Path("overfit_lab.db")
    with pytest.raises(ValueError, match="db"):
        Store(tmp_path / "missing" / "runs.db")


def test_a_batch_of_results_is_one_transaction_and_a_failed_save_leaves_nothing(tmp_path, store_writes, monkeypatch):
    store = Store(tmp_path / "batch.db")
    store.save_results([_result(7, 0)])
    writes = store_writes
    writes.clear()
    batch = [_result(1, i) for i in range(5)]
    ids = store.save_results(batch, sweep_id="s1")
    assert len(writes) == 1 and [r.run_id for r in batch] == ids and len(set(ids)) == 5
    assert len(store.runs(sweep_id="s1")) == 5 and len(store.history(ids)) == 5 * 6
    # the fourth run cannot be written (a metric outside the run schema): nothing of this batch lands, older runs stay
    bad = [_result(2, i) for i in range(5)]
    bad[3].metrics["train_loss"] = object()
    before = (store.count(), len(store.history()))
    with pytest.raises(SchemaError, match="run 4 of 5: metric train_loss"):
        store.save_results(bad, sweep_id="s2")
    assert (store.count(), len(store.history())) == before
    assert store.runs(sweep_id="s2").empty and all(r.run_id is None for r in bad)
    # a failure inside the write itself, after three runs were inserted: the transaction rolls all of them back
    import core.store as store_module

    calls = []
    real = store_module.fingerprint

    def flaky(rec):
        calls.append(1)
        if len(calls) == 4:
            raise OSError("disk full")
        return real(rec)

    monkeypatch.setattr(store_module, "fingerprint", flaky)
    with pytest.raises(OSError, match="disk full"):
        store.save_results([_result(3, i) for i in range(5)], sweep_id="s3")
    assert len(calls) == 4 and (store.count(), len(store.history())) == before and store.runs(sweep_id="s3").empty
