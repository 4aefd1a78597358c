"""The results store: SQLite with a row per run and a row per run × epoch × split of history.

The file is `--db PATH`, else $OVERFIT_LAB_DB, else ./overfit_lab.db. WAL mode and one short
transaction per write let several dashboard sessions and sweep workers write at once; each
operation opens its own connection, so a Store can be shared across threads and processes.
Reads return pandas DataFrames.

Every record is checked against the run schema (core.schema) before it is written, and every
stored row is checked again when read, so one bad row never breaks a table. A file that is not
a store, or is damaged or read-only, gives StoreError: one line naming the file and what to do.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import sqlite3
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import pandas as pd

from .schema import MAX_EPOCH, MAX_INT, RUN_COLUMNS, SPLITS, SchemaError, check_run, decode_stored, is_blank

SCHEMA = """
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

HISTORY_COLUMNS = ["run_id", "epoch", "split", "loss", "acc"]
_TABLES = {  # what makes a SQLite file an Overfit Lab store: these tables with (at least) these columns
    "runs": {"id", "study", "status", "seed", "fold", "sweep_id", "config", "metrics", "duration_s", "created_at", "source", "fingerprint"},
    "history": {"run_id", "epoch", "split", "loss", "acc"},
    "sweeps": {"id", "study", "settings", "created_at"},
}
_CREATE_TRIES = 40  # PRAGMA journal_mode=WAL can answer 'locked' at once while another process creates the file


class StoreError(ValueError):
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


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
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


class Store:
    """Runs and their histories in one SQLite file.

    A file that is not an Overfit Lab store (random bytes, another program's SQLite file, a damaged
    copy, a folder) raises StoreError with one line; a read-only file opens for reading, and any write
    to it raises StoreError before anything else happens (`for_writing=True` says so at once).
    """

    def __init__(self, path: str | Path | None = None, *, for_writing: bool = False):
        self.path = Path(path) if path else default_path()
        if self.path.is_dir():
            raise StoreError(f"results store {self.path}: is a folder, not a file; give a file path with --db or OVERFIT_LAB_DB")
        if self.path.parent and not self.path.parent.exists():
            raise StoreError(f"db: folder {self.path.parent} does not exist; create it or give another --db path")
        self.read_only = self.path.exists() and not _writable(self.path)
        if self.path.exists() and self.path.stat().st_size > 0:
            self._check_tables()  # before writing anything into a file that may be someone else's
        if not self.read_only:
            self._create()
        if for_writing:
            self.require_writable()

    def require_writable(self) -> "Store":
        """This store, or StoreError when it is read-only (say so before training, not after)."""
        if self.read_only:
            raise StoreError(f"results store {self.path}: the file is read-only, so runs cannot be stored; "
                             "make it writable, or give another --db path (listing and export still work)")
        return self

    def _create(self) -> None:
        """WAL mode and the schema, retried while other processes create the same new file."""
        for attempt in range(_CREATE_TRIES):
            try:
                with self._connect(explain=False) as con:
                    if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                        con.execute("PRAGMA journal_mode=WAL")
                    if not self._has_schema(con):
                        con.executescript("BEGIN IMMEDIATE;\n" + SCHEMA + "\nCOMMIT;")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or attempt == _CREATE_TRIES - 1:
                    raise self._explain(exc) from None
                time.sleep(min(0.01 * 2**attempt, 0.5) * (0.5 + random.random()))
            except sqlite3.Error as exc:
                raise self._explain(exc) from None

    @staticmethod
    def _has_schema(con: sqlite3.Connection) -> bool:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
        return {"runs", "history", "sweeps", "runs_study", "runs_sweep", "runs_fingerprint"} <= names

    def _check_tables(self) -> None:
        """StoreError unless the file is empty of tables or holds the store's tables with their columns."""
        with self._connect(read_only=True) as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
            ours = tables & set(_TABLES)
            if tables and not ours:
                listed = ", ".join(sorted(tables)[:5])
                raise StoreError(f"results store {self.path}: a SQLite file of another program (tables {listed}), not an "
                                 "Overfit Lab store; give another --db path (it was left unchanged)")
            for table in ours:
                columns = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
                missing = _TABLES[table] - columns
                if missing:
                    raise StoreError(f"results store {self.path}: its {table} table lacks column(s) {', '.join(sorted(missing))}, "
                                     "so another program or version made it; give another --db path (it was left unchanged)")

    def _explain(self, exc: sqlite3.Error) -> StoreError:
        """One line for a SQLite error: which file, what is wrong, what to do."""
        name = getattr(exc, "sqlite_errorname", "") or ""
        detail = " ".join(str(exc).split())
        where = f"results store {self.path}"
        if name == "SQLITE_NOTADB" or "not a database" in detail:
            return StoreError(f"{where}: not a SQLite database (it holds other bytes, or its first page is damaged); "
                              "move it aside or give another --db path")
        if name.startswith("SQLITE_CORRUPT") or "malformed" in detail:
            return StoreError(f"{where}: the file is damaged ({detail}); restore a backup, or move it aside to start a new store")
        if name.startswith("SQLITE_READONLY") or "readonly" in detail:
            self.read_only = True
            return StoreError(f"{where}: read-only ({detail}), so runs cannot be stored; make the file and its folder "
                              "writable, or give another --db path")
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in detail:
            return StoreError(f"{where}: still locked by another process after waiting; try again when it has finished")
        if name.startswith("SQLITE_CANTOPEN") or "unable to open" in detail:
            return StoreError(f"{where}: cannot be opened ({detail}); check that it is a file in a folder you can read and write")
        if name.startswith("SQLITE_FULL"):
            return StoreError(f"{where}: the disk is full; free some space and try again (nothing was stored)")
        return StoreError(f"{where}: {detail}")

    @contextmanager
    def _connect(self, *, read_only: bool | None = None, explain: bool = True) -> Iterator[sqlite3.Connection]:
        read_only = self.read_only if read_only is None else read_only
        try:
            if read_only:
                con = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True, timeout=60, isolation_level=None)
            else:
                con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
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
            h = result.history
            if h is not None and len(h):  # column-wise: much faster than a dict per row
                record["history"] = [dict(zip(("epoch", "split", "loss", "acc"), row))
                                     for row in zip(h["epoch"].tolist(), h["split"].tolist(), h["loss"].tolist(), h["acc"].tolist())]
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
            where = "run" if len(records) == 1 else f"run {i + 1} of {len(records)}"
            full = check_run({"sweep_id": sweep_id, "source": source, **rec} if isinstance(rec, dict) else rec, where)
            full["created_at"] = full["created_at"] or now()
            full.setdefault("source", source)
            clean.append(full)
        ids = []
        with self._write() as con:
            for rec in clean:
                config, metrics = rec["config"], rec["metrics"]
                cur = con.execute(
                    "INSERT INTO runs (study, status, seed, fold, sweep_id, config, metrics, duration_s, created_at, source, fingerprint)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        rec["study"], rec["status"], config.get("seed"), config.get("fold"), rec.get("sweep_id"),
                        to_json(config), to_json(metrics), _float_or_none(metrics.get("duration_s")), rec["created_at"],
                        rec["source"], fingerprint(rec),
                    ),
                )
                run_id = int(cur.lastrowid)
                ids.append(run_id)
                rows = [(run_id, h["epoch"], h["split"], h["loss"], h["acc"]) for h in rec["history"]]
                con.executemany("INSERT INTO history (run_id, epoch, split, loss, acc) VALUES (?, ?, ?, ?, ?)", rows)
        return ids

    def delete_runs(self, ids: Iterable[int]) -> int:
        """Delete runs (and their histories); returns how many were deleted."""
        ids = [int(i) for i in ids if -MAX_INT <= int(i) <= MAX_INT]
        if not ids:
            return 0
        with self._write() as con:
            marks = ",".join("?" * len(ids))
            con.execute(f"DELETE FROM history WHERE run_id IN ({marks})", ids)
            return con.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids).rowcount

    def create_sweep(self, study: str, settings: dict[str, Any]) -> str:
        """Record a sweep's settings; returns its id."""
        sweep_id = uuid.uuid4().hex[:12]
        with self._write() as con:
            con.execute("INSERT INTO sweeps (id, study, settings, created_at) VALUES (?, ?, ?, ?)", (sweep_id, study, to_json(settings), now()))
        return sweep_id

    # --- reading -----------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._connect() as con:
            return con.execute(sql, params).fetchall()

    def count(self) -> int:
        """Number of stored runs."""
        return int(self._query("SELECT COUNT(*) FROM runs")[0][0])

    def fingerprints(self) -> set[str]:
        """The fingerprint of every readable stored run (computed afresh, so older rows compare alike)."""
        return {fingerprint(r) for r in self.records()}

    def records(self, ids: Sequence[int] | None = None, *, study: str | None = None, sweep_id: str | None = None,
                with_history: bool = False, skipped: list[str] | None = None) -> list[dict[str, Any]]:
        """Runs as dicts {id, study, status, config, metrics, created_at, source, sweep_id[, history]}, oldest first.

        A stored row that cannot be read (a hand edit, an older version, a damaged disk) is left out,
        and one line saying why is appended to `skipped` when given.
        """
        where, params = self._where(ids, study, sweep_id)
        rows = self._query(f"SELECT id, study, status, config, metrics, created_at, source, sweep_id FROM runs {where} ORDER BY id", params)
        out = []
        for row in rows:
            try:
                out.append(decode_stored(row))
            except SchemaError as exc:
                if skipped is not None:
                    skipped.append(f"{exc}; left out")
        if with_history and out:
            hist = self.history([r["id"] for r in out])
            by_run = {rid: g.drop(columns="run_id").to_dict("records") for rid, g in hist.groupby("run_id")}
            for r in out:
                r["history"] = by_run.get(r["id"], [])
        return out

    def runs(self, ids: Sequence[int] | None = None, *, study: str | None = None, sweep_id: str | None = None,
             skipped: list[str] | None = None) -> pd.DataFrame:
        """A row per run: id, study, status, seed, fold, sweep_id, created_at, source, then every config
        parameter and every metric as its own column (one name per idea, so they never clash)."""
        records = self.records(ids, study=study, sweep_id=sweep_id, skipped=skipped)
        return runs_frame(records)

    def history(self, run_ids: Sequence[int] | None = None) -> pd.DataFrame:
        """A row per run × epoch × split: run_id, epoch, split, loss, acc (rows that cannot be read are left out)."""
        if run_ids is not None and len(run_ids) == 0:
            return _empty_history()
        sql = "SELECT run_id, epoch, split, loss, acc FROM history"
        params: list[Any] = []
        if run_ids is not None:
            ids = [int(i) for i in run_ids if -MAX_INT <= int(i) <= MAX_INT]
            sql += f" WHERE run_id IN ({','.join('?' * len(ids))})"
            params = ids
        frame = pd.DataFrame(self._query(sql + " ORDER BY run_id, split, epoch", params), columns=HISTORY_COLUMNS)
        numbers = {c: pd.to_numeric(frame[c].map(_number_or_none), errors="coerce") for c in ("epoch", "loss", "acc")}
        good = numbers["epoch"].between(0, MAX_EPOCH) & frame["split"].isin(SPLITS)
        frame = frame.assign(**numbers)[good.to_numpy()]
        return frame.astype({"run_id": "int64", "epoch": "int64", "loss": float, "acc": float}).reset_index(drop=True)

    def sweeps(self) -> pd.DataFrame:
        """A row per sweep: id, study, settings (dict), created_at, runs (stored so far); unreadable ones left out."""
        rows = self._query(
            "SELECT s.id, s.study, s.settings, s.created_at, COUNT(r.id) FROM sweeps s LEFT JOIN runs r ON r.sweep_id = s.id"
            " GROUP BY s.id ORDER BY s.created_at"
        )
        good = []
        for i, st, se, c, n in rows:
            try:
                settings = json.loads(se) if isinstance(se, str) else None
            except (ValueError, RecursionError):
                settings = None
            if isinstance(settings, dict) and all(isinstance(v, str) for v in (i, st, c)):
                good.append((i, st, settings, c, n))
        return pd.DataFrame(good, columns=["id", "study", "settings", "created_at", "runs"])

    @staticmethod
    def _where(ids, study, sweep_id) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if ids is not None:
            ids = [int(i) for i in ids if -MAX_INT <= int(i) <= MAX_INT]  # no run has another id; SQLite cannot take them
            clauses.append(f"id IN ({','.join('?' * len(ids))})" if ids else "0")
            params += ids
        if study is not None:
            clauses.append("study = ?")
            params.append(study)
        if sweep_id is not None:
            clauses.append("sweep_id = ?")
            params.append(sweep_id)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _empty_history() -> pd.DataFrame:
    return pd.DataFrame(columns=HISTORY_COLUMNS)


def _number_or_none(v: Any) -> Any:
    """A stored cell as a number pandas can hold, or None (text, blobs and out-of-range values are no number)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return v if isinstance(v, float) or -MAX_INT <= v <= MAX_INT else None


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
