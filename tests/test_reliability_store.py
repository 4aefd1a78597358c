"""Reliability of the results store: poisoned imports, damaged or foreign files, rows that got in anyway,
read-only stores and many processes creating one store at once. Every refusal is one line; the store is unchanged.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import multiprocessing
import os
import random
import sqlite3
import struct
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from core.cli import main
from core.schema import check_run
from core.store import Store, StoreError, runs_frame
from core.studies import get_study, run_study
from core.tables import FORMATS, ImportRefused, export_runs, import_bytes

EXT = {"csv": "csv", "json": "json", "parquet": "parquet", "markdown": "md"}
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
huge_ints = st.builds(lambda sign, digits: sign * 10**digits, st.sampled_from([1, -1]), st.sampled_from([19, 20, 30, 400]))
json_values = st.recursive(st.none() | st.booleans() | st.integers() | huge_ints | st.floats() | st.text(max_size=12),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=5)


def one_line(text: str) -> bool:
    return "\n" not in text and "\r" not in text and 0 < len(text) < 400


def dump(path: Path) -> list[str]:
    """Every row of every table, as SQL: equal dumps mean the store is unchanged row for row."""
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Store:
    """Runs of several kinds: folds, a diverged run (NaN metrics), yes/no values, a classification run."""
    store = Store(tmp_path_factory.mktemp("reliability") / "source.db")
    run_study(get_study("polynomial"), {"epochs": 2, "degree": 4}, folds=2, store=store)
    run_study(get_study("weight-decay"), {"lr": 10.0, "epochs": 3}, store=store)  # diverged
    run_study(get_study("classification"), {"dataset": "moons", "epochs": 2, "n_train": 40, "n_test": 20, "batch_norm": True,
                                            "val_fraction": 0.2, "patience": 1}, store=store)
    return store


@pytest.fixture
def cli(capsys):
    """The CLI in-process: (exit status, stdout, stderr). A traceback would fail the test with the exception."""

    def call(*argv) -> tuple[int, str, str]:
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:
            rc = exc.code
        out, err = capsys.readouterr()
        return rc, out, err

    return call


_EXPORTS: dict[tuple[str, str], bytes] = {}


def exported(source: Store, fmt: str = "json") -> bytes:
    """The source store's export (made once per format: the source never changes)."""
    key = (str(source.path), fmt)
    if key not in _EXPORTS:
        _EXPORTS[key] = export_runs(source.records(with_history=fmt == "json"), fmt)
    return _EXPORTS[key]


def json_with(source: Store, edit) -> bytes:
    records = json.loads(exported(source))[:1]
    edit(records[0])
    return json.dumps(records).encode()


def table_with(source: Store, fmt: str, column: str, value) -> bytes:
    frame = runs_frame(source.records()[:1])
    frame[column] = pd.Series([value], dtype=object)
    if fmt == "parquet":
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return buf.getvalue()
    return frame.to_csv(index=False).encode()


POISONED = {  # the imports, and their kin: (file name, builder, what the message names)
    "metric huge int": ("m.json", lambda s: json_with(s, lambda r: r["metrics"].update(epochs_run=10**20)), "metric epochs_run"),
    "study is a list": ("s.json", lambda s: json_with(s, lambda r: r.update(study=["polynomial"])), "unknown study"),
    "study list parquet": ("s.parquet", lambda s: table_with(s, "parquet", "study", ["polynomial"]), "unknown study"),
    "status list parquet": ("t.parquet", lambda s: table_with(s, "parquet", "status", ["ok", "ok"]), "status"),
    "status bytes parquet": ("b.parquet", lambda s: table_with(s, "parquet", "status", b"\x00\x01blob"), "status"),
    "config huge int": ("c.json", lambda s: json_with(s, lambda r: r["config"].update(degree=10**30)), "degree"),
    "config huge int csv": ("c.csv", lambda s: table_with(s, "csv", "degree", "9" * 30), "degree"),
    "config NaN": ("n.json", lambda s: json_with(s, lambda r: r["config"].update(lr=float("nan"))), "lr"),
    "history loss huge int": ("h.json", lambda s: json_with(s, lambda r: r["history"][0].update(loss=10**400)), "loss"),
    "history epoch 1e400": ("e.json", lambda s: json_with(s, lambda r: r["history"][0].update(epoch=float("inf"))), "epoch"),
    "history epoch 1e20": ("e2.json", lambda s: json_with(s, lambda r: r["history"][0].update(epoch=1e20)), "epoch"),
    "history repeated": ("r.json", lambda s: json_with(s, lambda r: r["history"].append(dict(r["history"][0]))), "a second row"),
    "history acc above 1": ("a.json", lambda s: json_with(s, lambda r: r["history"][0].update(acc=2.0)), "acc"),
    "fold 1e300": ("f.json", lambda s: json_with(s, lambda r: r["config"].update(fold=1e300)), "fold"),
    "fold without folds": ("f2.json", lambda s: json_with(s, lambda r: (r["config"].pop("folds"), r["config"].update(fold=1))), "fold"),
    "config is a list": ("l.json", lambda s: json_with(s, lambda r: r.update(config=[1, 2])), "config"),
    "metrics is a list": ("l2.json", lambda s: json_with(s, lambda r: r.update(metrics=[1])), "metrics"),
    "unknown field": ("u.json", lambda s: json_with(s, lambda r: r.update(colour="red")), "colour"),
    "created_at garbage": ("d.json", lambda s: json_with(s, lambda r: r.update(created_at="yesterday")), "created_at"),
    "deeply nested": ("deep.json", lambda s: b"[" * 100_000 + b"]" * 100_000, "deep.json"),
    "json read as csv": ("json-as.csv", lambda s: exported(s), "json-as.csv"),
    "not utf-8": ("x.json", lambda s: b"\xff\xfe[{}]", "x.json"),
    "name with CR": ("bad\r=1+1.json", lambda s: json_with(s, lambda r: r.update(study="nope")), "bad\\r=1+1.json"),
}


@pytest.mark.parametrize("case", list(POISONED))
def test_poisoned_imports_are_refused_in_one_line_and_change_nothing(source, tmp_path, case):
    target = Store(tmp_path / "target.db")
    import_bytes(target, exported(source), "seed.json")
    before = dump(target.path)
    name, build, names = POISONED[case]
    with pytest.raises(ImportRefused) as info:
        import_bytes(target, build(source), name)
    message = str(info.value)
    assert one_line(message) and names in message, message
    assert dump(target.path) == before


def test_an_import_refused_on_its_last_run_stores_none_of_it(source, tmp_path):
    target = Store(tmp_path / "t.db")
    records = json.loads(exported(source))
    records[-1]["metrics"]["epochs_run"] = 10**20
    with pytest.raises(ImportRefused, match=f"run {len(records)}: metric epochs_run"):
        import_bytes(target, json.dumps(records).encode(), "x.json")
    assert target.count() == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_re_importing_the_store_s_own_export_adds_nothing(source, tmp_path, fmt):
    """Diverged runs included: a blank cell and a NaN metric count as the same."""
    store = Store(tmp_path / "own.db")
    import_bytes(store, exported(source), "first.json")
    before = dump(store.path)
    data = export_runs(store.records(with_history=fmt == "json"), fmt)
    report = import_bytes(store, data, f"again.{EXT[fmt]}")
    assert report.added == [] and report.skipped == store.count() == 4
    assert dump(store.path) == before


PATHS = [("study",), ("status",), ("config",), ("config", "degree"), ("config", "seed"), ("config", "fold"), ("config", "lr"),
         ("metrics",), ("metrics", "epochs_run"), ("metrics", "test_loss"), ("metrics", "stopped_early"), ("created_at",),
         ("history",), ("history", 0), ("history", 0, "epoch"), ("history", 0, "loss"), ("history", 0, "split"), ("colour",)]


@FUZZ
@given(path=st.sampled_from(PATHS), value=json_values)
def test_fuzzed_json_imports_are_refused_or_stored_readably(source, tmp_path, path, value):
    records = json.loads(exported(source))[:1]
    target = records[0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    try:
        data = json.dumps(records).encode()
    except ValueError:  # an integer too long to write: no file can hold it
        return
    check_import(tmp_path, data, "fuzz.json")


@FUZZ
@given(column=st.sampled_from(["study", "status", "seed", "fold", "folds", "degree", "optimizer", "lr", "epochs_run",
                               "test_loss", "stopped_early", "created_at"]),
       value=st.text(max_size=20) | st.sampled_from(["1e400", "9" * 30, "-1", "nan", "inf", "'=1+2", "\r\n", "True"]))
def test_fuzzed_csv_imports_are_refused_or_stored_readably(source, tmp_path, column, value):
    frame = pd.read_csv(io.BytesIO(exported(source, "csv")), dtype=str, keep_default_na=False)
    frame.loc[0, column] = value
    check_import(tmp_path, frame.to_csv(index=False).encode(), "fuzz.csv")


def check_import(tmp_path: Path, data: bytes, name: str) -> None:
    """Either a one-line refusal with the store unchanged, or runs that read back and export in every format."""
    store = Store(tmp_path / "fuzz.db")
    before = dump(store.path)
    try:
        import_bytes(store, data, name)
    except ImportRefused as exc:
        event("refused")
        assert one_line(str(exc)), str(exc)
        assert dump(store.path) == before
        return
    event("stored")
    records = store.records(with_history=True)
    for rec in records:  # what got in is inside the schema
        check_run({k: v for k, v in rec.items() if k != "id"})
    assert len(store.runs()) == len(records)
    for fmt in FORMATS:
        export_runs(records, fmt)


# --- rows that got into the file some other way --------------------------------------------------------


def poison(path: Path) -> None:
    """Rows no import lets in, written straight into the file (a hand edit, an older version, a bad disk)."""
    con = sqlite3.connect(path)
    good = con.execute("SELECT study, status, config, metrics, created_at FROM runs LIMIT 1").fetchone()
    rows = [
        (good[0], good[1], good[2], json.dumps({"epochs_run": 10**20}), good[4]),  # the huge integer
        (good[0], b"\x00\x01\x02\x03\x04\x05\x06\x07", good[2], good[3], good[4]),  # a blob for a status
        (good[0], good[1], "{not json", good[3], good[4]),
        (good[0], good[1], json.dumps([1, 2]), good[3], good[4]),
        (good[0], good[1], json.dumps({"seed": "zero"}), good[3], good[4]),
        (good[0], good[1], json.dumps({"study": "x"}), good[3], good[4]),  # would overwrite a fixed column
        (good[0], good[1], good[2], json.dumps({"epochs_run": 2.5}), good[4]),
        (good[0], good[1], good[2], "[" * 5000 + "]" * 5000, good[4]),
    ]
    for study, status, config, metrics, created in rows:
        con.execute("INSERT INTO runs (study, status, config, metrics, created_at, source, fingerprint) VALUES (?, ?, ?, ?, ?, 'x', 'x')",
                    (study, status, config, metrics, created))
    # run 1's packed history gets two rows no reader can use (an epoch past any run's, a split code that names none),
    # and unreadable runs get history rows of the wrong types and lengths
    epoch, split, loss, acc = con.execute("SELECT epoch, split, loss, acc FROM histories WHERE run_id = 1").fetchone()
    nan = struct.pack("<d", math.nan)
    con.execute("UPDATE histories SET epoch = ?, split = ?, loss = ?, acc = ? WHERE run_id = 1",
                (epoch + struct.pack("<2H", 65535, 77), split + bytes([0, 9]), loss + struct.pack("<2d", 1.0, 1.0),
                 (acc or nan * len(split)) + struct.pack("<2d", 0.5, 0.5)))
    con.execute("INSERT INTO histories (run_id, epoch, split, loss, acc) VALUES (5, 'abc', X'00', X'00', X'00')")
    con.execute("INSERT INTO histories (run_id, epoch, split, loss, acc) VALUES (6, X'01000200', X'00', X'0000000000000000', NULL)")
    con.execute("INSERT INTO sweeps (id, study, settings, created_at) VALUES ('bad', 'polynomial', '{oops', 'now')")
    con.commit()
    con.close()


@pytest.fixture
def poisoned(source, isolated_store) -> Store:
    store = Store(isolated_store)
    import_bytes(store, exported(source), "good.json")
    poison(store.path)
    return store


def test_reading_a_poisoned_store_leaves_bad_rows_out_with_a_message(poisoned, cli, tmp_path):
    skipped: list[str] = []
    records = poisoned.records(skipped=skipped)
    assert len(records) == 4 and len(skipped) == 8 and all(one_line(s) and s.endswith("left out") for s in skipped)
    assert "epochs_run = 100000000000000000000 cannot be read" in skipped[0] and "status" in skipped[1]
    assert len(poisoned.runs()) == 4 and len(poisoned.history()) == len(poisoned.history([r["id"] for r in records]))
    assert set(poisoned.history()["split"]) <= {"train", "val", "test"}
    assert "bad" not in set(poisoned.sweeps()["id"])
    rc, out, err = cli("runs", "--db", poisoned.path)
    assert rc == 0 and out.count("polynomial") == 2 and len(err.strip().splitlines()) == 8 and "Traceback" not in err
    for fmt in FORMATS:
        path = tmp_path / f"out.{EXT[fmt]}"
        rc, _, err = cli("export", "--format", fmt, "--out", path, "--db", poisoned.path)
        assert rc == 0 and "wrote 4 runs" in err
        assert len(import_bytes(Store(tmp_path / f"{fmt}.db"), path.read_bytes(), path.name).added) == 4


def test_pages_show_a_poisoned_store_without_a_traceback(poisoned, app_test):
    at = app_test("pages/runs.py")
    assert not at.exception
    assert len(at.dataframe[0].value) == 4
    assert any("8 stored run(s)" in w.value and "left out" in w.value for w in at.warning)
    at = app_test("dashboard.py")
    assert not at.exception and any("left out" in w.value for w in at.warning)
    at = app_test("pages/sweeps.py")
    assert not at.exception


# --- files that are not a usable store -----------------------------------------------------------------


def good_store_bytes(source: Store, tmp_path: Path) -> bytes:
    path = tmp_path / "copy.db"
    store = Store(path)
    import_bytes(store, exported(source), "x.json")
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, so cutting it damages rows
    con.close()
    return path.read_bytes()


def other_program(path: Path, table: str = "customers") -> None:
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE {table} (id INTEGER, name TEXT)")
    con.execute(f"INSERT INTO {table} VALUES (1, 'ada')")
    con.commit()
    con.close()


BAD_FILES = {  # how the file is made → what the one line says
    "random bytes": (lambda p, good: p.write_bytes(random.Random(0).randbytes(20_000)), "not a SQLite database"),
    "truncated in half": (lambda p, good: p.write_bytes(good[: len(good) // 2]), "damaged"),
    "truncated to 100 bytes": (lambda p, good: p.write_bytes(good[:100]), "damaged"),
    "another program's SQLite": (lambda p, good: other_program(p), "another program"),
    "another program's runs table": (lambda p, good: other_program(p, "runs"), "lacks column(s)"),
    "a folder": (lambda p, good: p.mkdir(), "is a folder"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_store_file_is_one_line_for_every_command_and_stays_unchanged(source, tmp_path, cli, monkeypatch, case):
    make, says = BAD_FILES[case]
    path = tmp_path / "bad.db"
    make(path, good_store_bytes(source, tmp_path))
    before = sha(path) if path.is_file() else None
    upload = tmp_path / "runs.json"
    upload.write_bytes(exported(source))
    monkeypatch.setattr("core.studies.run_study", lambda *a, **k: pytest.fail("trained although the store cannot take the run"))
    for argv in (["runs"], ["export", "--format", "csv"], ["run", "polynomial", "--set", "epochs=1"], ["import", upload]):
        rc, out, err = cli(*argv, "--db", path)
        assert rc == 2 and out == "", (argv, err)
        assert one_line(err.strip()) and err.startswith(f"error: results store {path}") and says in err, err
    assert (sha(path) if path.is_file() else None) == before


@pytest.mark.parametrize("seed", range(6))
def test_bit_flipped_stores_never_give_a_traceback(source, tmp_path, cli, seed):
    data = bytearray(good_store_bytes(source, tmp_path))
    rng = random.Random(seed)
    for _ in range(rng.choice([1, 10, 200])):
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    path = tmp_path / "flipped.db"
    path.write_bytes(bytes(data))
    upload = tmp_path / "runs.json"
    upload.write_bytes(exported(source))
    for argv in (["runs"], ["export", "--format", "json"], ["import", upload]):
        rc, _, err = cli(*argv, "--db", path)
        lines = err.strip().splitlines()
        if rc == 0:
            assert all(line.startswith(("warning: run", "imported", "wrote")) for line in lines), err
        else:
            assert rc == 2 and len(lines) == 1 and lines[0].startswith("error: "), err


def test_pages_show_a_bad_store_as_an_error(source, tmp_path, app_test, monkeypatch):
    path = tmp_path / "random.db"
    path.write_bytes(random.Random(1).randbytes(5000))
    monkeypatch.setenv("OVERFIT_LAB_DB", str(path))
    for page in ("pages/runs.py", "pages/sweeps.py", "dashboard.py"):
        at = app_test(page)
        assert not at.exception, page
        assert any("not a SQLite database" in e.value for e in at.error), page
    # a page that trains still shows its runs, and says they were not stored
    at = app_test("pages/regression.py", {"regression.tab": "Several inputs", "multi.n_train": "20"})
    assert not at.exception and at.get("vega_lite_chart")
    assert any("Trained, but not stored" in w.value and "not a SQLite database" in w.value for w in at.warning)
    assert path.read_bytes() == random.Random(1).randbytes(5000)


@contextmanager
def read_only(path: Path):
    """The file made read-only for this process (chmod; as root, whom chmod does not stop, the immutable flag)."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)
        return
    try:
        flagged = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
    except FileNotFoundError:
        flagged = False
    if not flagged:
        pytest.skip("running as root where the immutable flag (chattr +i) is not allowed: cannot make a read-only file")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_store_lists_and_exports_and_refuses_writes_before_training(source, tmp_path, cli, monkeypatch, app_test):
    path = tmp_path / "ro.db"
    path.write_bytes(good_store_bytes(source, tmp_path))
    upload = tmp_path / "runs.json"
    upload.write_bytes(exported(source))
    monkeypatch.setattr("core.studies.run_study", lambda *a, **k: pytest.fail("trained although the store is read-only"))
    monkeypatch.setenv("OVERFIT_LAB_DB", str(path))
    with read_only(path):
        before = sha(path)
        rc, out, err = cli("runs", "--db", path)
        assert rc == 0 and out.count("polynomial") == 2 and err == ""
        rc, out, _ = cli("export", "--format", "csv", "--db", path)
        assert rc == 0 and len(pd.read_csv(io.StringIO(out))) == 4
        for argv in (["run", "polynomial", "--set", "epochs=1"], ["import", upload]):
            rc, out, err = cli(*argv, "--db", path)
            assert rc == 2 and one_line(err.strip()) and "read-only" in err and out == ""
        with pytest.raises(StoreError, match="read-only"):
            Store(path).save_records(source.records()[:1])
        at = app_test("pages/runs.py")
        assert not at.exception and len(at.dataframe[0].value) == 4
        assert sha(path) == before


# --- many processes creating one new store ---------------------------------------------------------------

CREATORS, TRIALS = 8, 4


def _create_and_write(path: str, i: int, barrier) -> None:
    barrier.wait()
    Store(path).save_records([{"study": "polynomial", "status": "ok", "config": {**get_study("polynomial").defaults(), "seed": i},
                               "metrics": {"test_loss": 0.5}}])


def test_many_processes_create_a_new_store_at_once(tmp_path):
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    for trial in range(TRIALS):
        path = str(tmp_path / f"new-{trial}.db")
        barrier = ctx.Barrier(CREATORS, timeout=60)
        procs = [ctx.Process(target=_create_and_write, args=(path, i, barrier)) for i in range(CREATORS)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(90)
        assert [p.exitcode for p in procs] == [0] * CREATORS, f"trial {trial}"
        records = Store(path).records()
        assert sorted(r["config"]["seed"] for r in records) == list(range(CREATORS))
        assert all(math.isnan(r["metrics"].get("train_loss", math.nan)) for r in records)


def test_run_ids_past_any_integer_sqlite_holds_select_nothing(source, cli):
    huge = 10**30
    assert source.records([huge]) == [] and source.history([huge]).empty and source.delete_runs([huge]) == 0
    rc, out, err = cli("export", "--format", "json", "--ids", f"{huge},1", "--db", source.path)
    assert rc == 0 and [r["id"] for r in json.loads(out)] == [1]
