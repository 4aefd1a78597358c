"""Sharing result tables: export runs as CSV, JSON, Parquet or Markdown, and import them back.

Exports carry each run's full config, so any run can be re-run from the table. Imports are
checked completely before anything is written (unknown columns, wrong types, unknown studies,
files that are not tables, files over the size limit are refused with a message), then land
in one transaction: a refused import leaves the store unchanged.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from .metrics import METRICS
from .store import RUN_COLUMNS, Store, fingerprint, runs_frame, to_json

FORMATS = ("csv", "json", "parquet", "markdown")
MAX_IMPORT_BYTES = 50 * 1024 * 1024
STATUSES = ("ok", "diverged", "cancelled")
RUN_EXTRAS = ("fold", "folds")  # config keys that are not study parameters
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ImportRefused(ValueError):
    """An import that was refused; the store was not changed."""


# --- export ----------------------------------------------------------------------------------


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula (=, +, -, @) with a quote."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return out


def csv_text(frame: pd.DataFrame) -> str:
    """A DataFrame as CSV text that is safe to open in a spreadsheet: the one CSV writer of the project."""
    return neutralise_formulas(frame).to_csv(index=False)


def _md_cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table, floats at full precision so it imports back exactly."""
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_md_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def export_runs(records: Sequence[dict[str, Any]], fmt: str) -> bytes:
    """Runs (store records) in one of FORMATS; JSON keeps per-epoch histories when the records have them."""
    if fmt not in FORMATS:
        raise ValueError(f"format: {fmt!r} is not allowed; expected one of {'|'.join(FORMATS)}")
    if fmt == "json":
        return (json.dumps(json.loads(to_json(list(records))), indent=1) + "\n").encode()
    frame = runs_frame(records)
    if fmt == "csv":
        return csv_text(frame).encode()
    if fmt == "markdown":
        return to_markdown(frame).encode()
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def format_table(frame: pd.DataFrame, fmt: str) -> str:
    """A DataFrame as text for the terminal: table, csv, json or markdown."""
    if fmt == "csv":
        return csv_text(frame)
    if fmt == "markdown":
        return to_markdown(frame)
    if fmt == "json":
        return frame.to_json(orient="records", indent=1)
    with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 40):
        return frame.to_string(index=False)


# --- import ----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    added: list[int]
    skipped: int  # rows already in the store (same fingerprint)


def read_any(data: bytes, name: str) -> list[dict[str, Any]] | pd.DataFrame:
    """Parse file contents by extension: a list of records (JSON) or a DataFrame (CSV, Parquet, Markdown)."""
    suffix = Path(name).suffix.lower()
    try:
        if suffix == ".json":
            parsed = json.loads(data.decode("utf-8"))
            if isinstance(parsed, dict) and "runs" in parsed:
                parsed = parsed["runs"]
            if not isinstance(parsed, list) or not all(isinstance(r, dict) for r in parsed):
                raise ImportRefused(f"{name}: a JSON export is a list of runs ({{'study', 'config', 'metrics', 'status'}}); this is not")
            return parsed
        if suffix == ".csv":
            return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(io.BytesIO(data))
        if suffix in (".md", ".markdown"):
            return parse_markdown(data.decode("utf-8"))
    except ImportRefused:
        raise
    except Exception as exc:
        raise ImportRefused(f"{name}: not a readable {suffix.lstrip('.')} table ({type(exc).__name__}: {str(exc)[:200]})") from None
    raise ImportRefused(f"{name}: unknown file type {suffix or '(none)'}; expected .csv, .json, .parquet or .md")


def _markdown_cells(line: str) -> list[str]:
    cells, cell, escaped = [], [], False
    for ch in line.strip()[1:]:  # skip the leading pipe
        if escaped:
            cell.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "|":
            cells.append("".join(cell).strip())
            cell = []
        else:
            cell.append(ch)
    if "".join(cell).strip():
        cells.append("".join(cell).strip())  # a row without its closing pipe
    return cells


def parse_markdown(text: str) -> pd.DataFrame:
    """Parse the first pipe table in Markdown text (cells as strings, escaped pipes allowed)."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        if line.strip().startswith("|"):
            rows.append(_markdown_cells(line))
        elif rows:
            break
    if len(rows) < 2 or not all(c and set(c) <= set("-: ") for c in rows[1]):
        raise ValueError("no Markdown table (a header row, a --- row, then rows)")
    header, body = rows[0], rows[2:]
    if any(len(r) != len(header) for r in body):
        raise ValueError("rows do not have as many cells as the header")
    return pd.DataFrame(body, columns=header)


def _blank(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v.strip() == "")


def _unquote(v: Any) -> Any:
    if isinstance(v, str) and len(v) > 1 and v[0] == "'" and v[1] in _FORMULA_START:
        return v[1:]
    return v


def _metric_value(name: str, v: Any, where: str) -> Any:
    if _blank(v):
        return math.nan
    kind = METRICS[name].kind
    try:
        if kind is bool:
            if isinstance(v, str):
                if v.strip().lower() in ("true", "1"):
                    return True
                if v.strip().lower() in ("false", "0"):
                    return False
                raise ValueError
            return bool(v)
        number = float(v)
        if kind is int:
            if not number.is_integer():
                raise ValueError
            return int(number)
        return number
    except (TypeError, ValueError):
        raise ImportRefused(f"{where}: metric {name} = {v!r} is not a {kind.__name__}") from None


def frame_to_records(frame: pd.DataFrame, name: str) -> list[dict[str, Any]]:
    """Turn an exported runs table back into run records, checking every column and value."""
    from .studies import STUDIES

    if frame.empty and len(frame.columns) == 0:
        raise ImportRefused(f"{name}: the table has no columns")
    missing = [c for c in ("study", "status") if c not in frame.columns]
    if missing:
        raise ImportRefused(f"{name}: missing column(s) {', '.join(missing)}; an export has {', '.join(RUN_COLUMNS)} then parameters and metrics")
    params = {p.name for s in STUDIES.values() for p in s.params}
    known = set(RUN_COLUMNS) | params | set(METRICS) | set(RUN_EXTRAS)
    unknown = [str(c) for c in frame.columns if c not in known]
    if unknown:
        raise ImportRefused(f"{name}: unknown column(s) {', '.join(unknown)}; columns must be run fields, study parameters or metrics")
    records = []
    for i, row in enumerate(frame.to_dict("records")):
        row = {k: _unquote(v) for k, v in row.items()}
        where = f"{name} row {i + 1}"
        study_id = row["study"]
        if study_id not in STUDIES:
            raise ImportRefused(f"{where}: unknown study {study_id!r}")
        study = STUDIES[study_id]
        config = {p.name: row[p.name] for p in study.params if p.name in row and not _blank(row[p.name])}
        if "seed" in row and not _blank(row["seed"]):
            config["seed"] = row["seed"]
        absent = [p.name for p in study.params if p.name not in config]
        if absent:
            raise ImportRefused(f"{where}: study {study_id} needs parameter column(s) {', '.join(absent)}")
        extras = {k: row[k] for k in RUN_EXTRAS if k in row and not _blank(row[k])}
        metrics = {m: _metric_value(m, row[m], where) for m in METRICS if m in row and not _blank(row[m])}
        records.append({"study": study_id, "status": row["status"], "config": {**config, **extras}, "metrics": metrics,
                        "created_at": None if _blank(row.get("created_at")) else row["created_at"]})
    return records


def check_record(rec: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate one run record (types, ranges, known study and metrics); returns it normalised."""
    from .studies import STUDIES

    if not isinstance(rec, dict):
        raise ImportRefused(f"{where}: a run must be an object")
    missing = [k for k in ("study", "config", "metrics", "status") if k not in rec]
    if missing:
        raise ImportRefused(f"{where}: missing {', '.join(missing)}")
    study = STUDIES.get(rec["study"])
    if study is None:
        raise ImportRefused(f"{where}: unknown study {rec['study']!r}")
    if rec["status"] not in STATUSES:
        raise ImportRefused(f"{where}: status {rec['status']!r} is not one of {'|'.join(STATUSES)}")
    if not isinstance(rec["config"], dict) or not isinstance(rec["metrics"], dict):
        raise ImportRefused(f"{where}: config and metrics must be objects")
    cfg_in = dict(rec["config"])
    extras = {k: cfg_in.pop(k) for k in RUN_EXTRAS if k in cfg_in}
    absent = [p.name for p in study.params if p.name not in cfg_in]
    if absent:
        raise ImportRefused(f"{where}: study {study.id} needs parameter(s) {', '.join(absent)}")
    try:
        cfg = {p.name: p.validate(cfg_in[p.name]) for p in study.params}
        for name in cfg_in:
            study.param(name)
    except ValueError as exc:
        raise ImportRefused(f"{where}: {exc}") from None
    for k, v in extras.items():
        if _blank(v):
            continue
        try:
            number = float(v)
        except (TypeError, ValueError):
            raise ImportRefused(f"{where}: {k} = {v!r} is not a whole number") from None
        if not number.is_integer() or number < 0:
            raise ImportRefused(f"{where}: {k} = {v!r} is not a whole number")
        cfg[k] = int(number)
    unknown = [m for m in rec["metrics"] if m not in METRICS]
    if unknown:
        raise ImportRefused(f"{where}: unknown metric(s) {', '.join(unknown)}")
    metrics = {m: _metric_value(m, v, where) for m, v in rec["metrics"].items()}
    created = rec.get("created_at")
    if created is not None:
        try:
            datetime.fromisoformat(str(created))
        except ValueError:
            raise ImportRefused(f"{where}: created_at {created!r} is not an ISO date-time") from None
    history = rec.get("history") or []
    if not isinstance(history, list):
        raise ImportRefused(f"{where}: history must be a list of {{epoch, split, loss, acc}}")
    clean_history = []
    for h in history:
        try:
            if h["split"] not in ("train", "val", "test"):
                raise ValueError
            clean_history.append({"epoch": int(h["epoch"]), "split": h["split"],
                                  "loss": None if _blank(h.get("loss")) else float(h["loss"]),
                                  "acc": None if _blank(h.get("acc")) else float(h["acc"])})
        except (KeyError, TypeError, ValueError):
            raise ImportRefused(f"{where}: a history row is not {{epoch, split (train|val|test), loss, acc}}: {str(h)[:80]}") from None
    return {"study": study.id, "status": rec["status"], "config": cfg, "metrics": metrics,
            "created_at": None if created is None else str(created), "history": clean_history}


def import_bytes(store: Store, data: bytes, name: str, max_bytes: int = MAX_IMPORT_BYTES) -> ImportReport:
    """Check a whole exported file, then add its runs in one transaction (runs already stored are skipped)."""
    if len(data) > max_bytes:
        raise ImportRefused(f"{name}: {len(data) / 1e6:.1f} MB is over the import limit of {max_bytes / 1e6:.0f} MB")
    parsed = read_any(data, name)
    raw = frame_to_records(parsed, name) if isinstance(parsed, pd.DataFrame) else parsed
    if not raw:
        raise ImportRefused(f"{name}: no runs in the file")
    records = [check_record(r, f"{name} run {i + 1}") for i, r in enumerate(raw)]
    seen = store.fingerprints()
    fresh = []
    for rec in records:
        if rec["created_at"] is not None and fingerprint(rec) in seen:
            continue
        fresh.append({**rec, "source": f"import:{Path(name).name}"})
    added = store.save_records(fresh) if fresh else []
    return ImportReport(added, len(records) - len(fresh))


def import_file(store: Store, path: str | Path, max_bytes: int = MAX_IMPORT_BYTES) -> ImportReport:
    """Import an exported file from disk (see `import_bytes`)."""
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise ImportRefused(f"{path.name}: {size / 1e6:.1f} MB is over the import limit of {max_bytes / 1e6:.0f} MB")
    return import_bytes(store, path.read_bytes(), path.name, max_bytes)
