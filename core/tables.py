"""Sharing result tables: export runs as CSV, JSON, Parquet or Markdown, and import them back.

Exports carry each run's full config, so any run can be re-run from the table. Imports are
checked completely against the run schema (core.schema) before anything is written (unknown
columns, wrong types, out-of-range values, unknown studies, files that are not tables, files over
the size limit are refused with one line naming the row and field), then land in one
transaction: a refused import leaves the store unchanged.

CSV is written to be opened in a spreadsheet: every cell holding CR, LF, a comma or a quote is
quoted, and text that a spreadsheet would run as a formula gets a leading ' (at the start of the
cell and of every line in it), which import takes off again, so an export re-imports unchanged.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from .metrics import METRICS
from .params import short_repr
from .schema import MAX_TEXT, RUN_COLUMNS, RUN_EXTRAS, SchemaError, check_run, is_blank
from .store import Store, fingerprint, runs_frame, to_json

FORMATS = ("csv", "json", "parquet", "markdown")
MAX_IMPORT_BYTES = 50 * 1024 * 1024
_FORMULA = "=+\\-@\t\r"  # what a spreadsheet may run as a formula when a cell or a line in it starts with it
# a line start (the cell's, or after CR or LF) followed by quotes already there and a formula character:
_NEUTRALISE = re.compile(f"(?:^|(?<=[\r\n]))(?='*[{_FORMULA}])")
_RESTORE = re.compile(f"(?:^|(?<=[\r\n]))'(?='*[{_FORMULA}])")
_ROW_END = re.compile(r'("(?:[^"]|"")*")|\r\n')  # a quoted cell (kept whole), or the end of a row


class ImportRefused(ValueError):
    """An import that was refused; the store was not changed."""


# --- export ----------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Text with a ' before every line start a spreadsheet would run as a formula (= + - @ tab CR).

    Lines that already start with quotes before such a character get one more, so `restore` undoes
    exactly this and nothing else.
    """
    return _NEUTRALISE.sub("'", text)


def restore(text: str) -> str:
    """Undo `neutralise`: the text as it was before export."""
    return _RESTORE.sub("", text)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell neutralised (see `neutralise`); numbers stay numbers."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: neutralise(v) if isinstance(v, str) else v)
    return out


def csv_text(frame: pd.DataFrame) -> str:
    """A DataFrame as CSV text that is safe to open in a spreadsheet: the one CSV writer of the project.

    Every cell holding CR, LF, a comma or a quote is quoted, so a line break inside a cell never starts a
    new row (the csv module quotes only the characters of its line terminator, so rows are written with
    CRLF and then end in LF again, as before), and text cells are neutralised (see `neutralise`).
    """
    text = neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n")
    return _ROW_END.sub(lambda m: m.group(1) or "\n", text)


def _md_cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    if isinstance(v, float):
        return repr(v)
    text = str(v).replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("\n", "\\n").replace("\r", "\\r")  # escaped, so a cell never breaks the table's lines


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
    shown = display_name(name)
    try:
        if suffix == ".json":
            parsed = json.loads(data.decode("utf-8"))
            if isinstance(parsed, dict) and "runs" in parsed:
                parsed = parsed["runs"]
            if not isinstance(parsed, list) or not all(isinstance(r, dict) for r in parsed):
                raise ImportRefused(f"{shown}: a JSON export is a list of runs ({{'study', 'config', 'metrics', 'status'}}); this is not")
            return parsed
        if suffix == ".csv":
            return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(io.BytesIO(data))
        if suffix in (".md", ".markdown"):
            return parse_markdown(data.decode("utf-8"))
    except ImportRefused:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a parser says about a foreign file, the answer is one line
        detail = " ".join(str(exc).split())[:200]  # pandas' and pyarrow's messages span lines
        raise ImportRefused(f"{shown}: not a readable {suffix.lstrip('.')} table ({type(exc).__name__}: {detail})") from None
    raise ImportRefused(f"{shown}: unknown file type {display_name(suffix) or '(none)'}; expected .csv, .json, .parquet or .md")


def display_name(name: str, limit: int = 120) -> str:
    """A file name for a one-line message: control characters escaped (a name may hold CR or LF), long names cut."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(name))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _markdown_cells(line: str) -> list[str]:
    cells, cell, escaped = [], [], False
    for ch in line.strip()[1:]:  # skip the leading pipe
        if escaped:
            cell.append({"n": "\n", "r": "\r"}.get(ch, ch))  # line breaks inside a cell are written escaped
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


def frame_to_records(frame: pd.DataFrame, name: str, neutralised: bool = False) -> list[dict[str, Any]]:
    """Turn an exported runs table back into run records (values are checked by `check_run`).

    `neutralised`: the table is CSV written by `csv_text`, so the ' put before formula characters comes off.
    """
    from .studies import STUDIES

    shown = display_name(name)
    if frame.empty and len(frame.columns) == 0:
        raise ImportRefused(f"{shown}: the table has no columns")
    missing = [c for c in ("study", "status") if c not in frame.columns]
    if missing:
        raise ImportRefused(f"{shown}: missing column(s) {', '.join(missing)}; an export has {', '.join(RUN_COLUMNS)} then parameters and metrics")
    params = {p.name for s in STUDIES.values() for p in s.params}
    known = set(RUN_COLUMNS) | params | set(METRICS) | set(RUN_EXTRAS)
    unknown = [display_name(c, 40) for c in frame.columns if c not in known]
    if unknown:
        raise ImportRefused(f"{shown}: unknown column(s) {', '.join(unknown[:10])}; columns must be run fields, study parameters or metrics")
    records = []
    for i, row in enumerate(frame.to_dict("records")):
        if neutralised:
            row = {k: restore(v) if isinstance(v, str) else v for k, v in row.items()}
        where = f"{shown} row {i + 1}"
        study_id = row["study"]
        if not isinstance(study_id, str) or study_id not in STUDIES:
            raise ImportRefused(f"{where}: unknown study {short_repr(study_id)}")
        study = STUDIES[study_id]
        config = {p.name: row[p.name] for p in study.params if p.name in row and not is_blank(row[p.name])}
        config.update({k: row[k] for k in RUN_EXTRAS if k in row and not is_blank(row[k])})
        metrics = {m: row[m] for m in METRICS if m in row and not is_blank(row[m])}
        records.append({"study": study_id, "status": row["status"], "config": config, "metrics": metrics,
                        "created_at": row.get("created_at")})
    return records


def check_record(rec: Any, where: str) -> dict[str, Any]:
    """One imported run checked against the run schema; ImportRefused (one line naming the field) otherwise."""
    try:
        return check_run(rec, where)
    except SchemaError as exc:
        raise ImportRefused(str(exc)) from None


def import_bytes(store: Store, data: bytes, name: str, max_bytes: int = MAX_IMPORT_BYTES) -> ImportReport:
    """Check a whole exported file, then add its runs in one transaction (runs already stored are skipped)."""
    shown = display_name(name)
    if len(data) > max_bytes:
        raise ImportRefused(f"{shown}: {len(data) / 1e6:.1f} MB is over the import limit of {max_bytes / 1e6:.0f} MB")
    parsed = read_any(data, name)
    if isinstance(parsed, pd.DataFrame):
        raw = frame_to_records(parsed, name, neutralised=Path(name).suffix.lower() == ".csv")
    else:
        raw = parsed
    if not raw:
        raise ImportRefused(f"{shown}: no runs in the file")
    kind = "row" if isinstance(parsed, pd.DataFrame) else "run"
    records = [check_record(r, f"{shown} {kind} {i + 1}") for i, r in enumerate(raw)]
    seen = store.fingerprints()
    fresh = []
    for rec in records:
        if rec["created_at"] is not None and fingerprint(rec) in seen:
            continue
        seen.add(fingerprint(rec))  # the same run twice in one file is stored once
        rec.pop("sweep_id", None)  # another store's sweep ids mean nothing here
        fresh.append({**rec, "source": f"import:{Path(name).name}"[:MAX_TEXT]})
    added = store.save_records(fresh) if fresh else []
    return ImportReport(added, len(records) - len(fresh))


def import_file(store: Store, path: str | Path, max_bytes: int = MAX_IMPORT_BYTES) -> ImportReport:
    """Import an exported file from disk (see `import_bytes`)."""
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"{display_name(str(path))}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise ImportRefused(f"{display_name(path.name)}: {size / 1e6:.1f} MB is over the import limit of {max_bytes / 1e6:.0f} MB")
    return import_bytes(store, path.read_bytes(), path.name, max_bytes)
