"""The results store: SQLite with a row per run and a row per run × epoch × split of history.

The file is `--db PATH`, else $OVERFIT_LAB_DB, else ./overfit_lab.db. WAL mode and one short
transaction per write let several dashboard sessions and sweep workers write at once; each
operation opens its own connection, so a Store can be shared across threads and processes.
Reads return pandas DataFrames.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import pandas as pd

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

RUN_COLUMNS = ["id", "study", "status", "seed", "fold", "sweep_id", "created_at", "source"]
HISTORY_COLUMNS = ["run_id", "epoch", "split", "loss", "acc"]


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
    """A hash of what makes a run this run (study, config, metrics, status, time): spots re-imports."""
    key = to_json({k: record.get(k) for k in ("study", "config", "metrics", "status", "created_at")}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class Store:
    """Runs and their histories in one SQLite file."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_path()
        if self.path.parent and not self.path.parent.exists():
            raise ValueError(f"db: folder {self.path.parent} does not exist")
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout=60000")
            con.execute("PRAGMA foreign_keys=ON")
            yield con
        finally:
            con.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction: all of it lands or none of it."""
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
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
        """Store run records ({study, config, metrics, status, created_at?, history?}) in one transaction."""
        ids = []
        with self._write() as con:
            for rec in records:
                created = rec.get("created_at") or now()
                full = {**rec, "created_at": created}
                config, metrics = rec["config"], rec["metrics"]
                cur = con.execute(
                    "INSERT INTO runs (study, status, seed, fold, sweep_id, config, metrics, duration_s, created_at, source, fingerprint)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        rec["study"], rec["status"], config.get("seed"), config.get("fold"),
                        rec.get("sweep_id", sweep_id), to_json(config), to_json(metrics),
                        _float_or_none(metrics.get("duration_s")), created, rec.get("source", source), fingerprint(full),
                    ),
                )
                run_id = int(cur.lastrowid)
                ids.append(run_id)
                rows = [
                    (run_id, int(h["epoch"]), str(h["split"]), _float_or_none(h.get("loss")), _float_or_none(h.get("acc")))
                    for h in rec.get("history") or []
                ]
                con.executemany("INSERT INTO history (run_id, epoch, split, loss, acc) VALUES (?, ?, ?, ?, ?)", rows)
        return ids

    def delete_runs(self, ids: Iterable[int]) -> int:
        """Delete runs (and their histories); returns how many were deleted."""
        ids = [int(i) for i in ids]
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
        return {r[0] for r in self._query("SELECT fingerprint FROM runs")}

    def records(self, ids: Sequence[int] | None = None, *, study: str | None = None, sweep_id: str | None = None,
                with_history: bool = False) -> list[dict[str, Any]]:
        """Runs as dicts {id, study, status, config, metrics, created_at, source, sweep_id[, history]}, oldest first."""
        where, params = self._where(ids, study, sweep_id)
        rows = self._query(f"SELECT id, study, status, config, metrics, created_at, source, sweep_id FROM runs {where} ORDER BY id", params)
        out = []
        for rid, st, status, config, metrics, created, source, sweep in rows:
            out.append({
                "id": rid, "study": st, "status": status, "config": json.loads(config),
                "metrics": {k: (math.nan if v is None else v) for k, v in json.loads(metrics).items()},
                "created_at": created, "source": source, "sweep_id": sweep,
            })
        if with_history and out:
            hist = self.history([r["id"] for r in out])
            by_run = {rid: g.drop(columns="run_id").to_dict("records") for rid, g in hist.groupby("run_id")}
            for r in out:
                r["history"] = by_run.get(r["id"], [])
        return out

    def runs(self, ids: Sequence[int] | None = None, *, study: str | None = None, sweep_id: str | None = None) -> pd.DataFrame:
        """A row per run: id, study, status, seed, fold, sweep_id, created_at, source, then every config
        parameter and every metric as its own column (one name per idea, so they never clash)."""
        records = self.records(ids, study=study, sweep_id=sweep_id)
        return runs_frame(records)

    def history(self, run_ids: Sequence[int] | None = None) -> pd.DataFrame:
        """A row per run × epoch × split: run_id, epoch, split, loss, acc."""
        if run_ids is not None and len(run_ids) == 0:
            return pd.DataFrame(columns=HISTORY_COLUMNS)
        sql = "SELECT run_id, epoch, split, loss, acc FROM history"
        params: list[Any] = []
        if run_ids is not None:
            ids = [int(i) for i in run_ids]
            sql += f" WHERE run_id IN ({','.join('?' * len(ids))})"
            params = ids
        frame = pd.DataFrame(self._query(sql + " ORDER BY run_id, split, epoch", params), columns=HISTORY_COLUMNS)
        return frame.astype({"loss": float, "acc": float})

    def sweeps(self) -> pd.DataFrame:
        """A row per sweep: id, study, settings (dict), created_at, runs (stored so far)."""
        rows = self._query(
            "SELECT s.id, s.study, s.settings, s.created_at, COUNT(r.id) FROM sweeps s LEFT JOIN runs r ON r.sweep_id = s.id"
            " GROUP BY s.id ORDER BY s.created_at"
        )
        return pd.DataFrame([(i, st, json.loads(se), c, n) for i, st, se, c, n in rows], columns=["id", "study", "settings", "created_at", "runs"])

    @staticmethod
    def _where(ids, study, sweep_id) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if ids is not None:
            ids = [int(i) for i in ids]
            clauses.append(f"id IN ({','.join('?' * len(ids))})" if ids else "0")
            params += ids
        if study is not None:
            clauses.append("study = ?")
            params.append(study)
        if sweep_id is not None:
            clauses.append("sweep_id = ?")
            params.append(sweep_id)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


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


def _float_or_none(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None
