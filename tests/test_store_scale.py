"""A store that stays fast at scale: pages, filters, sorts and groups read in SQL give what the whole-table code gives;
histories are read only for the runs asked for; a store written by the first version opens after a migration that
backs it up first and loses nothing."""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.compare import group_history, summary_by
from core.query import Condition, RunFilter
from core.store import EDITED_TRIGGER, Store, fingerprint, to_json
from core.studies import get_study
from tests.test_reliability_store import dump, read_only
from tests.test_summary import FIXTURE

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
STUDIES = ("polynomial", "classification", "weight-decay")
GRIDS = {"polynomial": ("degree", [1, 2, 3, 5]), "classification": ("dropout", [0.0, 0.25, 0.5]),
         "weight-decay": ("weight_decay", [0.001, 0.01, 0.1])}


def synthetic_records(rng: np.random.Generator, study: str, n: int) -> list[dict]:
    """Runs of one study that look stored: a grid value, folds or not, metrics with gaps, a short history."""
    name, values = GRIDS[study]
    base = get_study(study).defaults()
    out = []
    for i in range(n):
        folds = bool(rng.integers(0, 2))
        config = {**base, name: values[int(rng.integers(0, len(values)))], "seed": int(rng.integers(0, 3))}
        if folds:
            config.update(folds=3, fold=int(rng.integers(0, 3)))
        metrics = {"train_loss": float(rng.uniform(0, 2)), "test_loss": float(rng.uniform(0, 3)), "epochs_run": int(rng.integers(1, 6))}
        if folds:
            metrics["val_loss"] = float(rng.uniform(0, 3))
        if study == "classification":
            metrics["test_acc"] = float(rng.uniform(0.5, 1))
        if rng.random() < 0.1:
            metrics["test_loss"] = math.nan  # a metric without a value: read back from the JSON
        splits = ["train", "val", "test"] if folds else ["train", "test"]
        history = [{"epoch": e, "split": s, "loss": float(rng.uniform(0, 2)),
                    "acc": float(rng.uniform(0, 1)) if study == "classification" else None} for e in range(1, 4) for s in splits]
        status = "diverged" if rng.random() < 0.1 else "ok"
        out.append({"study": study, "status": status, "config": config, "metrics": metrics, "history": history})
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Store:
    """About 130 runs of three studies: two sweeps, one-off runs, an import, diverged runs, NaN metrics."""
    store = Store(tmp_path_factory.mktemp("scale") / "small.db")
    rng = np.random.default_rng(7)
    for study in STUDIES:
        sweep = store.create_sweep(study, {"study": study})
        store.save_records(synthetic_records(rng, study, 30), sweep_id=sweep)
        store.save_records(synthetic_records(rng, study, 10))
    store.save_records(synthetic_records(rng, "polynomial", 8), source="import:shared.csv")
    return store


def plain(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain dicts without missing values, so frames built from different selections compare by content."""
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items() if not pd.isna(v)}
            for row in frame.to_dict("records")]


def reference(runs: pd.DataFrame, f: RunFilter) -> pd.DataFrame:
    """The whole-table code: the filter applied to every run in pandas."""
    keep = pd.Series(True, index=runs.index)
    for column, values in (("study", f.studies), ("status", f.statuses), ("sweep_id", f.sweeps), ("source", f.sources)):
        if values:
            keep &= runs[column].isin(values)
    for c in f.conditions:
        values = runs[c.name] if c.name in runs else pd.Series(np.nan, index=runs.index, dtype=object)
        has = values.notna()
        if c.op == "notna":
            keep &= has
            continue
        present = values[has]
        if c.op == "in":
            hit = present.isin(c.value)
        else:
            hit = {"==": present == c.value, "!=": present != c.value, "<": present < c.value, "<=": present <= c.value,
                   ">": present > c.value, ">=": present >= c.value}[c.op]
        keep &= hit.reindex(runs.index, fill_value=False).astype(bool)
    return runs[keep]


VALUE_NAMES = ["degree", "dropout", "weight_decay", "lr", "seed", "fold", "train_loss", "test_loss", "val_loss", "test_acc"]


@st.composite
def filters(draw) -> RunFilter:
    conditions = []
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(VALUE_NAMES))
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "notna"]))
        pool = [0, 1, 2, 3, 5, 0.0, 0.25, 0.5, 0.01, 0.03, 0.5, 1.0, 1.5]
        value = draw(st.lists(st.sampled_from(pool), max_size=3)) if op == "in" else draw(st.sampled_from(pool))
        conditions.append(Condition(name, op, value))
    return RunFilter(studies=tuple(draw(st.sets(st.sampled_from(STUDIES), max_size=2))),
                     statuses=tuple(draw(st.sets(st.sampled_from(["ok", "diverged", "cancelled"]), max_size=1))),
                     sources=tuple(draw(st.sets(st.sampled_from(["local", "import:shared.csv"]), max_size=1))),
                     conditions=tuple(conditions))


@PROPERTY
@given(f=filters(), sort=st.sampled_from(["id", "study", "degree", "dropout", "test_loss", "val_loss", "created_at", "seed"]),
       descending=st.booleans(), offset=st.integers(0, 60), limit=st.integers(1, 40))
def test_pages_filters_and_sorts_give_the_whole_table_s_rows(small, f, sort, descending, offset, limit):
    everything = small.runs()
    expected = reference(everything, f)
    assert small.count(f) == len(expected)
    if sort in expected:
        expected = expected.sort_values([sort, "id"], ascending=not descending, na_position="last", kind="stable")
    else:  # no run of the selection has the value: ties by id
        expected = expected.sort_values("id", ascending=not descending)
    expected = expected.iloc[offset:offset + limit]
    page = small.page(f, sort=sort, descending=descending, offset=offset, limit=limit)
    assert page["id"].tolist() == expected["id"].tolist()
    assert plain(page) == plain(expected[page.columns])
    assert small.ids(f, sort=sort, descending=descending)[offset:offset + limit] == expected["id"].tolist()


@PROPERTY
@given(f=filters(), study=st.sampled_from(STUDIES), metrics=st.lists(st.sampled_from(["train_loss", "test_loss", "val_loss",
                                                                                        "test_acc"]), min_size=1, max_size=3, unique=True))
def test_grouping_gives_the_whole_table_s_numbers(small, f, study, metrics):
    f = f.narrow(studies=(study,))
    one = reference(small.runs(), f)
    by = GRIDS[study][0]
    metrics = [m for m in metrics if m in one]
    grouped = small.group(f, by, metrics)
    sub = one.dropna(subset=[by]) if by in one else one.iloc[0:0]
    if sub.empty:
        assert grouped.empty
        return
    expected = summary_by(sub, by, metrics)
    assert grouped[by].tolist() == expected[by].tolist() and grouped["runs"].tolist() == expected["runs"].tolist()
    for column in expected.columns[2:]:
        np.testing.assert_allclose(grouped[column].to_numpy(float), expected[column].to_numpy(float), rtol=1e-9, atol=1e-12)
    stats = small.column_stats(f, [by, *metrics]).set_index("name")
    assert stats.attrs["runs"] == len(one)
    for name in [by, *metrics]:
        values = one[name].dropna() if name in one else pd.Series(dtype=float)
        assert stats.loc[name, "count"] == len(values) and stats.loc[name, "distinct"] == values.nunique()
    values = small.values(f, [by, *metrics])
    assert values["id"].tolist() == one["id"].tolist()
    for name in [by, *metrics]:
        np.testing.assert_allclose(values[name].to_numpy(float, na_value=np.nan), one[name].to_numpy(float, na_value=np.nan))
    for y in ("loss", "acc"):
        curves = small.group_history(f, by, y)
        expected = group_history(small.history(sub["id"].tolist()), sub, by, y)
        assert len(curves) == len(expected)
        assert curves[[by, "split", "epoch", "count"]].astype(str).values.tolist() == \
            expected[[by, "split", "epoch", "count"]].astype(str).values.tolist()
        for column in ("mean", "std", "lower", "upper"):
            np.testing.assert_allclose(curves[column].to_numpy(float), expected[column].to_numpy(float), rtol=1e-9, atol=1e-12)


def test_the_selection_streams_in_chunks_and_names_its_columns_up_front(small):
    everything = small.runs()
    config, metrics = small.columns()
    assert list(everything.columns[8:]) == config + metrics
    chunks = list(small.iter_records(chunk=7))
    assert all(len(c) <= 7 for c in chunks) and [r["id"] for c in chunks for r in c] == everything["id"].tolist()
    f = RunFilter(studies=("classification",))
    assert list(small.runs(filter=f).columns[8:]) == sum(small.columns(f), [])
    assert small.distinct("study") == sorted(STUDIES) and small.distinct("source") == ["import:shared.csv", "local"]


def test_the_streamed_csv_formats_plain_chunks_as_it_formats_frames(tmp_path, monkeypatch):
    """`runs --format csv` formats a chunk of rows this version wrote itself (floats by repr, no frame): the same bytes
    as from the chunk's frame, whatever mix of rows a chunk holds (hand-edited, optional parameters, formula-like text)."""
    import csv
    import io

    from core.tables import csv_text, write_runs

    store = Store(tmp_path / "mixed.db")
    rng = np.random.default_rng(11)
    for study in STUDIES:
        store.save_records(synthetic_records(rng, study, 12))
    odd = synthetic_records(rng, "classification", 4)
    odd[0]["config"].update(dataset="spiral", n_classes=3)  # an optional parameter given: the others show its default
    odd[1]["config"]["lr"] = 1.5e-5
    odd[2]["metrics"]["train_loss"] = 123456789.125
    store.save_records(odd, source="=cmd|' /C calc'!A0.csv")  # a file name a spreadsheet would run
    with sqlite3.connect(store.path) as con:  # hand edits: read back from the JSON
        con.execute('UPDATE runs SET "m_test_loss" = \'text\' WHERE id = 3')
        con.execute("UPDATE runs SET status = 'ok' WHERE id = 20")
        con.execute("DROP TRIGGER runs_edited")  # edits that leave `checked` set: values not of their kind
        con.execute("UPDATE runs SET m_train_loss = 'x' WHERE id = 5")
        con.execute("UPDATE runs SET c_epochs = ? WHERE id = 7", (2**60,))
        con.execute("UPDATE runs SET c_lr = 1 WHERE id = 9")
        con.execute(EDITED_TRIGGER)
    frames = Store.frames
    kinds = [type(part) for part in frames(store, plain=True, chunk=5)]
    assert dict in kinds and pd.DataFrame in kinds  # both paths are taken
    for f in (None, RunFilter(studies=("classification",)), RunFilter(studies=("polynomial", "weight-decay"))):
        out = {}
        for plain in (True, False):
            monkeypatch.setattr(Store, "frames", lambda self, *a, **k: frames(self, *a, **{**k, "chunk": 5, "plain": plain and k.get("plain")}))
            out[plain] = io.BytesIO()
            assert write_runs(store, f, "csv", out[plain]) == store.count(f)
        assert out[True].getvalue() == out[False].getvalue()
        whole = pd.concat(list(frames(store, f)), ignore_index=True)  # and as the whole table at once
        assert out[True].getvalue() == csv_text(whole).encode()
        if f is None:
            text = out[True].getvalue().decode()
    assert "'=cmd" in text  # the file name, neutralised
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["n_classes"] for r in rows if r["study"] == "classification"} == {"2", "3"}  # the others at its default
    assert {r["n_classes"] for r in rows if r["study"] != "classification"} == {""}


def test_the_remembered_columns_follow_new_runs_and_hand_edits(tmp_path):
    store = Store(tmp_path / "memo.db")
    store.save_records(synthetic_records(np.random.default_rng(5), "polynomial", 3))
    config, metrics = store.columns()
    assert "degree" in config and "dropout" not in config and "test_acc" not in metrics
    store.save_records(synthetic_records(np.random.default_rng(6), "classification", 2))
    config, metrics = store.columns()
    assert "dropout" in config and "test_acc" in metrics
    with sqlite3.connect(store.path) as con:  # a hand edit leaves no run with an accuracy
        con.execute("UPDATE runs SET m_test_acc = NULL, metrics = json_remove(metrics, '$.test_acc')")
    assert "test_acc" not in store.columns()[1]


@pytest.fixture
def statements(monkeypatch) -> list[str]:
    """Every SQL statement any store connection runs during the test, with its values filled in."""
    seen: list[str] = []
    connect = sqlite3.connect

    def tracing(*args, **kwargs):
        con = connect(*args, **kwargs)
        con.set_trace_callback(seen.append)
        return con

    monkeypatch.setattr(sqlite3, "connect", tracing)
    return seen


def history_ids(statements: list[str], store: Store) -> list[set[int] | None]:
    """The run ids each statement reading histories asked for (None: every run's). A statement joining runs to their
    histories is run again with only the runs' ids selected, which are the histories it read."""
    out: list[set[int] | None] = []
    for sql in list(statements):  # running a statement again adds to them
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        if "FROM histories" in sql:
            inside = sql.split("run_id IN (", 1)
            out.append({int(x) for x in inside[1].split(")", 1)[0].split(",")} if len(inside) > 1 else None)
        elif "JOIN histories h ON h.run_id = r.id" in sql:
            again = "SELECT DISTINCT r.id FROM " + sql.split(" FROM ", 1)[1]
            with sqlite3.connect(store.path) as con:
                out.append({row[0] for row in con.execute(again)})
    return out


def test_histories_are_read_only_for_the_runs_asked_for(small, statements):
    f = RunFilter(studies=("polynomial",))
    small.page(f, limit=20)
    small.count(f)
    small.group(f, "degree", ["test_loss"])
    small.values(f, ["degree", "test_loss"])
    assert history_ids(statements, small) == []  # a page of the table and its statistics read no history
    chosen = small.ids(f, limit=3)
    small.history(chosen)
    assert history_ids(statements, small) == [set(chosen)]
    statements.clear()
    one_sweep = RunFilter(sweeps=tuple(small.distinct("sweep_id", f)))
    small.group_history(one_sweep, "degree")
    asked = set().union(*history_ids(statements, small))
    assert asked == set(small.ids(one_sweep)) and len(asked) == 30  # the grouped sweep's runs, none of the others


def test_the_runs_page_reads_the_histories_of_the_runs_it_compares_and_groups(small, statements, app_test, monkeypatch):
    monkeypatch.setenv("OVERFIT_LAB_DB", str(small.path))
    at = app_test("pages/runs.py")
    assert not at.exception
    chosen = set(at.multiselect(key="runs.ids").value)
    focus = small.records([max(small.ids())])[0]["study"]  # the latest run's study is grouped first
    grouped = set(small.ids(RunFilter(studies=(focus,))))
    read = [ids for ids in history_ids(statements, small)]
    assert None not in read and chosen and any(ids == chosen for ids in read)
    assert set().union(*read) <= chosen | grouped
    assert len(set().union(*read)) < small.count()  # never every run's history


def test_a_large_study_s_heavy_views_wait_for_a_click_and_its_bands_stay_honest(tmp_path, app_test, monkeypatch):
    from core.compare import spread
    from core.summary import render, summaries

    store = Store(tmp_path / "wide.db")
    rng = np.random.default_rng(3)
    records = synthetic_records(rng, "polynomial", 110)
    for i, r in enumerate(records):
        r["config"]["degree"] = 1 + i % 10  # ten values: more than the band chart draws
    store.save_records(records, sweep_id=store.create_sweep("polynomial", {"study": "polynomial"}))
    monkeypatch.setenv("OVERFIT_LAB_DB", str(store.path))
    at = app_test("pages/runs.py")
    assert not at.exception
    shown = " ".join(c.value for c in at.caption)
    assert "8 of the 10 values of degree" in shown
    grouped = at.dataframe[1].value
    assert grouped["degree"].tolist() == list(range(1, 11)) and grouped["runs"].sum() == 110  # the table: every value
    # 110 runs: the summary table and the parallel coordinates are computed only once opened
    assert not [m for m in at.markdown if m.value.startswith("| ")]
    assert not [b for b in at.download_button if b.label.startswith("summary")]
    assert len(at.get("vega_lite_chart")) == len(app_test("pages/runs.py", {"runs.parallel": "true"}).get("vega_lite_chart")) - 1
    opened = app_test("pages/runs.py", {"runs.summary": "true"})
    [summary] = summaries(store, study="polynomial")
    assert next(m.value for m in opened.markdown if m.value.startswith("| ")).strip() == render(summary, "markdown").strip()
    # the bands drawn are those of every run of each value shown, as if all values were grouped
    f = RunFilter(studies=("polynomial",)).also(Condition("degree", "notna"))
    some = spread(store.distinct("degree", f), 8)
    assert some[0] == 1 and some[-1] == 10 and len(some) == 8
    part = store.group_history(f.also(Condition("degree", "in", some)), "degree")
    whole = store.group_history(f, "degree")
    pd.testing.assert_frame_equal(part, whole[whole["degree"].isin(some)].reset_index(drop=True))


# --- a store written by the first version ------------------------------------------------------------------------

V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    study       TEXT NOT NULL,
    status      TEXT NOT NULL,
    seed        INTEGER,
    fold        INTEGER,
    sweep_id    TEXT,
    config      TEXT NOT NULL,
    metrics     TEXT NOT NULL,
    duration_s  REAL,
    created_at  TEXT NOT NULL,
    source      TEXT NOT NULL DEFAULT 'local',
    fingerprint TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_study ON runs(study);
CREATE INDEX IF NOT EXISTS runs_sweep ON runs(sweep_id);
CREATE INDEX IF NOT EXISTS runs_fingerprint ON runs(fingerprint);
CREATE TABLE IF NOT EXISTS history (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch  INTEGER NOT NULL,
    split  TEXT NOT NULL,
    loss   REAL,
    acc    REAL,
    PRIMARY KEY (run_id, split, epoch)
);
CREATE TABLE IF NOT EXISTS sweeps (
    id         TEXT PRIMARY KEY,
    study      TEXT NOT NULL,
    settings   TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""


def old_store(path: Path) -> tuple[list[dict], pd.DataFrame]:
    """A store as the first version wrote it (its schema and its inserts): the summary fixture's real runs with a
    short history each, one row no version could read, and history rows of which two are unreadable. Returns the
    runs and history rows that version read back."""
    data = json.loads(FIXTURE.read_text())
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.executescript(V1_SCHEMA)
    rng = np.random.default_rng(3)
    history = []
    for rec in data["runs"]:
        config, metrics = rec["config"], rec["metrics"]
        con.execute("INSERT INTO runs (id, study, status, seed, fold, sweep_id, config, metrics, duration_s, created_at, source, "
                    "fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (rec["id"], rec["study"], rec["status"], config.get("seed"), config.get("fold"), rec["sweep_id"], to_json(config),
                     to_json(metrics), metrics.get("duration_s"), rec["created_at"], rec["source"], "v1-" + str(rec["id"])))
        for epoch in range(1, 4):
            for split in ("test", "train"):
                row = (rec["id"], epoch, split, float(rng.uniform(0, 2)), None if rec["study"] == "polynomial" else float(rng.uniform(0, 1)))
                con.execute("INSERT INTO history (run_id, epoch, split, loss, acc) VALUES (?, ?, ?, ?, ?)", row)
                history.append(row)
    for sweep in data["sweeps"]:
        con.execute("INSERT INTO sweeps (id, study, settings, created_at) VALUES (?, ?, ?, ?)",
                    (sweep["id"], sweep["study"], json.dumps(sweep["settings"]), "2026-01-01T00:00:00+00:00"))
    con.execute("INSERT INTO runs (study, status, config, metrics, created_at, source, fingerprint) VALUES "
                "('polynomial', 'ok', '{not json', '{}', '2026-01-01', 'x', 'x')")
    con.execute("INSERT INTO history (run_id, epoch, split, loss, acc) VALUES (1, 99999999999, 'train', 'abc', X'00')")
    con.execute("INSERT INTO history (run_id, epoch, split, loss, acc) VALUES (1, 77, 'nope', 1.0, 0.5)")
    con.close()
    expected = pd.DataFrame(history, columns=["run_id", "epoch", "split", "loss", "acc"]).sort_values(["run_id", "split", "epoch"])
    return data["runs"], expected.reset_index(drop=True)


def same_runs(store: Store, runs: list[dict]) -> None:
    records = {r["id"]: r for r in store.records()}
    assert sorted(records) == [r["id"] for r in runs]
    for old in runs:
        new = records[old["id"]]
        for key in ("study", "status", "config", "created_at", "source", "sweep_id"):
            assert new[key] == old[key], (old["id"], key)
        assert {k: v for k, v in new["metrics"].items() if not pd.isna(v)} == {k: v for k, v in old["metrics"].items() if v is not None}


def same_history(store: Store, expected: pd.DataFrame) -> None:
    got = store.history()
    assert got[["run_id", "epoch", "split"]].values.tolist() == expected[["run_id", "epoch", "split"]].values.tolist()
    np.testing.assert_array_equal(got["loss"].to_numpy(), expected["loss"].to_numpy(float))
    np.testing.assert_array_equal(got["acc"].to_numpy(), expected["acc"].to_numpy(float))


def test_a_first_version_store_is_backed_up_then_migrated_with_nothing_lost(tmp_path):
    path = tmp_path / "old.db"
    runs, history = old_store(path)
    before = dump(path)
    skipped: list[str] = []
    store = Store(path)
    backup = tmp_path / "old.db.bak-1"
    assert backup.exists() and dump(backup) == before  # the whole old store, as it was
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2
    same_runs(store, runs)
    same_history(store, history)
    store.records(skipped=skipped)
    assert len(skipped) == 1 and "run 20" in skipped[0]  # still unreadable, still left out, still in the file
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM runs").fetchone()[0] == len(runs) + 1
    sweeps = store.sweeps()
    assert sweeps.set_index("id")["runs"].to_dict() == {"73e29a9aa498": 12, "c5ce41bf7499": 4}
    assert store.fingerprints() == {fingerprint(r) for r in store.records()}  # re-imports are spotted as before
    # idempotent: opening again changes nothing and backs up nothing
    after = dump(path)
    Store(path)
    assert dump(path) == after and not (tmp_path / "old.db.bak-1-2").exists()
    # and it takes new runs, which read back alike
    [rid] = store.save_records([{k: v for k, v in runs[0].items() if k not in ("id", "sweep_id", "created_at")}])
    saved = store.records([rid])[0]["config"]
    study = get_study(runs[0]["study"])
    assert rid == 21 and saved == {**runs[0]["config"], **{n: study.param(n).default for n in study.backfill}}


def _open_and_count(path: str, barrier) -> None:
    barrier.wait()
    assert Store(path).count() == 20


def test_two_processes_opening_a_first_version_store_at_once_migrate_it_once(tmp_path):
    path = tmp_path / "shared.db"
    runs, history = old_store(path)
    before = dump(path)
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    barrier = ctx.Barrier(3, timeout=60)
    procs = [ctx.Process(target=_open_and_count, args=(str(path), barrier)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert sorted(x.name for x in tmp_path.iterdir() if ".bak" in x.name) == ["shared.db.bak-1"]
    assert dump(tmp_path / "shared.db.bak-1") == before
    store = Store(path)
    same_runs(store, runs)
    same_history(store, history)


def test_a_read_only_first_version_store_is_read_through_a_migrated_copy(tmp_path):
    path = tmp_path / "ro.db"
    runs, history = old_store(path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with read_only(path):
        store = Store(path)
        assert store.read_only
        same_runs(store, runs)
        same_history(store, history)
        assert store.page(RunFilter(studies=("polynomial",)), limit=5)["study"].eq("polynomial").all()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest and not list(tmp_path.glob("*.bak*"))
