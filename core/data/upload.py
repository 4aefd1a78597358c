"""Tables of your own: a CSV read, checked and split into a standardised data set, without keeping the data in a run.

An uploaded file (a page) or a file named on the command line (`--set dataset=csv --set data_path=FILE --set x=COL1,COL2
--set y=COL`) goes through the same steps:

1. `read_table(data, name)`: at most 20 MB and 100,000 rows, UTF-8 text (or Latin-1), a header of distinct column
   names, at least 10 rows; anything else is refused with one line (`UploadError`) naming what is wrong.
2. `check_columns(table, x, y, task)`: the chosen columns exist and differ; feature cells (and a regression target) are
   finite numbers (negative numbers are numbers), with no missing values, no cell that looks like a spreadsheet formula
   (non-numeric text starting with = + - @) and no constant column; a class label column has 2 to 10 classes.
3. `table_bundle(...)`: a seeded (stratified) train/test split, then every feature (and a regression target) standardised
   with the mean and standard deviation of the training split only, so nothing about the test rows leaks in.

A stored run records the file's name (`data_path`), its row count (`data_rows`) and the first 16 hex digits of its
SHA-256 (`data_hash`), never the data. `pin(values)` fills in the last two by reading the file (the command line does
it); reading a file for a run checks its content against `data_hash`, so a re-run never trains on other data under the
same name. Uploaded files are kept in memory by their hash (`remember`), so a page never needs a path on the server,
and a run that came in an imported table is never re-run from the path it names (`rerun_refusal`).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ..i18n import N_, MessageError, Msg, MsgText, Translated
from ..params import table_params
from .bundle import DataBundle, Split, derive_seed

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
MIN_ROWS = 10
MAX_CLASSES = 10
MAX_COLUMNS = 1000
MAX_NAME = 100  # characters of a column name
MEMORY_FILES = 4  # uploaded files kept in memory (20 MB each at most)
FORMULA_START = ("=", "+", "-", "@")
MISSING = {"", "na", "nan", "n/a", "null", "none"}  # cells read as 'no value'
HASH_DIGITS = 16
CSV_PARAMS = tuple(p.name for p in table_params("", ""))  # what dataset=csv adds to a config


class UploadError(Translated, ValueError):
    """A table that cannot be used as asked: one line naming the file and what is wrong."""


@dataclass(frozen=True)
class Table:
    """A parsed CSV: its display name, content hash, column names and cells (text, as in the file)."""

    name: str
    digest: str
    columns: tuple[str, ...]
    cells: Any  # pandas DataFrame of str (missing cells ''), one column per name
    first_line: int = 2  # the file line of the first data row (the header is line 1)

    @property
    def rows(self) -> int:
        return int(len(self.cells))

    def line(self, row: int) -> int:
        """The file line of data row `row` (0-based), for messages."""
        return self.first_line + row


def digest_of(data: bytes) -> str:
    """The content hash a run records: the first 16 hex digits of the SHA-256."""
    return hashlib.sha256(data).hexdigest()[:HASH_DIGITS]


def safe_name(name: str) -> str:
    """An uploaded file's name as a run records it: its last part, with only letters, digits and ._~+- (others → _)."""
    base = re.split(r"[/\\]", str(name))[-1].strip()
    clean = re.sub(r"[^\w.~+-]", "_", base)[:MAX_NAME].lstrip(".-") or "upload.csv"
    return clean


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:65536]:
        raise UploadError(N_("{name}: a binary file, not CSV text"), name=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # a spreadsheet's 'CSV' on Windows; every byte is a character


def _separator(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_table(data: bytes, name: str) -> Table:
    """Parse and check a CSV's bytes (size, encoding, header, rows); UploadError with one line otherwise."""
    import pandas as pd

    name = safe_name(name)
    if len(data) > MAX_BYTES:
        raise UploadError(N_("{name}: {mb:.1f} MB is over the {limit} MB limit"), name=name, mb=len(data) / 2**20, limit=MAX_BYTES // 2**20)
    text = _decode(data, name)
    if not text.strip():
        raise UploadError(N_("{name}: the file is empty"), name=name)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=_separator(text), header=None, dtype=str, keep_default_na=False,
                            na_filter=False, nrows=MAX_ROWS + 2, engine="c", skip_blank_lines=True)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:  # ragged rows, bad quoting
        detail = " ".join(str(exc).split())[:160]
        raise UploadError(N_("{name}: not a CSV table ({detail})"), name=name, detail=detail) from None
    if frame.shape[1] > MAX_COLUMNS:
        raise UploadError(N_("{name}: {n} columns; at most {limit} are allowed"), name=name, n=frame.shape[1], limit=MAX_COLUMNS)
    if frame.shape[1] < 2:
        raise UploadError(N_("{name}: one column only; a table needs at least two (features and a label or target), "
                             "separated by commas"), name=name)
    header = [("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)).strip() for v in frame.iloc[0]]
    for i, col in enumerate(header):
        if not col:
            raise UploadError(N_("{name}: column {i} has no name; the first line must name every column"), name=name, i=i + 1)
        if len(col) > MAX_NAME or not col.isprintable():
            raise UploadError(N_("{name}: column {i}'s name is not a short line of printable text"), name=name, i=i + 1)
    seen: set[str] = set()
    for col in header:
        if col in seen:
            raise UploadError(N_("{name}: two columns are named {col!r}; column names must differ"), name=name, col=col)
        seen.add(col)
    cells = frame.iloc[1:].reset_index(drop=True)
    if len(cells) > MAX_ROWS:
        raise UploadError(N_("{name}: more than {limit:,} rows; at most {limit:,} are allowed"), name=name, limit=MAX_ROWS)
    if len(cells) < MIN_ROWS:
        raise UploadError(N_("{name}: {n} data rows; at least {limit} are needed for a training and a test split"), name=name,
                          n=len(cells), limit=MIN_ROWS)
    cells.columns = header
    cells = cells.fillna("").astype(str)
    return Table(name, digest_of(data), tuple(header), cells)


def _number_column(table: Table, col: str, role: str) -> np.ndarray:
    """A column's cells as finite float64 numbers, or UploadError naming the first cell that is not one."""
    import pandas as pd

    where = Msg(N_("{name}: feature column {col!r}") if role == "feature" else N_("{name}: target column {col!r}"), name=table.name,
                col=col)
    cells = table.cells[col].str.strip()
    missing = cells.str.lower().isin(MISSING).to_numpy()
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise UploadError(N_("{where} has {n} missing value(s) (first on line {line}); fill them in or drop those rows"),
                          where=where, n=int(missing.sum()), line=table.line(first))
    numbers = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
    text = np.isnan(numbers)  # 'nan' itself was counted as missing above
    formula = text & cells.str.startswith(FORMULA_START).to_numpy()
    if formula.any():
        first = int(np.flatnonzero(formula)[0])
        raise UploadError(N_("{where}, line {line}: {cell} looks like a spreadsheet formula (text starting with = + - @); "
                             "cells must be plain numbers"), where=where, line=table.line(first), cell=_cell(cells.iloc[first]))
    if text.any():
        first = int(np.flatnonzero(text)[0])
        raise UploadError(N_("{where} has {n} non-numeric value(s) (first on line {line}: {cell}); features and targets must be "
                             "numbers") if role == "target" else
                          N_("{where} has {n} non-numeric value(s) (first on line {line}: {cell}); features must be numbers"),
                          where=where, n=int(text.sum()), line=table.line(first), cell=_cell(cells.iloc[first]))
    bad = ~np.isfinite(numbers)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise UploadError(N_("{where}, line {line}: {cell} is not a finite number"), where=where, line=table.line(first),
                          cell=_cell(cells.iloc[first]))
    if numbers.max() == numbers.min():
        raise UploadError(N_("{where} is constant (every row is {value:g}), so it tells nothing apart; choose another column"),
                          where=where, value=numbers[0])
    return numbers


def _cell(text: str) -> str:
    return repr(text if len(text) <= 30 else text[:29] + "…")


def _labels(table: Table, col: str) -> tuple[np.ndarray, list[str]]:
    """A label column as class indices 0..k-1 and the class names (numbers in numeric order, else text order)."""
    import pandas as pd

    where = Msg(N_("{name}: label column {col!r}"), name=table.name, col=col)
    cells = table.cells[col].str.strip()
    missing = cells.str.lower().isin(MISSING).to_numpy()
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise UploadError(N_("{where} has {n} missing label(s) (first on line {line})"), where=where, n=int(missing.sum()),
                          line=table.line(first))
    numbers = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
    formula = np.isnan(numbers) & cells.str.startswith(FORMULA_START).to_numpy()
    if formula.any():
        first = int(np.flatnonzero(formula)[0])
        raise UploadError(N_("{where}, line {line}: {cell} looks like a spreadsheet formula (text starting with = + - @)"),
                          where=where, line=table.line(first), cell=_cell(cells.iloc[first]))
    distinct = cells.unique()
    if len(distinct) > MAX_CLASSES:
        raise UploadError(N_("{where} has {n:,} different values; at most {limit} classes are allowed (is it a measurement "
                             "rather than a label?)"), where=where, n=len(distinct), limit=MAX_CLASSES)
    if len(distinct) < 2:
        raise UploadError(N_("{where} has a single class ({cell}); a classifier needs at least two"), where=where,
                          cell=_cell(str(distinct[0])))
    if not np.isnan(numbers).any():  # numeric labels: in numeric order (2 before 10)
        values = {c: float(c) for c in distinct}
        names = sorted(distinct, key=lambda c: values[c])
    else:
        names = sorted(distinct)
    index = {c: i for i, c in enumerate(names)}
    return cells.map(index).to_numpy(dtype=np.int64), [str(n) for n in names]


def feature_names(x: str | Sequence[str]) -> list[str]:
    """The feature columns of an `x` value ('COL1,COL2'), each stripped."""
    return [c.strip() for c in (x.split(",") if isinstance(x, str) else x)]


def check_columns(table: Table, x: str | Sequence[str], y: str, task: str) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """(features float64 [n, d], labels int64 [n] or targets float64 [n], class names or None): the chosen columns,
    checked; UploadError with one line naming the first problem."""
    names = feature_names(x)
    y = y.strip()
    for role, col in [("feature", c) for c in names] + [("label" if task == "classification" else "target", y)]:
        if col not in table.columns:
            shown = ", ".join(repr(c) for c in table.columns[:8]) + (", …" if len(table.columns) > 8 else "")
            raise UploadError(N_("{name}: no feature column {col!r}; the columns are {shown}") if role == "feature" else
                              N_("{name}: no label column {col!r}; the columns are {shown}") if role == "label" else
                              N_("{name}: no target column {col!r}; the columns are {shown}"), name=table.name, col=col, shown=shown)
        if col.startswith(FORMULA_START) and not _is_number(col):
            raise UploadError(N_("{name}: column name {cell} looks like a spreadsheet formula; rename the column"), name=table.name,
                              cell=_cell(col))
    if len(set(names)) != len(names) or y in names:
        raise UploadError(N_("{name}: the feature and label columns must all differ") if task == "classification" else
                          N_("{name}: the feature and target columns must all differ"), name=table.name)
    X = np.stack([_number_column(table, c, "feature") for c in names], axis=1)
    if task == "classification":
        labels, classes = _labels(table, y)
        return X, labels, classes
    return X, _number_column(table, y, "target"), None


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def table_bundle(table: Table, x: str | Sequence[str], y: str, task: str, seed: int, test_fraction: float) -> DataBundle:
    """The checked columns as a data set: a seeded train/test split (stratified by class where every class allows it),
    features (and a regression target) standardised with the training split's mean and standard deviation."""
    from sklearn.model_selection import train_test_split

    from .splits import _can_stratify

    X, target, classes = check_columns(table, x, y, task)
    n = len(X)
    n_test = min(n - 2, max(1, round(n * test_fraction)))
    strata = target if task == "classification" and _can_stratify(target, n_test) else None
    train_idx, test_idx = train_test_split(np.arange(n), test_size=n_test, random_state=derive_seed(seed, "csv split"),
                                           stratify=strata)
    train_idx, test_idx = np.sort(train_idx), np.sort(test_idx)
    mean, std = X[train_idx].mean(0), X[train_idx].std(0)
    std = np.where(std > 0, std, 1.0)  # a column constant within the training rows only: centred, not scaled
    Xs = torch.from_numpy(((X - mean) / std).astype(np.float32))
    meta: dict[str, Any] = {"dataset": "csv", "file": table.name, "data_hash": table.digest, "rows": table.rows,
                            "features": feature_names(x), "target": y.strip(), "mean": mean.tolist(), "std": std.tolist()}
    if task == "classification":
        labels = torch.tensor(target, dtype=torch.long)
        meta["classes"] = classes
        return DataBundle(Split(Xs[train_idx], labels[train_idx]), Split(Xs[test_idx], labels[test_idx]), "classification",
                          n_classes=len(classes), meta=meta)
    t_mean, t_std = float(target[train_idx].mean()), float(target[train_idx].std()) or 1.0
    ys = torch.from_numpy(((target - t_mean) / t_std).astype(np.float32)).reshape(-1, 1)
    meta.update(target_mean=t_mean, target_std=t_std)
    return DataBundle(Split(Xs[train_idx], ys[train_idx]), Split(Xs[test_idx], ys[test_idx]), "regression", meta=meta)


# --- where a table's bytes come from --------------------------------------------------------------------------

_memory: OrderedDict[str, tuple[str, bytes]] = OrderedDict()  # digest → (name, bytes) of recent uploads
_parsed: OrderedDict[str, Table] = OrderedDict()
_lock = threading.Lock()


def remember(data: bytes, name: str) -> Table:
    """Read and check an uploaded file, and keep its bytes in memory under its hash (the last MEMORY_FILES uploads),
    so runs that name this hash find it without any path on the server."""
    table = parse(data, name)
    with _lock:
        _memory[table.digest] = (table.name, data)
        _memory.move_to_end(table.digest)
        while len(_memory) > MEMORY_FILES:
            _memory.popitem(last=False)
    return table


def parse(data: bytes, name: str) -> Table:
    """`read_table`, with the last few tables parsed kept by hash (a run re-reads its table once per set-up)."""
    digest = digest_of(data)
    with _lock:
        if digest in _parsed:
            return _parsed[digest]
    table = read_table(data, name)
    with _lock:
        _parsed[digest] = table
        while len(_parsed) > MEMORY_FILES:
            _parsed.popitem(last=False)
    return table


def load_table(data_path: str, data_hash: str = "", data_rows: int = 0) -> Table:
    """The table a run names: an upload kept in memory under `data_hash`, else the file at `data_path`, whose content
    must hash to `data_hash` when one is given (UploadError otherwise, with one line)."""
    with _lock:
        kept = _memory.get(data_hash) if data_hash else None
    if kept is not None:
        table = parse(kept[1], kept[0])
    else:
        path = Path(data_path)
        if not data_path or not path.is_file():
            raise UploadError(N_("data_path: {path}: no such file; give the CSV file's path (an uploaded file is kept only "
                                 "while the dashboard runs: upload it again)") if not path.exists() else
                              N_("data_path: {path}: not a file; give the CSV file's path (an uploaded file is kept only "
                                 "while the dashboard runs: upload it again)"), path=data_path or "(none)")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UploadError(N_("{name}: {mb:.1f} MB is over the {limit} MB limit"), name=safe_name(path.name), mb=size / 2**20,
                              limit=MAX_BYTES // 2**20)
        table = parse(path.read_bytes(), path.name)
    if data_hash and table.digest != data_hash:
        raise UploadError(N_("data_path: {name} has changed since the run was made (its content hash is {digest}, the run's "
                             "data_hash is {hash}); use the original file, or leave data_hash out to use this one"),
                          name=table.name, digest=table.digest, hash=data_hash)
    if data_rows and table.rows != data_rows:
        raise UploadError(N_("data_path: {name} has {rows:,} rows, the run's data_rows is {expected:,}"), name=table.name, rows=table.rows,
                          expected=data_rows)
    return table


def csv_bundle(cfg: Any, task: str) -> DataBundle:
    """The data set of a config with dataset=csv (`data_path`, `data_hash`, `data_rows`, `x`, `y`, `test_fraction`)."""
    table = load_table(cfg.data_path, cfg.data_hash, cfg.data_rows)
    return table_bundle(table, cfg.x, cfg.y, task, cfg.seed, cfg.test_fraction)


def pin(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values with dataset=csv and a data_path, completed with the file's `data_hash` and `data_rows` (read from it),
    so the stored run says exactly which data it came from; other values unchanged."""
    out = dict(values)
    if out.get("dataset") == "csv" and out.get("data_path"):
        table = load_table(str(out["data_path"]), str(out.get("data_hash") or ""), int(out.get("data_rows") or 0))
        out.update(data_hash=table.digest, data_rows=table.rows)
    return out


def check_config(cfg: Any, n_features: int, target: str) -> None:
    """Cross-parameter rules of dataset=csv: the file and columns given with csv (`n_features` feature columns), and
    none of the csv parameters with another data set (ValueError naming the parameter)."""
    if cfg.dataset == "csv":
        if not cfg.data_path:
            raise MessageError(N_("data_path: dataset=csv needs the CSV file: --set data_path=FILE"))
        names = [c for c in feature_names(cfg.x) if c]
        if len(names) != n_features:
            raise MessageError(N_("x: dataset=csv needs two feature columns, comma-separated: --set x=COL1,COL2") if n_features == 2
                               else N_("x: dataset=csv needs one x column: --set x=COL"))
        if not cfg.y:
            raise MessageError(N_("y: dataset=csv needs the label column: --set y=COL") if target == "label" else
                               N_("y: dataset=csv needs the target column: --set y=COL"))
        if cfg.y in names or len(set(names)) != len(names):
            raise MessageError(N_("y: the label column and the feature column(s) must all differ") if target == "label" else
                               N_("y: the target column and the feature column(s) must all differ"))
        return
    from ..params import P

    for name in CSV_PARAMS:
        if getattr(cfg, name) != getattr(P, name).default:
            raise MessageError(N_("{name}: applies to dataset=csv only"), name=name)


def rerun_refusal(record: Mapping[str, Any]) -> str | None:
    """Why a stored run must not be re-run here, or None: a run of dataset=csv that came in an imported table names a
    path someone else chose, and a re-run never reads it."""
    config = record.get("config") or {}
    source = str(record.get("source") or "local")
    if config.get("dataset") != "csv" or source == "local":
        return None
    return MsgText(Msg(N_("run {id} came from an imported table ({file}) and names the file {path!r}; a re-run never reads a "
                          "data_path that arrived in an imported table. Upload the file on its page, or run `python -m core "
                          "run` on a copy you trust"), id=record.get("id", ""), file=source.removeprefix("import:"),
                       path=config.get("data_path", "")))
