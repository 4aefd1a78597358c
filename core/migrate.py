"""Migrating a store written by an older version, in place, after a backup of the file.

Version 1 (user_version 0): `runs` with config and metrics as JSON, `history` with a row per run × split × epoch.
Version 2: every parameter and metric also in a value column of `runs` (and `checked` for rows read from them),
`histories` with one row of packed arrays per run, the indexes the pages filter by.

`migrate` runs in one write transaction: it takes the write lock, looks again (another process may have migrated
the file meanwhile: then it does nothing), copies the whole file to `<name>.bak-<old version>` with SQLite's backup
API (committed WAL content included; an existing backup is never overwritten: `.bak-1-2`, ...), then changes the
schema and fills it. Nothing is lost: every run row stays as it was (its JSON untouched), and every history row
the first version could read is packed; rows it could not read (a hand edit, a bad disk) were left out of every
table then and are left out now, and stay in the backup. If anything fails, the transaction rolls back and the
file is as it was.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .schema import MAX_EPOCH, MAX_INT, SPLITS, History, SchemaError, decode_stored

HISTORY_CHUNK = 200_000  # first-version history rows read at a time


def _state(con: sqlite3.Connection) -> tuple[int, set[str], set[str], set[str]]:
    version = con.execute("PRAGMA user_version").fetchone()[0]
    names = {(r[0], r[1]) for r in con.execute("SELECT type, name FROM sqlite_master")}
    tables = {n for t, n in names if t == "table"}
    others = {n for t, n in names if t in ("index", "trigger")}
    columns = {r[1] for r in con.execute("PRAGMA table_info(runs)")} if "runs" in tables else set()
    return version, tables, others, columns


def needs_migration(con: sqlite3.Connection) -> bool:
    """Whether this store's schema is older than this version's (or lacks a value column this version declares)."""
    from .store import EXTRA_COLUMNS, INDEXES, SCHEMA_VERSION

    version, tables, others, columns = _state(con)
    if "runs" not in tables:
        return False
    return (version < SCHEMA_VERSION or "histories" not in tables or "history" in tables
            or not {"checked", *EXTRA_COLUMNS} <= columns or not {*INDEXES, "runs_edited"} <= others)


def backup_file(path: Path, version: int) -> Path:
    """A complete copy of the store as it is now, beside it: `<name>.bak-<version>` (never overwriting one)."""
    target = Path(f"{path}.bak-{version}")
    n = 2
    while target.exists():
        target = Path(f"{path}.bak-{version}-{n}")
        n += 1
    partial = Path(f"{target}.partial")
    # copied through a second connection: SQLite refuses to back up through one that holds the write lock (it
    # answers SQLITE_LOCKED forever), while a reader sees everything committed, and the caller's write lock keeps writers out
    src, dst = sqlite3.connect(path), sqlite3.connect(partial)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    os.replace(partial, target)  # a backup is either whole or not there
    return target


def migrate(con: sqlite3.Connection, path: Path, *, backup: bool = True) -> Path | None:
    """Bring the store on `con` (an autocommit connection) to this version; returns the backup's path (None: nothing
    to do, or no backup asked for)."""
    from .store import EDITED_TRIGGER, EXTRA_COLUMNS, HISTORIES_SQL, INDEXES, SCHEMA_VERSION, SWEEPS_SQL

    con.execute("BEGIN IMMEDIATE")
    try:
        if not needs_migration(con):  # another process got here first
            con.execute("COMMIT")
            return None
        version, tables, _, columns = _state(con)
        saved = backup_file(path, max(version, 1)) if backup else None
        for column in ["checked", *EXTRA_COLUMNS]:
            if column not in columns:
                con.execute(f'ALTER TABLE runs ADD COLUMN "{column}"')
        con.execute(HISTORIES_SQL)
        con.execute(SWEEPS_SQL)
        if version < 2:
            _fill_values(con)
        if "history" in tables:
            _pack_histories(con)
            con.execute("DROP TABLE history")
        con.execute("DROP INDEX IF EXISTS runs_study")  # the first index of runs_study_status does its work
        for name, cols in INDEXES.items():
            con.execute(f"CREATE INDEX IF NOT EXISTS {name} ON runs({cols})")
        con.execute(EDITED_TRIGGER)
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        con.execute("COMMIT")
        return saved
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        raise


def _fill_values(con: sqlite3.Connection) -> None:
    """Each readable run's values into its value columns; a run this version can read whole from them is `checked`
    (and gets its fingerprint as this version computes it, so imports compare alike)."""
    from .store import EXTRA_COLUMNS, FIXED, fingerprint, row_values
    from .studies import STUDIES

    columns = [*FIXED.values(), *EXTRA_COLUMNS]
    sets = ", ".join(f'"{c}" = ?' for c in columns)
    last = -MAX_INT - 1
    while True:
        rows = con.execute("SELECT id, study, status, config, metrics, created_at, source, sweep_id FROM runs "
                           "WHERE id > ? ORDER BY id LIMIT 5000", (last,)).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        updates = []
        for row in rows:
            try:
                rec = decode_stored(row)
            except SchemaError:
                continue  # unreadable, as before: left out of every table, with a warning
            values, whole = row_values(rec["config"], rec["metrics"])
            study = STUDIES.get(rec["study"])  # a run read from its values has every parameter of a study this version knows
            whole = whole and study is not None and set(rec["config"]) - {"fold", "folds"} == {p.name for p in study.params}
            updates.append((1 if whole else None, fingerprint(rec) if whole else None, *(values.get(c) for c in columns), row[0]))
        con.executemany(f"UPDATE runs SET checked = ?, fingerprint = COALESCE(?, fingerprint), {sets} WHERE id = ?", updates)


def _number_or_none(v: Any) -> Any:
    """A stored cell as a number pandas can hold, or None (text, blobs and out-of-range values are no number)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return v if isinstance(v, float) or -MAX_INT <= v <= MAX_INT else None


def _pack_histories(con: sqlite3.Connection) -> None:
    """The first version's history rows, a run at a time, into packed rows (rows it could not read are left out)."""
    from .store import pack_history

    cursor = con.execute("SELECT run_id, epoch, split, loss, acc FROM history WHERE run_id IN (SELECT id FROM runs) "
                         "ORDER BY run_id, split, epoch")
    carry = pd.DataFrame(columns=["run_id", "epoch", "split", "loss", "acc"])
    while True:
        rows = cursor.fetchmany(HISTORY_CHUNK)
        frame = pd.concat([carry, pd.DataFrame(rows, columns=carry.columns)], ignore_index=True) if rows else carry
        if frame.empty:
            return
        last_run = frame["run_id"].iloc[-1]
        done = frame if not rows else frame[frame["run_id"] != last_run]
        carry = frame.iloc[0:0] if not rows else frame[frame["run_id"] == last_run]
        _insert_packed(con, done, pack_history)
        if not rows:
            return


def _insert_packed(con: sqlite3.Connection, frame: pd.DataFrame, pack) -> None:
    if frame.empty:
        return
    numbers = {c: pd.to_numeric(frame[c].map(_number_or_none), errors="coerce") for c in ("epoch", "loss", "acc")}
    epoch = numbers["epoch"]
    good = epoch.between(0, MAX_EPOCH) & (epoch % 1 == 0) & frame["split"].isin(SPLITS)
    good &= frame["run_id"].map(lambda v: type(v) is int)
    frame = frame[good.to_numpy()]
    if frame.empty:
        return
    run_id = frame["run_id"].to_numpy(dtype=np.int64)
    epoch = epoch[good].to_numpy(dtype=np.int64)
    split = frame["split"].map({s: i for i, s in enumerate(SPLITS)}).to_numpy(dtype=np.uint8)
    loss = numbers["loss"][good].to_numpy(dtype=float)
    acc = numbers["acc"][good].to_numpy(dtype=float)
    bounds = [0, *(np.flatnonzero(np.diff(run_id)) + 1).tolist(), len(run_id)]
    rows = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        h = History(epoch[a:b], split[a:b], loss[a:b], acc[a:b])  # already in split-name, epoch order
        rows.append((int(run_id[a]), *pack(h)))
    con.executemany("INSERT INTO histories (run_id, epoch, split, loss, acc) VALUES (?, ?, ?, ?, ?)", rows)
