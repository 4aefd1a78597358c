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

import csv
import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Sequence

import numpy as np
import pandas as pd

from .i18n import N_, MessageError, Msg, Translated, message
from .metrics import METRICS
from .params import short_repr
from .schema import MAX_TEXT, RUN_COLUMNS, RUN_EXTRAS, SchemaError, check_run, is_blank
from .query import VALUE_KINDS, RunFilter
from .store import Store, fingerprint, runs_frame, to_json

FORMATS = ("csv", "json", "parquet", "markdown")
MAX_IMPORT_BYTES = 50 * 1024 * 1024
_FORMULA = "=+\\-@\t\r"  # what a spreadsheet may run as a formula when a cell or a line in it starts with it
# a line start (the cell's, or after CR or LF) followed by quotes already there and a formula character:
_NEUTRALISE = re.compile(f"(?:^|(?<=[\r\n]))(?='*[{_FORMULA}])")
_NEEDS = f"(?:^|[\r\n])'*[{_FORMULA}]"  # a cell `neutralise` changes
_RESTORE = re.compile(f"(?:^|(?<=[\r\n]))'(?='*[{_FORMULA}])")
_NEEDS_RE = re.compile(_NEEDS)
_ROW_END = re.compile(r'("(?:[^"]|"")*")|\r\n')  # a quoted cell (kept whole), or the end of a row


class ImportRefused(Translated, ValueError):
    """An import that was refused; the store was not changed (a message id, translated where a page shows it)."""


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
        values = out[col]
        if values.dtype != object and pd.api.types.is_string_dtype(values):  # text only: find the few cells to change at once
            hit = values.str.contains(_NEEDS, regex=True, na=False)
            if hit.any():
                out[col] = values.where(~hit, values[hit].map(neutralise))
        elif values.dtype == object:
            out[col] = values.map(lambda v: neutralise(v) if isinstance(v, str) else v)
    return out


def csv_text(frame: pd.DataFrame) -> str:
    """A DataFrame as CSV text that is safe to open in a spreadsheet: the one CSV writer of the project.

    Every cell holding CR, LF, a comma or a quote is quoted, so a line break inside a cell never starts a
    new row (the csv module quotes only the characters of its line terminator, so rows are written with
    CRLF and then end in LF again, as before), and text cells are neutralised (see `neutralise`).
    """
    return _csv_rows([str(c) for c in frame.columns], zip(*(_csv_cells(frame.iloc[:, i]) for i in range(frame.shape[1]))))


def _csv_rows(header: list[str] | None, rows: Iterable[Sequence[Any]]) -> str:
    """Rows of cells (None: empty) as CSV text, the header first when given (see `csv_text`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # the dialect pandas' to_csv writes with
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    text = buf.getvalue()
    return text.replace("\r\n", "\n") if '"' not in text else _ROW_END.sub(lambda m: m.group(1) or "\n", text)


def _plain_cells(values: list[Any], kind: type | None) -> list[Any]:
    """Plain values of a column (Store.frames(plain=True)) as `_csv_cells` writes that column from a frame: floats by
    repr (numpy's shortest repr is Python's), whole numbers and yes/no as they print, text neutralised."""
    if kind is float:
        return [None if v is None else repr(v) for v in values]
    if kind is int or kind is bool:
        return values
    seen: dict[str, str] = {}  # a text column repeats a few values (study, dataset): each is checked once
    out = []
    for v in values:
        if v is not None:
            cell = seen.get(v)
            if cell is None:
                cell = seen[v] = neutralise(v) if _NEEDS_RE.search(v) else v
            v = cell
        out.append(v)
    return out


def _csv_cells(column: pd.Series) -> list[Any]:
    """A column's cells as to_csv writes them: no value as an empty cell, numbers by repr, text neutralised."""
    if pd.api.types.is_float_dtype(column.dtype) and not isinstance(column.dtype, pd.api.extensions.ExtensionDtype):
        values = column.to_numpy()
        text = values.astype(str).astype(object)  # numpy's shortest repr, as to_csv writes floats
        text[np.isnan(values)] = None
        return text.tolist()
    values = neutralise_formulas(column.to_frame()).iloc[:, 0] if column.dtype == object or pd.api.types.is_string_dtype(column) else column
    return values.astype(object).where(values.notna(), None).tolist()


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


def write_runs(store: Store, filter: RunFilter | None, fmt: str, out: BinaryIO, *, with_history: bool = True,
               skipped: list[str] | None = None) -> int:
    """The selected runs written to `out` in one of FORMATS a chunk at a time, as they are read (memory stays small at
    any size); returns how many runs were written. JSON carries each run's history unless `with_history` is False.

    CSV, Markdown and JSON come out byte for byte as `export_runs` makes them from all the runs at once (the header
    comes first from `Store.columns`); Parquet is written a row group per chunk, each column of its declared type.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format: {fmt!r} is not allowed; expected one of {'|'.join(FORMATS)}")
    if fmt == "json":
        count = 0
        out.write(b"[")
        for records in store.iter_records(filter=filter, with_history=with_history, skipped=skipped):
            body = json.dumps(json.loads(to_json(records)), indent=1)[2:-2]  # the list's items, without [ and ]
            out.write(("\n" if count == 0 else ",\n").encode() + body.encode())
            count += len(records)
        out.write(b"]\n" if count == 0 else b"\n]\n")
        return count
    config, metrics = store.columns(filter)
    columns = RUN_COLUMNS + config + metrics
    if fmt == "parquet":
        return _write_parquet(store.frames(filter, columns, skipped=skipped), columns, out)
    empty = pd.DataFrame(columns=columns)
    out.write((csv_text(empty) if fmt == "csv" else to_markdown(empty)).encode())
    header_lines = 1 if fmt == "csv" else 2
    kinds = {"id": int, "seed": int, "fold": int, **VALUE_KINDS}
    count = 0
    # CSV takes plain chunks (no frame, floats by repr): the listing of 100,000 runs is formatted in Python at once
    for part in store.frames(filter, columns, skipped=skipped, plain=fmt == "csv"):
        if isinstance(part, dict):
            out.write(_csv_rows(None, zip(*(_plain_cells(part[c], kinds.get(c)) for c in columns))).encode())
            count += len(part["id"])
            continue
        text = csv_text(part) if fmt == "csv" else to_markdown(part)
        out.write(text.split("\n", header_lines)[header_lines].encode())
        count += len(part)
    return count


def _write_parquet(frames: Iterable[pd.DataFrame], columns: list[str], out: BinaryIO) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = {"id": int, "seed": int, "fold": int, **VALUE_KINDS}
    arrow = {int: pa.int64(), float: pa.float64(), bool: pa.bool_(), str: pa.string()}
    if any(c not in kinds and c not in RUN_COLUMNS for c in columns):  # a column this version does not declare
        whole = [f for f in frames]
        frame = pd.concat(whole, ignore_index=True) if whole else pd.DataFrame(columns=columns)
        frame.to_parquet(out, index=False)
        return len(frame)
    dtypes = {c: {int: "Int64", float: "float64", bool: "boolean", str: object}[kinds.get(c, str)] for c in columns}
    schema = None
    writer = None
    count = 0
    try:
        for frame in frames:
            frame = frame.astype(dtypes)
            if writer is None:  # the pandas metadata (Int64, boolean) of a typed frame, so reading it back restores them
                metadata = pa.Table.from_pandas(frame, preserve_index=False).schema.metadata
                schema = pa.schema([(c, arrow[kinds.get(c, str)]) for c in columns], metadata=metadata)
                writer = pq.ParquetWriter(pa.PythonFile(out, mode="w"), schema)
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))
            count += len(frame)
        if writer is None:
            out.write(export_runs([], "parquet"))
    finally:
        if writer is not None:
            writer.close()
    return count


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
                raise ImportRefused(N_("{name}: a JSON export is a list of runs ({{'study', 'config', 'metrics', 'status'}}); this is not"),
                                    name=shown)
            return parsed
        if suffix == ".csv":
            return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(io.BytesIO(data))
        if suffix in (".md", ".markdown"):
            return parse_markdown(data.decode("utf-8"))
    except ImportRefused:
        raise
    except MessageError as exc:  # parse_markdown's own reason
        raise ImportRefused(N_("{name}: not a readable {kind} table ({problem})"), name=shown, kind=suffix.lstrip("."),
                            problem=exc.msg) from None
    except Exception as exc:  # noqa: BLE001 - whatever a parser says about a foreign file, the answer is one line
        detail = " ".join(str(exc).split())[:200]  # pandas' and pyarrow's messages span lines
        raise ImportRefused(N_("{name}: not a readable {kind} table ({error}: {detail})"), name=shown, kind=suffix.lstrip("."),
                            error=type(exc).__name__, detail=detail) from None
    raise ImportRefused(N_("{name}: unknown file type {suffix}; expected .csv, .json, .parquet or .md"), name=shown,
                        suffix=display_name(suffix) or "(none)")


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
        raise MessageError(N_("no Markdown table (a header row, a --- row, then rows)"))
    header, body = rows[0], rows[2:]
    if any(len(r) != len(header) for r in body):
        raise MessageError(N_("rows do not have as many cells as the header"))
    return pd.DataFrame(body, columns=header)


def frame_to_records(frame: pd.DataFrame, name: str, neutralised: bool = False) -> list[dict[str, Any]]:
    """Turn an exported runs table back into run records (values are checked by `check_run`).

    `neutralised`: the table is CSV written by `csv_text`, so the ' put before formula characters comes off.
    """
    from .studies import STUDIES

    shown = display_name(name)
    if frame.empty and len(frame.columns) == 0:
        raise ImportRefused(N_("{name}: the table has no columns"), name=shown)
    missing = [c for c in ("study", "status") if c not in frame.columns]
    if missing:
        raise ImportRefused(N_("{name}: missing column(s) {missing}; an export has {columns} then parameters and metrics"), name=shown,
                            missing=", ".join(missing), columns=", ".join(RUN_COLUMNS))
    params = {p.name for s in STUDIES.values() for p in s.params}
    known = set(RUN_COLUMNS) | params | set(METRICS) | set(RUN_EXTRAS)
    unknown = [display_name(c, 40) for c in frame.columns if c not in known]
    if unknown:
        raise ImportRefused(N_("{name}: unknown column(s) {unknown}; columns must be run fields, study parameters or metrics"),
                            name=shown, unknown=", ".join(unknown[:10]))
    records = []
    for i, row in enumerate(frame.to_dict("records")):
        if neutralised:
            row = {k: restore(v) if isinstance(v, str) else v for k, v in row.items()}
        where = Msg(N_("{name} row {row}"), name=shown, row=i + 1)
        study_id = row["study"]
        if not isinstance(study_id, str) or study_id not in STUDIES:
            raise ImportRefused(N_("{where}: unknown study {value}"), where=where, value=short_repr(study_id))
        study = STUDIES[study_id]
        config = {p.name: row[p.name] for p in study.params if p.name in row and not is_blank(row[p.name])}
        config.update({k: row[k] for k in RUN_EXTRAS if k in row and not is_blank(row[k])})
        metrics = {m: row[m] for m in METRICS if m in row and not is_blank(row[m])}
        records.append({"study": study_id, "status": row["status"], "config": config, "metrics": metrics,
                        "created_at": row.get("created_at")})
    return records


def check_record(rec: Any, where: str | Msg) -> dict[str, Any]:
    """One imported run checked against the run schema; ImportRefused (one line naming the field) otherwise."""
    try:
        return check_run(rec, where)
    except SchemaError as exc:
        raise ImportRefused(message(exc)) from None


def import_bytes(store: Store, data: bytes, name: str, max_bytes: int = MAX_IMPORT_BYTES) -> ImportReport:
    """Check a whole exported file, then add its runs in one transaction (runs already stored are skipped)."""
    shown = display_name(name)
    if len(data) > max_bytes:
        raise ImportRefused(N_("{name}: {mb:.1f} MB is over the import limit of {limit:.0f} MB"), name=shown, mb=len(data) / 1e6,
                            limit=max_bytes / 1e6)
    parsed = read_any(data, name)
    if isinstance(parsed, pd.DataFrame):
        raw = frame_to_records(parsed, name, neutralised=Path(name).suffix.lower() == ".csv")
    else:
        raw = parsed
    if not raw:
        raise ImportRefused(N_("{name}: no runs in the file"), name=shown)
    where = N_("{name} row {row}") if isinstance(parsed, pd.DataFrame) else N_("{name} run {row}")
    records = [check_record(r, Msg(where, name=shown, row=i + 1)) for i, r in enumerate(raw)]
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
        raise ImportRefused(N_("{name}: no such file"), name=display_name(str(path)))
    size = path.stat().st_size
    if size > max_bytes:
        raise ImportRefused(N_("{name}: {mb:.1f} MB is over the import limit of {limit:.0f} MB"), name=display_name(path.name),
                            mb=size / 1e6, limit=max_bytes / 1e6)
    return import_bytes(store, path.read_bytes(), path.name, max_bytes)
