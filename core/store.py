"""The results store: SQLite with a row per run (its config and metrics as JSON, and each value in a column of its
own) and a row per run holding its history as packed arrays.

The file is `--db PATH`, else $OVERFIT_LAB_DB, else ./overfit_lab.db. WAL mode and one short transaction per
write let several dashboard sessions and sweep workers write at once; each operation opens its own connection,
so a Store can be shared across threads and processes. Reads return pandas DataFrames, and read only what is
asked for: a page of a filtered, sorted selection (`page`), its count, a few columns of it (`values`), group
statistics computed in SQL (`group`, `group_history`), histories of chosen runs (`history`), or the selection
streamed in chunks (`iter_records`). See core.query for filters.

Every record is checked against the run schema (core.schema) before it is written, and every stored row is
checked again when read, so one bad row never breaks a table: a row this store wrote (`checked`, unset by a
trigger when anything edits the row) is read from its typed value columns, any other row from its JSON through
`core.schema.decode_stored`. A file that is not a store, or is damaged or read-only, gives StoreError: one line
naming the file and what to do. A store of an older version is migrated when opened (core.migrate), after a
backup of the file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import sqlite3
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from .i18n import N_, Msg, MsgText, Translated, message
from .query import EVERY_RUN, FIXED, PARAM_KINDS, VALUE_COLUMNS, VALUE_KINDS, Condition, RunFilter, column_sql, order_sql
from .schema import (
    MAX_EPOCH,
    MAX_INT,
    MAX_TEXT,
    RUN_COLUMNS,
    SPLITS,
    History,
    SchemaError,
    check_run,
    decode_stored,
    is_blank,
)

SCHEMA_VERSION = 2  # PRAGMA user_version; the first version (runs, history, sweeps) left it 0
HISTORY_COLUMNS = ["run_id", "epoch", "split", "loss", "acc"]
RUN_SQL_COLUMNS = ("id", "study", "status", "seed", "fold", "sweep_id", "config", "metrics", "duration_s", "created_at",
                   "source", "fingerprint")
EXTRA_COLUMNS = [c for c in VALUE_COLUMNS.values() if c not in FIXED.values()]  # value columns added in version 2
INDEXES = {  # name → columns: what the pages filter by, beside the first version's runs_sweep and runs_fingerprint
    "runs_study_status": "study, status",
    "runs_study_sweep": "study, sweep_id",
    "runs_study_source": "study, source",
    "runs_sweep": "sweep_id",
    "runs_fingerprint": "fingerprint",
}
EDITED_TRIGGER = """CREATE TRIGGER IF NOT EXISTS runs_edited AFTER UPDATE ON runs WHEN OLD.checked IS NOT NULL
BEGIN UPDATE runs SET checked = NULL WHERE id = NEW.id; END"""
HISTORIES_SQL = """CREATE TABLE IF NOT EXISTS histories (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    epoch  BLOB NOT NULL,  -- uint16 per row (little-endian)
    split  BLOB NOT NULL,  -- uint8 per row: index into train, val, test
    loss   BLOB NOT NULL,  -- float64 per row, NaN: no value
    acc    BLOB            -- float64 per row, NaN: no value; NULL when no row has one
)"""
SWEEPS_SQL = """CREATE TABLE IF NOT EXISTS sweeps (
    id         TEXT PRIMARY KEY,
    study      TEXT NOT NULL,
    settings   TEXT NOT NULL,
    created_at TEXT NOT NULL
)"""


def schema_sql() -> str:
    """The whole schema of a new store (this version)."""
    values = "".join(f',\n    "{c}"' for c in EXTRA_COLUMNS)  # no declared type: each value keeps its own (int, real, text)
    runs = f"""CREATE TABLE IF NOT EXISTS runs (
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
    fingerprint TEXT NOT NULL,
    checked     INTEGER{values}
)"""
    indexes = [f"CREATE INDEX IF NOT EXISTS {name} ON runs({cols})" for name, cols in INDEXES.items()]
    return ";\n".join([runs, *indexes, HISTORIES_SQL, SWEEPS_SQL, EDITED_TRIGGER, f"PRAGMA user_version = {SCHEMA_VERSION}"]) + ";\n"


_TABLES = {  # what makes a SQLite file an Overfit Lab store: these tables with (at least) these columns
    "runs": set(RUN_SQL_COLUMNS),
    "history": {"run_id", "epoch", "split", "loss", "acc"},  # the first version's (a row per run × split × epoch)
    "histories": {"run_id", "epoch", "split", "loss", "acc"},
    "sweeps": {"id", "study", "settings", "created_at"},
}
_CREATE_TRIES = 40  # PRAGMA journal_mode=WAL can answer 'locked' at once while another process creates the file
MIGRATE_TIMEOUT_S = 900  # a process opening a store while another migrates a large one waits for it
CHUNK = 5000  # rows per chunk when streaming
MEMO_SIZE = 64


class StoreError(Translated, ValueError):
    """The results file cannot be used as asked: one line saying which file, what is wrong and what to do."""


def default_path() -> Path:
    """$OVERFIT_LAB_DB, else ./overfit_lab.db."""
    return Path(os.environ.get("OVERFIT_LAB_DB", "overfit_lab.db")).expanduser()


def now() -> str:
    """The current UTC time as ISO 8601 with microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def to_json(value: Any, sort_keys: bool = False) -> str:
    """Strict JSON: NaN and infinities become null."""
    return json.dumps(_finite(value), sort_keys=sort_keys, allow_nan=False)


_PLAIN = (str, int, bool, type(None))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: v if type(v) in _PLAIN or type(v) is float and math.isfinite(v) else _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _finite(value.item())
    return value


def fingerprint(record: dict[str, Any]) -> str:
    """A hash of what makes a run this run (study, config, metrics, status, time): spots re-imports.

    A metric without a value (NaN, blank, null) counts as absent: a table cannot tell the two apart,
    so a run exported as CSV, Parquet or Markdown and imported again has the fingerprint it had.
    """
    metrics = {k: v for k, v in (record.get("metrics") or {}).items() if not is_blank(v)}
    key = to_json({"study": record.get("study"), "config": record.get("config"), "metrics": metrics,
                   "status": record.get("status"), "created_at": record.get("created_at")}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _writable(path: Path) -> bool:
    try:
        with open(path, "r+b"):  # opening for update writes nothing; it fails where writing would
            return True
    except OSError:
        return False


# --- values: a run's config and metrics as typed columns ----------------------------------------------------


_BAD = object()  # a stored value that is not of its declared kind


def as_kind(v: Any, kind: type) -> Any:
    """A stored value as its declared kind (None stays None), or _BAD when it is not one."""
    if v is None:
        return None
    t = type(v)
    if kind is float:
        return v if t is float else float(v) if t is int and -MAX_INT <= v <= MAX_INT else _BAD
    if kind is int:
        return v if t is int and -MAX_INT <= v <= MAX_INT else _BAD
    if kind is bool:  # SQLite gives 0 or 1 back
        return v if t is bool else bool(v) if t is int and v in (0, 1) else _BAD
    return v if t is str and len(v) <= MAX_TEXT else _BAD


def row_values(config: dict[str, Any], metrics: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A record's config and metrics as {value column: value} (every value of its name's kind), and whether they are
    the whole record: every key has a value column and a value (a metric without a value is kept only in the JSON,
    so such a run is read from its JSON)."""
    out: dict[str, Any] = {}
    whole = True
    for part, names in ((config, PARAM_KINDS), (metrics, VALUE_KINDS)):
        for name, v in part.items():
            kind = names.get(name) if part is config or name not in PARAM_KINDS else None
            if kind is None or is_blank(v) or as_kind(v, kind) is _BAD:
                whole = False
                continue
            out[VALUE_COLUMNS[name]] = v
    return out, whole


class _Plan:
    """How to read a row of `SELECT ...` from its value columns: per study, its parameters in declared order."""

    def __init__(self, columns: Sequence[str]):
        from .studies import STUDIES

        self.columns = list(columns)  # value columns, in the order they are selected
        at = {c: i for i, c in enumerate(self.columns)}
        # an optional parameter at its default is left out of a stored config (core.studies.config_dict): no value
        self.params = {sid: [(p.name, at.get(VALUE_COLUMNS[p.name]), p.kind, p.optional) for p in s.params]
                       for sid, s in STUDIES.items()}
        self.extras = [(n, at.get(VALUE_COLUMNS[n]), int) for n in ("folds", "fold")]
        self.metrics = [(n, at[VALUE_COLUMNS[n]], k) for n, k in VALUE_KINDS.items() if n not in PARAM_KINDS and VALUE_COLUMNS[n] in at]

    def record(self, row: Sequence[Any]) -> dict[str, Any] | None:
        """The record of a checked row from its value columns, or None when it has to be read from its JSON."""
        rid, study, status, _config, _metrics, created, source, sweep, checked = row[:9]
        values = row[9:]
        if checked != 1 or study not in self.params or sweep is not None and type(sweep) is not str:
            return None
        if not all(type(t) is str and len(t) <= MAX_TEXT for t in (status, created, source)):
            return None
        config: dict[str, Any] = {}
        for name, i, kind, optional in self.params[study]:
            v = as_kind(values[i], kind) if i is not None else None
            if v is None and optional:
                continue
            if v is None or v is _BAD:
                return None
            config[name] = v
        for name, i, kind in self.extras:
            v = as_kind(values[i], kind) if i is not None else None
            if v is _BAD:
                return None
            if v is not None:
                config[name] = v
        metrics: dict[str, Any] = {}
        for name, i, kind in self.metrics:
            v = values[i]
            if v is not None:
                v = as_kind(v, kind)
                if v is _BAD:
                    return None
                metrics[name] = v
        return {"id": rid, "study": study, "status": status, "config": config, "metrics": metrics, "created_at": created,
                "source": source, "sweep_id": sweep}


# --- histories: packed arrays, one row per run --------------------------------------------------------------------


def pack_history(h: History) -> tuple[bytes, bytes, bytes, bytes | None]:
    """A checked history as the blobs of its row: epochs (uint16), split codes (uint8), loss and acc (float64)."""
    acc = None if np.isnan(h.acc).all() else h.acc.astype("<f8").tobytes()
    return h.epoch.astype("<u2").tobytes(), h.split.astype("u1").tobytes(), h.loss.astype("<f8").tobytes(), acc


def unpack_histories(rows: Sequence[tuple]) -> pd.DataFrame:
    """History rows (run_id, epoch, split, loss, acc blobs) as a long frame; rows that cannot be read are left out."""
    ids, counts, epochs, splits, losses, accs = [], [], [], [], [], []
    for run_id, epoch, split, loss, acc in rows:
        if not all(type(b) is bytes for b in (epoch, split, loss)) or not (acc is None or type(acc) is bytes):
            continue
        n = len(split)
        if len(epoch) != 2 * n or len(loss) != 8 * n or (acc is not None and len(acc) != 8 * n) or type(run_id) is not int:
            continue
        ids.append(run_id)
        counts.append(n)
        epochs.append(epoch)
        splits.append(split)
        losses.append(loss)
        accs.append(acc if acc is not None else _NAN_BYTES * n)
    if not ids:
        return _empty_history()
    frame = pd.DataFrame({
        "run_id": np.repeat(np.array(ids, dtype=np.int64), counts),
        "epoch": np.frombuffer(b"".join(epochs), "<u2").astype(np.int64),
        "split": np.frombuffer(b"".join(splits), "u1"),
        "loss": np.frombuffer(b"".join(losses), "<f8"),
        "acc": np.frombuffer(b"".join(accs), "<f8"),
    })
    frame = frame[(frame["epoch"] <= MAX_EPOCH) & (frame["split"] < len(SPLITS))]
    frame["split"] = np.array(SPLITS, dtype=object)[frame["split"].to_numpy()]
    return frame.reset_index(drop=True)


_NAN_BYTES = np.array([np.nan], dtype="<f8").tobytes()


def _empty_history() -> pd.DataFrame:
    return pd.DataFrame({"run_id": pd.Series(dtype="int64"), "epoch": pd.Series(dtype="int64"),
                         "split": pd.Series(dtype=object), "loss": pd.Series(dtype=float), "acc": pd.Series(dtype=float)})


class Store:
    """Runs and their histories in one SQLite file.

    A file that is not an Overfit Lab store (random bytes, another program's SQLite file, a damaged
    copy, a folder) raises StoreError with one line; a read-only file opens for reading, and any write
    to it raises StoreError before anything else happens (`for_writing=True` says so at once). A store
    written by an older version is migrated on opening (a backup of the file first, see core.migrate);
    a read-only one is read through a migrated copy in the temporary folder.
    """

    def __init__(self, path: str | Path | None = None, *, for_writing: bool = False):
        self.path = Path(path) if path else default_path()
        self._read_path = self.path
        self._present: set[str] = set(EXTRA_COLUMNS) | set(FIXED.values())
        self._memo: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        if self.path.is_dir():
            raise StoreError(N_("results store {path}: is a folder, not a file; give a file path with --db or OVERFIT_LAB_DB"), path=self.path)
        if self.path.parent and not self.path.parent.exists():
            raise StoreError(N_("db: folder {path} does not exist; create it or give another --db path"), path=self.path.parent)
        self.read_only = self.path.exists() and not _writable(self.path)
        if self.path.exists() and self.path.stat().st_size > 0:
            self._check_tables()  # before writing anything into a file that may be someone else's
        if not self.read_only:
            self._create()
        elif self._needs_migration():
            self._read_migrated_copy()
        self._present = self._value_columns()
        if for_writing:
            self.require_writable()

    def require_writable(self) -> "Store":
        """This store, or StoreError when it is read-only (say so before training, not after)."""
        if self.read_only:
            raise StoreError(N_("results store {path}: the file is read-only, so runs cannot be stored; "
                                "make it writable, or give another --db path (listing and export still work)"), path=self.path)
        return self

    # --- opening: creation, checks, migration --------------------------------------------------------------

    def _create(self) -> None:
        """WAL mode and the schema (or a migration to it), retried while other processes create the same new file."""
        from .migrate import migrate, needs_migration

        for attempt in range(_CREATE_TRIES):
            try:
                with self._connect(explain=False) as con:
                    if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                        con.execute("PRAGMA journal_mode=WAL")
                    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                    if not tables & set(_TABLES):
                        con.executescript("BEGIN IMMEDIATE;\n" + schema_sql() + "COMMIT;")
                    elif needs_migration(con):
                        con.execute(f"PRAGMA busy_timeout={MIGRATE_TIMEOUT_S * 1000}")
                        migrate(con, self.path)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or attempt == _CREATE_TRIES - 1:
                    raise self._explain(exc) from None
                time.sleep(min(0.01 * 2**attempt, 0.5) * (0.5 + random.random()))
            except sqlite3.Error as exc:
                raise self._explain(exc) from None

    def _needs_migration(self) -> bool:
        from .migrate import needs_migration

        if not self.path.exists() or self.path.stat().st_size == 0:
            return False
        with self._connect(read_only=True) as con:
            return needs_migration(con)

    def _read_migrated_copy(self) -> None:
        """A read-only store of an older version: read a migrated copy of it in the temporary folder."""
        import tempfile

        from .migrate import migrate

        handle, name = tempfile.mkstemp(prefix="overfit-lab-", suffix=".db")
        os.close(handle)
        copy = Path(name)
        weakref.finalize(self, _remove, copy)
        try:
            with self._connect(read_only=True) as src:
                dst = sqlite3.connect(copy, isolation_level=None)
                try:
                    src.backup(dst)
                    dst.execute("PRAGMA foreign_keys=ON")
                    migrate(dst, copy, backup=False)
                finally:
                    dst.close()
        except sqlite3.Error as exc:
            raise self._explain(exc) from None
        self._read_path = copy

    def _check_tables(self) -> None:
        """StoreError unless the file is empty of tables or holds the store's tables with their columns."""
        with self._connect(read_only=True) as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
            ours = tables & set(_TABLES)
            if tables and not ours:
                listed = ", ".join(sorted(tables)[:5])
                raise StoreError(N_("results store {path}: a SQLite file of another program (tables {tables}), not an "
                                    "Overfit Lab store; give another --db path (it was left unchanged)"), path=self.path, tables=listed)
            for table in sorted(ours):
                columns = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
                missing = _TABLES[table] - columns
                if missing:
                    raise StoreError(N_("results store {path}: its {table} table lacks column(s) {columns}, so another program or "
                                        "version made it; give another --db path (it was left unchanged)"), path=self.path, table=table,
                                     columns=", ".join(sorted(missing)))

    def _value_columns(self) -> set[str]:
        with self._connect(read_only=self.read_only) as con:
            return {r[1] for r in con.execute("PRAGMA table_info(runs)")} & (set(EXTRA_COLUMNS) | set(FIXED.values()))

    def _explain(self, exc: sqlite3.Error) -> StoreError:
        """One line for a SQLite error: which file, what is wrong, what to do."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        detail = " ".join(str(exc).split())
        path = self.path
        if name == "SQLITE_NOTADB" or "not a database" in detail:
            return StoreError(N_("results store {path}: not a SQLite database (it holds other bytes, or its first page is "
                                 "damaged); move it aside or give another --db path"), path=path)
        if name.startswith("SQLITE_CORRUPT") or "malformed" in detail:
            return StoreError(N_("results store {path}: the file is damaged ({detail}); restore a backup, or move it aside to start a "
                                 "new store"), path=path, detail=detail)
        if name.startswith("SQLITE_READONLY") or "readonly" in detail:
            self.read_only = True
            return StoreError(N_("results store {path}: read-only ({detail}), so runs cannot be stored; make the file and its "
                                 "folder writable, or give another --db path"), path=path, detail=detail)
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in detail:
            return StoreError(N_("results store {path}: still locked by another process after waiting; try again when it has "
                                 "finished"), path=path)
        if name.startswith("SQLITE_CANTOPEN") or "unable to open" in detail:
            return StoreError(N_("results store {path}: cannot be opened ({detail}); check that it is a file in a folder you can "
                                 "read and write"), path=path, detail=detail)
        if name.startswith("SQLITE_FULL"):
            return StoreError(N_("results store {path}: the disk is full; free some space and try again (nothing was stored)"), path=path)
        return StoreError(N_("results store {path}: {detail}"), path=path, detail=detail)

    @contextmanager
    def _connect(self, *, read_only: bool | None = None, explain: bool = True) -> Iterator[sqlite3.Connection]:
        read_only = self.read_only if read_only is None else read_only
        path = self._read_path if read_only else self.path
        try:
            if read_only and path == self.path:
                con = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=60, isolation_level=None)
            else:
                con = sqlite3.connect(path, timeout=60, isolation_level=None)
        except sqlite3.Error as exc:
            if not explain:
                raise
            raise self._explain(exc) from None
        try:
            con.execute("PRAGMA busy_timeout=60000")
            con.execute("PRAGMA foreign_keys=ON")
            yield con
        except sqlite3.Error as exc:
            if not explain:
                raise
            raise self._explain(exc) from None
        finally:
            con.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction: all of it lands or none of it."""
        self.require_writable()
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the transaction is gone with the connection either way; the first error says why
                raise
            con.execute("COMMIT")

    # --- writing -----------------------------------------------------------------------------

    def save_run(self, result, sweep_id: str | None = None) -> int:
        """Store a `RunResult` with its history; returns its id."""
        return self.save_results([result], sweep_id=sweep_id)[0]

    def save_results(self, results: Sequence[Any], sweep_id: str | None = None) -> list[int]:
        """Store `RunResult`s with their histories in one transaction (all land or none); sets and returns their ids."""
        records = []
        for result in results:
            record = {**result.to_record(), "created_at": now()}
            if result.history is not None and len(result.history):
                record["history"] = result.history  # checked column-wise (core.schema.check_history)
            records.append(record)
        ids = self.save_records(records, sweep_id=sweep_id)
        for result, run_id in zip(results, ids):
            result.run_id = run_id
        return ids

    def save_records(self, records: Sequence[dict[str, Any]], sweep_id: str | None = None, source: str = "local") -> list[int]:
        """Store run records ({study, config, metrics, status, created_at?, history?}) in one transaction.

        Every record is checked against the run schema first (core.schema): one outside it raises
        SchemaError naming the record and field, and nothing is written.
        """
        self.require_writable()
        clean = []
        for i, rec in enumerate(records):
            where = Msg(N_("run")) if len(records) == 1 else Msg(N_("run {i} of {n}"), i=i + 1, n=len(records))
            full = check_run({"sweep_id": sweep_id, "source": source, **rec} if isinstance(rec, dict) else rec, where)
            full["created_at"] = full["created_at"] or now()
            full.setdefault("source", source)
            clean.append(full)
        if not clean:
            return []
        columns = [c for c in EXTRA_COLUMNS if c in self._present]
        names = ", ".join([*RUN_SQL_COLUMNS, "checked", *(f'"{c}"' for c in columns)])
        sql = f"INSERT INTO runs ({names}) VALUES ({', '.join('?' * (len(RUN_SQL_COLUMNS) + 1 + len(columns)))})"
        with self._write() as con:
            # ids given here (AUTOINCREMENT never reuses one), so the runs and their histories go in as two batches
            first = 1 + max(con.execute("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'runs'").fetchone()[0],
                            con.execute("SELECT COALESCE(MAX(id), 0) FROM runs").fetchone()[0])
            ids = list(range(first, first + len(clean)))
            rows, histories = [], []
            for run_id, rec in zip(ids, clean):
                config, metrics = rec["config"], rec["metrics"]
                values, whole = row_values(config, metrics)
                rows.append((run_id, rec["study"], rec["status"], config.get("seed"), config.get("fold"), rec.get("sweep_id"),
                             to_json(config), to_json(metrics), _float_or_none(metrics.get("duration_s")), rec["created_at"],
                             rec["source"], fingerprint(rec), 1 if whole else None, *(values.get(c) for c in columns)))
                if len(rec["history"]):
                    histories.append((run_id, *pack_history(rec["history"])))
            con.executemany(sql, rows)
            con.executemany("INSERT INTO histories (run_id, epoch, split, loss, acc) VALUES (?, ?, ?, ?, ?)", histories)
        return ids

    def delete_runs(self, ids: Iterable[int]) -> int:
        """Delete runs (and their histories); returns how many were deleted."""
        ids = [int(i) for i in ids if -MAX_INT <= int(i) <= MAX_INT]
        if not ids:
            return 0
        with self._write() as con:
            marks = ",".join("?" * len(ids))
            con.execute(f"DELETE FROM histories WHERE run_id IN ({marks})", ids)
            return con.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids).rowcount

    def create_sweep(self, study: str, settings: dict[str, Any]) -> str:
        """Record a sweep's settings; returns its id."""
        sweep_id = uuid.uuid4().hex[:12]
        with self._write() as con:
            con.execute("INSERT INTO sweeps (id, study, settings, created_at) VALUES (?, ?, ?, ?)", (sweep_id, study, to_json(settings), now()))
        return sweep_id

    # --- reading: helpers ---------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._connect() as con:
            return con.execute(sql, params).fetchall()

    def _filter(self, ids: Sequence[int] | None = None, study: str | None = None, sweep_id: str | None = None,
                filter: RunFilter | None = None) -> RunFilter:
        base = filter or EVERY_RUN
        changes: dict[str, Any] = {}
        if ids is not None:
            changes["ids"] = tuple(ids) if base.ids is None else tuple(i for i in base.ids if i in set(ids))
        if study is not None:
            changes["studies"] = (study,) if not base.studies or study in base.studies else ("\0none",)
        if sweep_id is not None:
            changes["sweeps"] = (sweep_id,) if not base.sweeps or sweep_id in base.sweeps else ("\0none",)
        return base.narrow(**changes) if changes else base

    def _where(self, filter: RunFilter, extra: str = "") -> tuple[str, list[Any]]:
        where, params = filter.where(self._present)
        if extra:
            where = f"{where} AND {extra}" if where else f"WHERE {extra}"
        return where, params

    def _col(self, name: str) -> str:
        return column_sql(name, self._present)

    def token(self) -> tuple:
        """Changes whenever a run is added, deleted or edited: a key for remembering answers about this store."""
        rows = self._query("SELECT (SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'runs'), "
                           "(SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM sweeps)")
        files = []  # any write (a hand edit too) changes the write-ahead log or, once checkpointed, the file
        for suffix in ("", "-wal"):
            try:
                st = os.stat(f"{self._read_path}{suffix}")
                files.append((st.st_mtime_ns, st.st_size))
            except OSError:
                files.append(None)
        return (*rows[0], *files)

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """compute(), remembered while the store's runs stay the same (see `token`): pages ask the same things on every rerun."""
        full = (key, self.token())
        with self._lock:
            if full in self._memo:
                self._memo.move_to_end(full)
                return self._memo[full]
        value = compute()
        with self._lock:
            self._memo[full] = value
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return value

    def _select(self) -> str:
        values = "".join(f', "{c}"' if c in self._present else ", NULL" for c in self._plan_columns())
        return ("SELECT id, study, status, CASE WHEN checked = 1 THEN NULL ELSE config END, "
                f"CASE WHEN checked = 1 THEN NULL ELSE metrics END, created_at, source, sweep_id, checked{values} FROM runs")

    @staticmethod
    def _plan_columns() -> list[str]:
        return [*FIXED.values(), *EXTRA_COLUMNS]

    def _plan(self) -> _Plan:
        plan = getattr(self, "_plan_cache", None)
        if plan is None:
            plan = self._plan_cache = _Plan(self._plan_columns())
        return plan

    def _decode(self, con: sqlite3.Connection, rows: list[tuple], skipped: list[str] | None) -> list[dict[str, Any]]:
        """Rows of `_select()` as records, in their order; rows that cannot be read are left out (a line in `skipped`)."""
        plan = self._plan()
        out: list[Any] = [plan.record(row) for row in rows]
        again = [row[0] for row, rec in zip(rows, out) if rec is None]
        if again:
            raw = {}
            for start in range(0, len(again), 900):
                part = again[start:start + 900]
                for row in con.execute("SELECT id, study, status, config, metrics, created_at, source, sweep_id FROM runs "
                                       f"WHERE id IN ({','.join('?' * len(part))})", part):
                    raw[row[0]] = row
            for i, rec in enumerate(out):
                if rec is None:
                    try:
                        out[i] = decode_stored(raw[rows[i][0]])
                    except (SchemaError, KeyError) as exc:
                        if skipped is not None:
                            skipped.append(MsgText(Msg(N_("{problem}; left out"), problem=message(exc))))
        return [r for r in out if r is not None]

    def _attach_histories(self, con: sqlite3.Connection, records: list[dict[str, Any]]) -> None:
        ids = [r["id"] for r in records]
        hist = self._histories(con, ids)
        by_run = {rid: g.drop(columns="run_id").to_dict("records") for rid, g in hist.groupby("run_id")}
        for r in records:
            r["history"] = by_run.get(r["id"], [])

    # --- reading: runs ------------------------------------------------------------------------------

    def count(self, filter: RunFilter | None = None) -> int:
        """Number of stored runs (that pass `filter`)."""
        where, params = self._where(filter or EVERY_RUN)
        return int(self._query(f"SELECT COUNT(*) FROM runs {where}", params)[0][0])

    def fingerprints(self) -> set[str]:
        """The fingerprint of every readable stored run (computed afresh where this version did not write the row)."""
        out = {r[0] for r in self._query("SELECT fingerprint FROM runs WHERE checked = 1")}
        with self._connect() as con:
            rows = con.execute(self._select() + " WHERE checked IS NOT 1").fetchall()
            out |= {fingerprint(r) for r in self._decode(con, rows, None)}
        return out

    def iter_records(self, ids: Sequence[int] | None = None, *, study: str | None = None, sweep_id: str | None = None,
                     filter: RunFilter | None = None, with_history: bool = False, skipped: list[str] | None = None,
                     chunk: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
        """The selected runs as records, oldest first, in chunks of at most `chunk` (memory stays small at any size)."""
        where, params = self._where(self._filter(ids, study, sweep_id, filter))
        with self._connect() as con:
            for records in self._chunks(con, where, params, skipped, chunk):
                if with_history:
                    self._attach_histories(con, records)
                yield records

    def _chunks(self, con: sqlite3.Connection, where: str, params: list[Any], skipped: list[str] | None,
                chunk: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
        """Records of the rows `where` selects, oldest first, a chunk at a time (by id, so each chunk is one index seek)."""
        where = f"{where} AND id > ?" if where else "WHERE id > ?"
        last = -MAX_INT - 1
        while True:
            rows = con.execute(f"{self._select()} {where} ORDER BY id LIMIT ?", [*params, last, chunk]).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            records = self._decode(con, rows, skipped)
            if records:
                yield records
            if len(rows) < chunk:
                return

    def frames(self, filter: RunFilter | None = None, columns: Sequence[str] | None = None, *, skipped: list[str] | None = None,
               chunk: int = CHUNK, plain: bool = False) -> Iterator[pd.DataFrame | dict[str, list[Any]]]:
        """The runs table of the selection (`runs_frame`'s columns and types; `columns` from `columns()` unless given),
        oldest first, a chunk of rows at a time: what a listing or an export writes out as it reads.

        Rows this version wrote are read column-wise from their value columns (each column checked for its kind at
        once); any other row, or one holding a value not of its kind, from its JSON, as `records` reads it. With
        `plain`, a chunk whose every row is read from its value columns comes as {column: its values as Python values
        of the column's kind, None for no value} instead of a frame: what a writer formats without pandas."""
        from .schema import RUN_COLUMNS

        filter = filter or EVERY_RUN
        if columns is None:
            config, metrics = self.columns(filter)
            columns = RUN_COLUMNS + config + metrics
        columns = list(columns)
        names = [c for c in columns if c not in RUN_COLUMNS and c in VALUE_KINDS]
        kinds = {"id": int, "seed": int, "fold": int, **VALUE_KINDS}
        # `ok`: a row this version wrote with its run fields of their kinds and every parameter of its study there,
        # checked by SQLite; the values' kinds are checked a column at a time below
        fields = ["checked = 1", "typeof(sweep_id) IN ('text', 'null')", "typeof(seed) IN ('integer', 'null')",
                  "typeof(fold) IN ('integer', 'null')", *(f"typeof({c}) = 'text' AND length({c}) <= {MAX_TEXT}"
                                                           for c in ("study", "status", "created_at", "source")),
                  self._complete_sql(names)]
        select = ", ".join([*RUN_COLUMNS, f"({' AND '.join(fields)})", *(self._col(n) for n in names)])
        where, params = self._where(filter)
        # an optional parameter some run of the selection holds: every run left without it shows its default (as
        # runs_frame fills a table), whichever chunk it is in
        optional = [n for n in names if _optional_defaults(n) and self._col(n) != "NULL"]
        if optional:  # one pass for all of them
            held = self._query(f"SELECT {', '.join(f'MAX({self._col(n)} IS NOT NULL)' for n in optional)} FROM runs {where}", params)[0]
            optional = [n for n, h in zip(optional, held) if h]
        where = f"{where} AND id > ?" if where else "WHERE id > ?"
        last = -MAX_INT - 1
        with self._connect() as con:
            while True:
                rows = con.execute(f"SELECT {select} FROM runs {where} ORDER BY id LIMIT ?", [*params, last, chunk]).fetchall()
                if not rows:
                    return
                last = rows[-1][0]
                raw = dict(zip([*RUN_COLUMNS, "ok", *names], zip(*rows)))
                good = np.array(raw.pop("ok"), dtype=object) == 1
                if not good.all():
                    raw = {c: [v for v, g in zip(values, good) if g] for c, values in raw.items()}
                _fill_defaults(raw, optional)
                if plain and good.all() and all(_plain_kind(raw[c], kinds.get(c)) for c in columns if c in raw):
                    yield {c: [None if v is None else v == 1 for v in raw[c]] if kinds.get(c) is bool else
                           list(raw[c]) if c in raw else [None] * len(rows) for c in columns}
                    if len(rows) < chunk:
                        return
                    continue
                data, bad = {}, np.zeros(int(good.sum()), dtype=bool)
                for c in columns:
                    data[c], wrong = _typed(raw[c] if c in raw else (None,) * len(bad), kinds.get(c))
                    bad |= wrong
                frame = pd.DataFrame(data)
                others = [r[0] for r, g in zip(rows, good) if not g] + frame.loc[bad, "id"].tolist()
                frame = frame[~bad]
                if others:
                    records = self._decode(con, self._rows_by_id(con, sorted(others)), skipped)
                    if records:
                        decoded = runs_frame(records).reindex(columns=columns)
                        filled = {n: decoded[n].astype(object).where(decoded[n].notna(), None).tolist() for n in optional}
                        filled["study"] = decoded["study"].tolist()
                        _fill_defaults(filled, optional)
                        for n in optional:
                            decoded[n] = pd.Series(filled[n], index=decoded.index, dtype=object)
                        frame = pd.concat([frame, decoded], ignore_index=True).sort_values("id", kind="stable")
                        frame = pd.DataFrame({c: _typed(frame[c].tolist(), kinds.get(c))[0] for c in columns})  # as runs_frame types a column: by every value in it
                if len(frame):
                    yield frame.reset_index(drop=True)
                if len(rows) < chunk:
                    return

    def _complete_sql(self, names: Sequence[str]) -> str:
        """SQL that holds for a run of a known study with a seed and a value for every parameter it must have (all but
        the optional ones), each among `names`: a row this version wrote has them all."""
        from .studies import STUDIES

        cases = []
        for study_id, study in STUDIES.items():
            needed = [p.name for p in study.params if p.name != "seed" and not p.optional]
            test = " AND ".join(["seed IS NOT NULL", *(f"{self._col(n)} IS NOT NULL" for n in needed)])
            cases.append(f"WHEN {_sql_text(study_id)} THEN ({test if all(n in names for n in needed) else 0})")
        return f"(CASE study {' '.join(cases)} ELSE 0 END)"

    def _rows_by_id(self, con: sqlite3.Connection, ids: Sequence[int]) -> list[tuple]:
        out: list[tuple] = []
        for start in range(0, len(ids), 900):
            part = list(ids[start:start + 900])
            out += con.execute(f"{self._select()} WHERE id IN ({','.join('?' * len(part))}) ORDER BY id", part).fetchall()
        return out

    def records(self, ids: Sequence[int] | None = None, *, study: str | None = None, sweep_id: str | None = None,
                filter: RunFilter | None = None, with_history: bool = False, skipped: list[str] | None = None) -> list[dict[str, Any]]:
        """Runs as dicts {id, study, status, config, metrics, created_at, source, sweep_id[, history]}, oldest first.

        A stored row that cannot be read (a hand edit, an older version, a damaged disk) is left out,
        and one line saying why is appended to `skipped` when given.
        """
        return [r for part in self.iter_records(ids, study=study, sweep_id=sweep_id, filter=filter, with_history=with_history,
                                                skipped=skipped) for r in part]

    def runs(self, ids: Sequence[int] | None = None, *, study: str | None = None, sweep_id: str | None = None,
             filter: RunFilter | None = None, skipped: list[str] | None = None) -> pd.DataFrame:
        """A row per run: id, study, status, seed, fold, sweep_id, created_at, source, then every config
        parameter and every metric as its own column (one name per idea, so they never clash)."""
        parts = list(self.frames(self._filter(ids, study, sweep_id, filter), skipped=skipped))
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0] if parts else runs_frame([])

    def columns(self, filter: RunFilter | None = None) -> tuple[list[str], list[str]]:
        """The parameter and metric columns the runs table of the selection has, in `runs_frame`'s order (parameters as
        they first appear, run by run; metrics in the registry's order), without reading the runs: from the value
        columns in SQL, and from the JSON of the few rows this version did not write. Remembered while the store stays
        the same (a count per metric over 100,000 runs takes a quarter of a second, and a page asks on every rerun)."""
        config, metrics = self.memo(("columns", filter or EVERY_RUN), lambda: self._columns(filter))
        return list(config), list(metrics)

    def _columns(self, filter: RunFilter | None) -> tuple[list[str], list[str]]:
        from .metrics import METRICS
        from .studies import STUDIES

        filter = filter or EVERY_RUN
        where, params = self._where(filter, "checked = 1")
        first: dict[str, tuple[int, int]] = {}  # column → (id of the first run with it, its place in that run's config)
        for study_id, rid in self._query(f"SELECT study, MIN(id) FROM runs {where} GROUP BY study", params):
            for i, p in enumerate(STUDIES[study_id].params if study_id in STUDIES else ()):
                if p.name != "seed" and (p.name not in first or first[p.name] > (rid, i)):
                    first[p.name] = (rid, i)
        metric_names = [n for n in VALUE_KINDS if n not in PARAM_KINDS]
        extras = [self._col(n) for n in ("folds", "fold")]
        counts = ", ".join([*(f"MIN(CASE WHEN {c} IS NOT NULL THEN id END)" for c in extras),
                            *(f"COUNT({self._col(m)})" for m in metric_names)])
        row = self._query(f"SELECT {counts} FROM runs {where}", params)[0]
        if row[0] is not None:
            first.setdefault("folds", (row[0], 10_000))  # after every parameter of its run
        present = {m for m, n in zip(metric_names, row[2:]) if n}
        where, params = self._where(filter, "checked IS NOT 1")
        with self._connect() as con:
            for records in self._chunks(con, where, params, None):
                for rec in records:
                    for i, k in enumerate(rec["config"]):
                        if k not in ("seed", "fold") and (k not in first or first[k] > (rec["id"], i)):
                            first[k] = (rec["id"], i)
                    present |= set(rec["metrics"])
        config = sorted(first, key=first.get)
        order = {name: i for i, name in enumerate(METRICS)}
        return config, sorted((m for m in present if m not in first), key=lambda m: (order.get(m, len(order)), m))

    def page_records(self, filter: RunFilter | None = None, *, sort: str = "id", descending: bool = True, offset: int = 0,
                     limit: int = 100, skipped: list[str] | None = None) -> list[dict[str, Any]]:
        """One page of the selected runs in the order asked for (runs without a value of `sort` last)."""
        where, params = self._where(filter or EVERY_RUN)
        order = order_sql(sort, descending, self._present)
        with self._connect() as con:
            rows = con.execute(f"{self._select()} {where} {order} LIMIT ? OFFSET ?", [*params, int(limit), int(offset)]).fetchall()
            return self._decode(con, rows, skipped)

    def page(self, filter: RunFilter | None = None, *, sort: str = "id", descending: bool = True, offset: int = 0,
             limit: int = 100, skipped: list[str] | None = None) -> pd.DataFrame:
        """One page of the runs table (see `page_records`)."""
        return runs_frame(self.page_records(filter, sort=sort, descending=descending, offset=offset, limit=limit, skipped=skipped))

    def ids(self, filter: RunFilter | None = None, *, sort: str = "id", descending: bool = False,
            limit: int | None = None) -> list[int]:
        """Ids of the selected runs in the order asked for."""
        where, params = self._where(filter or EVERY_RUN)
        sql = f"SELECT id FROM runs {where} {order_sql(sort, descending, self._present)}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [r[0] for r in self._query(sql, params)]

    def distinct(self, name: str, filter: RunFilter | None = None) -> list[Any]:
        """The distinct values of a run field, parameter or metric among the selected runs, sorted (no value left out)."""
        where, params = self._where(filter or EVERY_RUN)
        col = self._col(name)
        kind = VALUE_KINDS.get(name, str)
        values = [as_kind(r[0], kind) for r in self._query(f"SELECT DISTINCT {col} FROM runs {where}", params) if r[0] is not None]
        return sorted(v for v in values if v is not _BAD)

    def values(self, filter: RunFilter | None = None, names: Sequence[str] = (), *, sort: str = "id", descending: bool = False,
               limit: int | None = None) -> pd.DataFrame:
        """A few columns of the selected runs (id, then `names`: run fields, parameters or metrics), one row per run,
        each column of its declared type: what a chart or a group statistic needs, without reading whole runs."""
        names = [n for n in dict.fromkeys(names) if n != "id"]
        where, params = self._where(filter or EVERY_RUN)
        select = ", ".join(["id", *(self._col(n) for n in names)])
        sql = f"SELECT {select} FROM runs {where} {order_sql(sort, descending, self._present)}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self._query(sql, params)
        columns = list(zip(*rows)) if rows else [() for _ in range(len(names) + 1)]
        frame = pd.DataFrame({"id": pd.array(columns[0], dtype="Int64")})
        for name, column in zip(names, columns[1:]):
            frame[name] = typed_column(column, VALUE_KINDS.get(name, str))
        return frame

    def column_stats(self, filter: RunFilter | None, names: Sequence[str]) -> pd.DataFrame:
        """Per name (parameter or metric): runs with a value, distinct values, lowest and highest, over the selection."""
        names = list(dict.fromkeys(names))
        if not names:
            return pd.DataFrame(columns=["name", "count", "distinct", "min", "max"])
        where, params = self._where(filter or EVERY_RUN)
        parts = [f"COUNT({c}), COUNT(DISTINCT {c}), MIN({c}), MAX({c})" for c in map(self._col, names)]
        row = self._query(f"SELECT COUNT(*), {', '.join(parts)} FROM runs {where}", params)[0]
        stats = [(n, *row[1 + 4 * i: 5 + 4 * i]) for i, n in enumerate(names)]
        frame = pd.DataFrame(stats, columns=["name", "count", "distinct", "min", "max"])
        frame.attrs["runs"] = int(row[0])
        return frame

    def group(self, filter: RunFilter | None, by: str, metrics: Sequence[str]) -> pd.DataFrame:
        """Mean and sample std of metrics per value of `by` over the selected runs that have one, and the number of runs,
        computed in SQL: the columns of core.compare.summary_by (`by`, runs, '<metric> mean', '<metric> std')."""
        metrics = [m for m in dict.fromkeys(metrics) if m != by]
        where, params = self._where(filter or EVERY_RUN, f"{self._col(by)} IS NOT NULL")
        cols = [self._col(m) for m in metrics]
        inner = ", ".join([f"{self._col(by)} AS k", *(f"{c} AS v{i}" for i, c in enumerate(cols))])
        means = ", ".join(["k", "COUNT(*) AS n", *(f"AVG(v{i}) AS a{i}, COUNT(v{i}) AS c{i}" for i in range(len(cols)))])
        spread = ", ".join(f"SUM((s.v{i} - g.a{i}) * (s.v{i} - g.a{i})) / NULLIF(g.c{i} - 1, 0)" for i in range(len(cols)))
        sql = (f"WITH s AS (SELECT {inner} FROM runs {where}), g AS (SELECT {means} FROM s GROUP BY k) "
               f"SELECT g.k, g.n{''.join(f', g.a{i}' for i in range(len(cols)))}{', ' + spread if spread else ''} "
               "FROM g JOIN s ON s.k = g.k GROUP BY g.k ORDER BY g.k")
        rows = self._query(sql, params)
        k = len(cols)
        table = pd.DataFrame({by: typed_column([r[0] for r in rows], VALUE_KINDS.get(by, str)),
                              "runs": np.array([r[1] for r in rows], dtype=np.int64)})
        for i, m in enumerate(metrics):
            table[f"{m} mean"] = np.array([r[2 + i] for r in rows], dtype=float)
            table[f"{m} std"] = np.sqrt(np.array([r[2 + k + i] for r in rows], dtype=float).clip(min=0))
        return table

    def group_history(self, filter: RunFilter | None, by: str, y: str = "loss") -> pd.DataFrame:
        """Mean, sample std and count of `y` (loss or acc) per value of `by` × split × epoch over the histories of the
        selected runs that have a value of `by`: core.compare.group_history's frame, read a chunk of runs at a time."""
        if y not in ("loss", "acc"):
            raise ValueError(f"group history: y = {y!r} is not allowed; expected loss or acc")
        col = self._col(by)
        acc = _Accumulator()
        if col != "NULL":
            where, params = self._where(filter or EVERY_RUN, f"{col} IS NOT NULL")
            # one pass over the join, a chunk of runs at a time, their packed arrays summed as they come (no frame per row)
            sql = (f"SELECT r.k, h.epoch, h.split, h.loss, h.acc FROM (SELECT id, {col} AS k FROM runs {where}) r "
                   "JOIN histories h ON h.run_id = r.id")
            with self._connect() as con:
                cursor = con.execute(sql, params)
                while rows := cursor.fetchmany(CHUNK):
                    acc.add_packed(rows, y)
        return acc.frame(by, VALUE_KINDS.get(by, str))

    # --- reading: histories and sweeps ---------------------------------------------------------------

    def _histories(self, con: sqlite3.Connection, run_ids: Sequence[int] | None) -> pd.DataFrame:
        if run_ids is None:
            return unpack_histories(con.execute("SELECT run_id, epoch, split, loss, acc FROM histories ORDER BY run_id").fetchall())
        ids = sorted({int(i) for i in run_ids if -MAX_INT <= int(i) <= MAX_INT})
        rows: list[tuple] = []
        for start in range(0, len(ids), 900):
            part = ids[start:start + 900]
            rows += con.execute(f"SELECT run_id, epoch, split, loss, acc FROM histories WHERE run_id IN ({','.join('?' * len(part))}) "
                                "ORDER BY run_id", part).fetchall()
        return unpack_histories(rows)

    def history(self, run_ids: Sequence[int] | None = None) -> pd.DataFrame:
        """A row per run × epoch × split (run_id, epoch, split, loss, acc) of the given runs only (every run's: None);
        rows that cannot be read are left out."""
        if run_ids is not None and len(run_ids) == 0:
            return _empty_history()
        with self._connect() as con:
            return self._histories(con, run_ids)

    def sweeps(self, ids: Sequence[str] | None = None, *, limit: int | None = None) -> pd.DataFrame:
        """A row per sweep (the latest first when `limit` is given): id, study, settings (dict), created_at, runs (stored
        so far); unreadable ones left out."""
        where, params = "", []
        if ids is not None:
            ids = [str(i) for i in ids]
            where, params = f"WHERE s.id IN ({','.join('?' * len(ids))})", ids
        order = "ORDER BY s.created_at DESC LIMIT " + str(int(limit)) if limit is not None else "ORDER BY s.created_at"
        rows = self._query(
            "SELECT s.id, s.study, s.settings, s.created_at, (SELECT COUNT(*) FROM runs r WHERE r.sweep_id = s.id) "
            f"FROM sweeps s {where} {order}", params)
        if limit is not None:
            rows.reverse()
        good = []
        for i, st, se, c, n in rows:
            try:
                settings = json.loads(se) if isinstance(se, str) else None
            except (ValueError, RecursionError):
                settings = None
            if isinstance(settings, dict) and all(isinstance(v, str) for v in (i, st, c)):
                good.append((i, st, settings, c, n))
        return pd.DataFrame(good, columns=["id", "study", "settings", "created_at", "runs"])

    def sweep_count(self) -> int:
        """Number of stored sweeps."""
        return int(self._query("SELECT COUNT(*) FROM sweeps")[0][0])


class _Accumulator:
    """Mean, M2 and count per (group, split, epoch), merged chunk by chunk (Chan et al.), so a std over many runs stays exact."""

    def __init__(self) -> None:
        self.groups: dict[Any, int] = {}
        self.n = np.zeros(0)
        self.mean = np.zeros(0)
        self.m2 = np.zeros(0)

    def add_packed(self, rows: Sequence[tuple], y: str) -> None:
        """History rows (group key, then epoch, split, loss and acc blobs as `pack_history` writes them) added for `y`;
        rows that cannot be read are left out, as `unpack_histories` leaves them out."""
        keys, counts, epochs, splits, values = [], [], [], [], []
        for key, epoch, split, loss, acc in rows:
            if not (type(epoch) is bytes and type(split) is bytes and type(loss) is bytes and (acc is None or type(acc) is bytes)):
                continue
            n = len(split)
            if len(epoch) != 2 * n or len(loss) != 8 * n or (acc is not None and len(acc) != 8 * n):
                continue
            value = loss if y == "loss" else acc
            if value is None:
                continue  # no accuracy recorded: nothing to add
            keys.append(key)
            counts.append(n)
            epochs.append(epoch)
            splits.append(split)
            values.append(value)
        if not keys:
            return
        for k in keys:
            if k not in self.groups:
                self.groups[k] = len(self.groups)
        group = np.repeat(np.fromiter((self.groups[k] for k in keys), dtype=np.int64, count=len(keys)), counts)
        self.add(group, np.frombuffer(b"".join(splits), "u1").astype(np.int64),
                 np.frombuffer(b"".join(epochs), "<u2").astype(np.int64), np.frombuffer(b"".join(values), "<f8"))

    def add(self, group: np.ndarray, split_code: np.ndarray, epochs: np.ndarray, values: np.ndarray) -> None:
        """Values with their group's index (in `groups`), split code and epoch, merged into the running statistics."""
        good = ~np.isnan(values) & (epochs <= MAX_EPOCH) & (split_code < len(SPLITS)) & (split_code >= 0)
        group, split_code, epochs, values = group[good], split_code[good], epochs[good], values[good]
        if not len(values):
            return
        cell = (group * len(SPLITS) + split_code) * (MAX_EPOCH + 1) + epochs
        size = len(self.groups) * len(SPLITS) * (MAX_EPOCH + 1)
        n = np.bincount(cell, minlength=size).astype(float)
        total = np.bincount(cell, weights=values, minlength=size)
        mean = np.divide(total, n, out=np.zeros(size), where=n > 0)
        m2 = np.bincount(cell, weights=(values - mean[cell]) ** 2, minlength=size)
        self._grow(size)
        both = self.n + n
        delta = mean - self.mean
        with np.errstate(invalid="ignore", divide="ignore"):
            self.mean = np.where(both > 0, self.mean + delta * np.divide(n, both, out=np.zeros(size), where=both > 0), 0.0)
            self.m2 = self.m2 + m2 + delta**2 * np.divide(self.n * n, both, out=np.zeros(size), where=both > 0)
        self.n = both

    def _grow(self, size: int) -> None:
        if len(self.n) < size:
            pad = size - len(self.n)
            self.n, self.mean, self.m2 = (np.concatenate([a, np.zeros(pad)]) for a in (self.n, self.mean, self.m2))

    def frame(self, by: str, kind: type) -> pd.DataFrame:
        cells = np.flatnonzero(self.n > 0)
        keys = list(self.groups)
        group, rest = np.divmod(cells, len(SPLITS) * (MAX_EPOCH + 1))
        split, epoch = np.divmod(rest, MAX_EPOCH + 1)
        n = self.n[cells]
        with np.errstate(invalid="ignore", divide="ignore"):
            std = np.where(n > 1, np.sqrt(self.m2[cells] / np.maximum(n - 1, 1)), 0.0)
        out = pd.DataFrame({by: typed_column([keys[g] for g in group.tolist()], kind),
                            "split": np.array(SPLITS, dtype=object)[split], "epoch": epoch.astype(np.int64),
                            "mean": self.mean[cells], "std": std, "count": n.astype(np.int64)})
        out = out.sort_values([by, "split", "epoch"], kind="stable").reset_index(drop=True)
        out["lower"] = out["mean"] - out["std"]
        out["upper"] = out["mean"] + out["std"]
        return out


_DTYPES = {int: "Int64", bool: "boolean", float: "float64", str: object}
def _typed(values: Sequence[Any], kind: type | None) -> tuple[Any, np.ndarray]:
    """Stored values as a column of their declared kind (Int64, boolean, float64; text as pandas infers it), and which
    rows hold a value that is not of that kind (a damaged row: read from its JSON instead). Checked column-wise; cell
    by cell only when a column holds such a value."""
    wrong = np.zeros(len(values), dtype=bool)
    if kind is None or kind is str:
        if len(values) and all(v is None or type(v) is float and v != v for v in values):
            return np.full(len(values), np.nan), wrong  # no value at all: as runs_frame leaves a column no record has
        if kind is str and not all(v is None or type(v) is str and len(v) <= MAX_TEXT for v in values):
            wrong = np.array([as_kind(v, str) is _BAD for v in values], dtype=bool)
        return pd.Series(values, dtype=None if len(values) else object).infer_objects(), wrong
    try:
        if kind is float:
            column = np.array(values, dtype=float)  # None: NaN; text raises
            if not all(v is None or type(v) is float or type(v) is int and abs(v) <= MAX_INT for v in values):
                raise ValueError
            return column, wrong
        column = pd.array(values, dtype=_DTYPES[kind])
        if kind is int and (pd.Series(column).abs() > MAX_INT).any():
            raise ValueError
        return column, wrong
    except (TypeError, ValueError, OverflowError):
        pass
    checked = [as_kind(v, kind) for v in values]
    wrong = np.array([v is _BAD for v in checked], dtype=bool)
    return pd.array([None if v is _BAD else v for v in checked], dtype=_DTYPES[kind]), wrong


def _sql_text(text: str) -> str:
    """A SQL string literal (study ids are declared in code, but quoted properly all the same)."""
    return "'" + text.replace("'", "''") + "'"


def _plain_kind(values: Sequence[Any], kind: type | None) -> bool:
    """Whether a column's stored values are all of its kind as they are (None: no value), checked at C speed: floats
    (a whole number stored for a float is not: the frame reads it), whole numbers in range, yes/no as 0 and 1, text
    not too long."""
    types = set(map(type, values))
    types.discard(type(None))
    if not types or kind is None:
        return True
    present = [v for v in values if v is not None]
    if kind is float:
        return types == {float}
    if kind is str:
        return types == {str} and max(map(len, present)) <= MAX_TEXT
    if kind is bool:
        return types == {int} and set(present) <= {0, 1}
    return types == {int} and -MAX_INT <= min(present) and max(present) <= MAX_INT


def _optional_defaults(name: str) -> dict[str, Any]:
    """study id → the default of optional parameter `name`, for the studies declaring it so."""
    from .studies import STUDIES

    return {sid: p.default for sid, s in STUDIES.items() for p in s.params if p.name == name and p.optional}


def _fill_defaults(raw: dict[str, Any], names: Sequence[str]) -> None:
    """The rows of studies declaring these optional parameters that left them out (at their default) get the default,
    as `runs_frame` fills them where some run of the table holds one (`_fill_optional`)."""
    for name in names:
        defaults = _optional_defaults(name)
        values = raw.get(name)
        if values is not None and len(values):
            raw[name] = [defaults.get(study, v) if v is None else v for v, study in zip(values, raw["study"])]


def typed_column(values: Sequence[Any], kind: type) -> pd.Series | pd.api.extensions.ExtensionArray:
    """Stored values as a column of their declared kind: Int64 and boolean keep missing values, floats NaN, text object."""
    values = [as_kind(v, kind) for v in values]
    values = [None if v is _BAD else v for v in values]
    if kind is int:
        return pd.array(values, dtype="Int64")
    if kind is bool:
        return pd.array(values, dtype="boolean")
    if kind is float:
        return np.array([np.nan if v is None else v for v in values], dtype=float)
    return np.array(values, dtype=object)


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(f"{path}{suffix}")
        except OSError:
            pass


def runs_frame(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Flatten run records into the runs table: fixed columns, then config, then metrics."""
    rows, config_cols, metric_cols = [], {}, {}
    for r in records:
        cfg, met = r["config"], r["metrics"]
        row = {
            "id": r.get("id"), "study": r["study"], "status": r["status"], "seed": cfg.get("seed"), "fold": cfg.get("fold"),
            "sweep_id": r.get("sweep_id"), "created_at": r.get("created_at"), "source": r.get("source", "local"),
        }
        for k, v in cfg.items():
            if k not in ("seed", "fold"):
                config_cols.setdefault(k, None)
                row[k] = v
        for k, v in met.items():
            metric_cols.setdefault(k, None)
            row[k] = v
        rows.append(row)
    _fill_optional(records, rows, config_cols)
    from .metrics import METRICS

    order = {name: i for i, name in enumerate(METRICS)}
    metrics = sorted((m for m in metric_cols if m not in config_cols), key=lambda m: order.get(m, len(order)))
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS + list(config_cols) + metrics)
    for col in ("id", "seed", "fold"):
        frame[col] = frame[col].astype("Int64")
    for c in config_cols:  # whole-number and yes/no parameters stay so where other studies lack them
        values = [row[c] for row in rows if row.get(c) is not None]
        if values and all(isinstance(v, bool) for v in values):
            frame[c] = frame[c].astype("boolean")
        elif values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            frame[c] = frame[c].astype("Int64")
    for m in metrics:  # integer and yes/no metrics stay so where some runs lack them
        kind = METRICS[m].kind if m in METRICS else float
        if kind is int:
            frame[m] = pd.to_numeric(frame[m]).astype("Int64")
        elif kind is bool:
            frame[m] = frame[m].astype("boolean")
    return frame


def _fill_optional(records: Sequence[dict[str, Any]], rows: list[dict[str, Any]], columns: dict[str, None]) -> None:
    """Where a column holds an optional parameter (core.params.Param.optional), the runs that leave it out get its
    default: a sweep over n_classes keeps its point at 2, a CSV run's columns read as none for the other runs."""
    from .studies import STUDIES

    for record, row in zip(records, rows):
        study = STUDIES.get(record["study"])
        for p in study.params if study is not None else ():
            if p.optional and p.name in columns and p.name not in row:
                row[p.name] = p.default


def _float_or_none(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


__all__ = ["Condition", "HISTORY_COLUMNS", "RUN_COLUMNS", "RunFilter", "Store", "StoreError", "default_path", "fingerprint",
           "runs_frame", "to_json"]
