"""One schema for a stored run: what the store writes and what every import is checked against.

A run record is `{study, status, config, metrics, created_at?, source?, sweep_id?, history?}`.
`check_run` returns it normalised (each value of its declared type, inside its declared range)
or raises `SchemaError` with one line naming the field: the store calls it before writing and
every import path (JSON, CSV, Parquet, Markdown) calls it before anything is written, so the
store never holds a value that cannot be read back (huge integers, 1e400, lists, blobs).

`decode_stored` is the reading side: a row that got into the file some other way (an older
version, a hand edit, a damaged disk) is checked for what reading needs, so a bad row is
reported and skipped instead of breaking every table that shows runs.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # pandas is imported where frames are made: listing runs as CSV needs none (0.3 s of start-up)
    import pandas as pd

from .i18n import N_, Msg, Translated, message
from .metrics import METRICS
from .params import P, short_repr

STATUSES = ("ok", "diverged", "cancelled")
RUN_EXTRAS = ("fold", "folds")  # config keys that are not study parameters
SPLITS = ("train", "val", "test")
MAX_FOLDS = 50
MAX_INT = 2**53 - 1  # integers that JSON, pandas' Int64, SQLite and a browser all hold exactly
MAX_EPOCH = int(P.epochs.high)
MAX_HISTORY_ROWS = len(SPLITS) * (MAX_EPOCH + 1)
MAX_TEXT = 500  # source (an imported file's name) and other free text
MAX_STORED_JSON = 1_000_000  # characters of a stored config or metrics object
RECORD_KEYS = ("id", "study", "status", "config", "metrics", "created_at", "source", "sweep_id", "history")
HISTORY_KEYS = frozenset(("epoch", "split", "loss", "acc"))
RUN_COLUMNS = ["id", "study", "status", "seed", "fold", "sweep_id", "created_at", "source"]  # the runs table's first columns
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")


class SchemaError(Translated, ValueError):
    """A run record outside the schema: one line naming the field (a message id, translated where a page shows it)."""


def at(where: str | Msg, name: str | Msg) -> Msg:
    """`where: name`, the place of a field in a message (`row 3: config: folds`)."""
    return Msg(N_("{where}: {name}"), where=where, name=name)


# --- single values -------------------------------------------------------------------------------


_PLAIN = frozenset((str, bool, int, float, type(None)))


def _scalar(v: Any) -> Any:
    """numpy / torch scalars as Python values; anything else unchanged."""
    if type(v) in _PLAIN:
        return v
    if hasattr(v, "item") and not isinstance(v, (str, bytes, bool, int, float)):
        try:
            return v.item()
        except (TypeError, ValueError, RuntimeError):
            return v  # an array of several elements: refused by the caller
    return v


def is_blank(v: Any) -> bool:
    """None, NA, NaN or an empty text cell: a value a table leaves out."""
    t = type(v)
    if t is float:
        return v != v
    if t is int or t is bool:
        return False
    v = _scalar(v)
    return v is None or _is_pandas_na(v) or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v.strip() == "")


def _pandas() -> Any:
    """pandas if something has imported it (a value can only be a pandas one then), else None."""
    return sys.modules.get("pandas")


def _is_pandas_na(v: Any) -> bool:
    pd_ = _pandas()
    return pd_ is not None and v is pd_.NA


def _is_frame(v: Any) -> bool:
    pd_ = _pandas()
    return pd_ is not None and isinstance(v, pd_.DataFrame)


def whole_number(v: Any, what: str | Msg, low: int = 0, high: int = MAX_INT) -> int:
    """An int in [low, high] from an int, a whole float or its text; SchemaError naming `what` otherwise."""
    v = _scalar(v)
    number: Any = None
    if isinstance(v, int) and not isinstance(v, bool):
        number = v
    elif isinstance(v, float) and math.isfinite(v) and v.is_integer():
        number = int(v)
    elif isinstance(v, str) and len(v) <= 40:
        try:
            f = float(v)
            number = int(f) if math.isfinite(f) and f.is_integer() else None
        except ValueError:
            number = None
    if number is None or not low <= number <= high:
        raise SchemaError(N_("{what} = {value} is not allowed; expected a whole number in [{low}, {high}]"), what=what,
                          value=short_repr(v), low=low, high=high)
    return number


def real_number(v: Any, what: str | Msg, low: float = -math.inf, high: float = math.inf) -> float:
    """A float (NaN for blank or non-finite) in [low, high]; SchemaError naming `what` otherwise."""
    if is_blank(v):
        return math.nan
    v = _scalar(v)
    try:
        if isinstance(v, bool) or not isinstance(v, (int, float, str)) or (isinstance(v, str) and len(v) > 40):
            raise ValueError
        number = float(v)  # OverflowError for ints beyond a float
    except (ValueError, OverflowError):
        raise SchemaError(N_("{what} = {value} is not allowed; expected a number"), what=what, value=short_repr(v)) from None
    if not math.isfinite(number):
        return math.nan  # NaN and infinities are stored as 'no value'
    if not low <= number <= high:
        raise SchemaError(N_("{what} = {value} is not allowed; expected a number in [{low:g}, {high:g}]"), what=what,
                          value=short_repr(v), low=low, high=high)
    return number


def yes_no(v: Any, what: str | Msg) -> bool:
    """A bool from a bool, 0/1 or true/false text."""
    v = _scalar(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "1", "0"):
        return v.strip().lower() in ("true", "1")
    raise SchemaError(N_("{what} = {value} is not allowed; expected true or false"), what=what, value=short_repr(v))


def text(v: Any, what: str | Msg, max_len: int = MAX_TEXT, printable: bool = False) -> str:
    """A string of at most `max_len` characters (without control characters when `printable`)."""
    v = _scalar(v)
    if not isinstance(v, str) or len(v) > max_len or (printable and not v.isprintable()) or not _encodable(v):
        raise SchemaError(N_("{what} = {value} is not allowed; expected printable text of at most {n} characters") if printable
                          else N_("{what} = {value} is not allowed; expected text of at most {n} characters"),
                          what=what, value=short_repr(v), n=max_len)
    return v


def _encodable(v: str) -> bool:
    """Whether a string can be written as UTF-8: a lone surrogate ('\\ud800', legal in JSON) cannot, and would break
    every later export of the store (CSV, Parquet) that holds it."""
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def metric_value(name: str, v: Any, what: str | Msg) -> Any:
    """A metric of its declared kind (NaN for none); SchemaError naming it otherwise."""
    if is_blank(v):
        return math.nan
    kind = METRICS[name].kind
    if kind is bool:
        return yes_no(v, what)
    if kind is int:
        return whole_number(v, what)
    return real_number(v, what)


# --- a whole run ---------------------------------------------------------------------------------


_VALID: dict[tuple, Any] = {}  # (id of a Param, type, value) → the validated value: Params live as long as the process


def check_config(study_id: str, config: Any, where: str | Msg, complete: bool = True) -> dict[str, Any]:
    """Every parameter of the study, validated by its declaration, plus fold/folds when present.

    An optional parameter (`Param.optional`) may be absent, and is left out at its default, as stored configs have it.
    `complete=False` lets parameters be left out (they take their defaults later), as a hand-made model file may.
    """
    from .studies import STUDIES

    study = STUDIES[study_id]
    params = study.param_map
    if not isinstance(config, Mapping):
        raise SchemaError(N_("{where}: config = {value} is not allowed; expected an object of parameters"), where=where,
                          value=short_repr(config))
    unknown = [k for k in config if k not in params and k not in RUN_EXTRAS]
    if unknown:
        names = ", ".join(short_repr(k, 40) for k in unknown[:5])
        raise SchemaError(N_("{where}: config: unknown parameter(s) {names} for study {study}"), where=where, names=names,
                          study=study_id)
    absent = [p.name for p in study.params if p.name not in config or is_blank(config[p.name])]
    # runs from before a parameter existed used its default (backfill); an optional one absent means its default
    needed = [name for name in absent if name not in study.backfill and not study.param(name).optional]
    if needed and complete:
        raise SchemaError(N_("{where}: config: study {study} needs parameter(s) {names}"), where=where, study=study_id,
                          names=", ".join(needed))
    clean: dict[str, Any] = {}
    for p in study.params:
        if p.name in absent:
            if p.name in study.backfill and complete:
                clean[p.name] = p.default
            continue
        value = config[p.name]
        key = (id(p), type(value), value) if type(value) in _PLAIN else None
        if key is not None and key in _VALID:  # a sweep stores the same values over and over
            if not (p.optional and _VALID[key] == p.default):
                clean[p.name] = _VALID[key]
            continue
        try:
            value = p.validate(value)
        except ValueError as exc:
            raise SchemaError(N_("{where}: config: {problem}"), where=where, problem=message(exc)) from None
        if key is not None:
            if len(_VALID) > 100_000:
                _VALID.clear()
            _VALID[key] = value
        if not (p.optional and value == p.default):  # stored as core.studies.config_dict writes it: left out
            clean[p.name] = value
    folds, fold = config.get("folds"), config.get("fold")
    if not is_blank(folds):
        clean["folds"] = whole_number(folds, at(where, "config: folds"), 2, MAX_FOLDS)
    if not is_blank(fold):
        if "folds" not in clean:
            raise SchemaError(N_("{where}: config: fold = {value} is not allowed without folds"), where=where, value=short_repr(fold))
        clean["fold"] = whole_number(fold, at(where, "config: fold"), 0, clean["folds"] - 1)
    return clean


def check_metrics(metrics: Any, where: str | Msg) -> dict[str, Any]:
    """Declared metrics only, each of its kind; blank or non-finite values become NaN."""
    if not isinstance(metrics, Mapping):
        raise SchemaError(N_("{where}: metrics = {value} is not allowed; expected an object of metrics"), where=where,
                          value=short_repr(metrics))
    unknown = [k for k in metrics if not (isinstance(k, str) and k in METRICS)]
    if unknown:
        raise SchemaError(N_("{where}: unknown metric(s) {names}"), where=where, names=", ".join(short_repr(k, 40) for k in unknown[:5]))
    return {name: metric_value(name, v, at(where, Msg(N_("metric {name}"), name=name))) for name, v in metrics.items()}


@dataclass(frozen=True)
class History:
    """A run's checked history as columns, sorted by split name then epoch (the order the store reads it back in)."""

    epoch: np.ndarray  # int64, in [0, MAX_EPOCH]
    split: np.ndarray  # uint8: index into SPLITS
    loss: np.ndarray  # float64, NaN: no value
    acc: np.ndarray  # float64, NaN: no value

    def __len__(self) -> int:
        return len(self.epoch)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per row {epoch, split, loss, acc}, None for no value (as a JSON export holds them)."""
        none = lambda v: None if math.isnan(v) else v  # noqa: E731
        return [{"epoch": e, "split": SPLITS[s], "loss": none(lo), "acc": none(a)}
                for e, s, lo, a in zip(self.epoch.tolist(), self.split.tolist(), self.loss.tolist(), self.acc.tolist())]


_SPLIT_CODE = {name: i for i, name in enumerate(SPLITS)}
_SPLIT_RANK = np.argsort(np.argsort(np.array(SPLITS)))  # code → position of its name in alphabetical order
EMPTY_HISTORY = History(np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0), np.zeros(0))


def check_history(rows: Any, where: str | Msg) -> History:
    """History rows {epoch, split, loss, acc} (a list of dicts, or columns: a DataFrame or a dict of arrays): at most
    one per split and epoch, checked and returned as columns.

    Clean input (plain numbers, known splits) is checked column-wise at once; anything else, row by row, so a
    refusal names the first row and field that is wrong.
    """
    if rows is None:
        return EMPTY_HISTORY
    if isinstance(rows, History):  # checked already (an import checks every run before storing any)
        return rows
    if isinstance(rows, Mapping) or _is_frame(rows):  # columns
        fast = _history_columns(rows)
        if fast is not None:
            return fast
        rows = _as_rows(rows)
    if not isinstance(rows, (list, tuple)):
        raise SchemaError(N_("{where}: history = {value} is not allowed; expected a list of {{epoch, split, loss, acc}}"), where=where,
                          value=short_repr(rows))
    if len(rows) > MAX_HISTORY_ROWS:
        raise SchemaError(N_("{where}: history has {n} rows; at most {limit} are allowed"), where=where, n=len(rows), limit=MAX_HISTORY_ROWS)
    fast = _history_rows(rows)
    if fast is not None:
        return fast
    clean, seen = [], set()
    for i, h in enumerate(rows):
        row = Msg(N_("{where}: history row {row}"), where=where, row=i + 1)
        if not isinstance(h, Mapping):
            raise SchemaError(N_("{where} = {value} is not allowed; expected {{epoch, split, loss, acc}}"), where=row, value=short_repr(h))
        extra = [k for k in h if k not in HISTORY_KEYS]
        if extra or "epoch" not in h or "split" not in h:
            raise SchemaError(N_("{where}: {value} is not {{epoch, split (train|val|test), loss, acc}}"), where=row,
                              value=short_repr(dict(h), 80))
        epoch = whole_number(h["epoch"], at(row, "epoch"), 0, MAX_EPOCH)
        split = _scalar(h["split"])
        if not isinstance(split, str) or split not in SPLITS:
            raise SchemaError(N_("{where}: split = {value} is not allowed; expected one of {choices}"), where=row,
                              value=short_repr(split), choices="|".join(SPLITS))
        if (split, epoch) in seen:
            raise SchemaError(N_("{where}: a second row for split {split}, epoch {epoch}"), where=row, split=split, epoch=epoch)
        seen.add((split, epoch))
        clean.append((epoch, _SPLIT_CODE[split], real_number(h.get("loss"), at(row, "loss")),
                      real_number(h.get("acc"), at(row, "acc"), 0.0, 1.0)))
    if not clean:
        return EMPTY_HISTORY
    epoch, split, loss, acc = (np.array(column) for column in zip(*clean))
    return _checked_columns(epoch.astype(np.int64), split.astype(np.uint8), loss.astype(float), acc.astype(float))


def _as_rows(columns: Mapping[str, Any] | pd.DataFrame) -> Any:
    """History columns as a list of row dicts (so the row-by-row check can name what is wrong), or as they were."""
    if _is_frame(columns):
        return columns.to_dict("records")
    try:
        values = [list(v) for v in columns.values()]
    except TypeError:
        return columns
    if set(columns) <= HISTORY_KEYS and len({len(v) for v in values}) == 1:
        return [dict(zip(columns, row)) for row in zip(*values)]
    return columns


def _history_rows(rows: Sequence[Any]) -> History | None:
    """The column-wise check of clean rows (dicts of plain ints, floats and known splits), or None to check row by row."""
    try:
        if not all(type(h) is dict and "epoch" in h and "split" in h and len(h.keys() - HISTORY_KEYS) == 0 for h in rows):
            return None
        epochs = [h["epoch"] for h in rows]
        splits = [_SPLIT_CODE.get(h["split"]) if type(h["split"]) is str else None for h in rows]
        losses = [h.get("loss") for h in rows]
        accs = [h.get("acc") for h in rows]
    except TypeError:  # an unhashable split
        return None
    if not all(type(e) is int for e in epochs) or None in splits:
        return None
    if not all(v is None or type(v) is float for v in losses) or not all(v is None or type(v) is float for v in accs):
        return None
    nan = math.nan
    return _checked_columns(np.array(epochs, dtype=np.int64), np.array(splits, dtype=np.uint8),
                            np.array([nan if v is None else v for v in losses], dtype=float),
                            np.array([nan if v is None else v for v in accs], dtype=float))


def _history_columns(columns: Mapping[str, Any] | pd.DataFrame) -> History | None:
    """The column-wise check of history columns (a trained run's DataFrame, or a dict of arrays), or None to check
    them row by row."""
    names = set(columns.keys())
    if names - HISTORY_KEYS or not {"epoch", "split"} <= names:
        return None
    try:
        epoch = np.asarray(columns["epoch"])
        n = len(epoch)
        if epoch.dtype.kind not in "iu" or epoch.shape != (n,) or n > MAX_HISTORY_ROWS or len(columns["split"]) != n:
            return None
        codes = [_SPLIT_CODE.get(name) if type(name) is str else None for name in columns["split"]]
        if None in codes:
            return None
        numbers = [np.asarray(columns[c], dtype=float) if c in names else np.full(n, np.nan) for c in ("loss", "acc")]
        if any(v.shape != (n,) for v in numbers):
            return None
    except (TypeError, ValueError):
        return None
    return _checked_columns(epoch.astype(np.int64), np.array(codes, dtype=np.uint8), *numbers)


def _checked_columns(epoch: np.ndarray, split: np.ndarray, loss: np.ndarray, acc: np.ndarray) -> History | None:
    """History columns in split-name, epoch order when every value is allowed (non-finite numbers become NaN),
    else None (row by row tells why)."""
    if not len(epoch):
        return EMPTY_HISTORY
    if epoch.min() < 0 or epoch.max() > MAX_EPOCH:
        return None
    loss, acc = (np.where(np.isfinite(v), v, np.nan) for v in (loss, acc))
    if ((acc < 0) | (acc > 1)).any():  # NaN compares false
        return None
    key = _SPLIT_RANK[split] * (MAX_EPOCH + 1) + epoch
    if (key[1:] > key[:-1]).all():  # in order already, so no split and epoch twice
        return History(epoch, split, loss, acc)
    order = np.argsort(key, kind="stable")
    key = key[order]
    if not (key[1:] > key[:-1]).all():  # a second row for a split and epoch
        return None
    return History(epoch[order], split[order], loss[order], acc[order])


def check_run(rec: Any, where: Any = None) -> dict[str, Any]:
    """A run record normalised to the schema, or SchemaError with one line naming the field."""
    from .studies import STUDIES

    where = Msg(N_("run")) if where is None else where
    if not isinstance(rec, Mapping):
        raise SchemaError(N_("{where}: {value} is not allowed; a run is an object {{study, config, metrics, status}}"), where=where,
                          value=short_repr(rec))
    missing = [k for k in ("study", "config", "metrics", "status") if k not in rec]
    if missing:
        raise SchemaError(N_("{where}: missing {names}"), where=where, names=", ".join(missing))
    unknown = [k for k in rec if k not in RECORD_KEYS]
    if unknown:
        raise SchemaError(N_("{where}: unknown field(s) {names}"), where=where, names=", ".join(short_repr(k, 40) for k in unknown[:5]))
    study = _scalar(rec["study"])
    if not isinstance(study, str) or study not in STUDIES:
        raise SchemaError(N_("{where}: unknown study {value}"), where=where, value=short_repr(study))
    status = _scalar(rec["status"])
    if not isinstance(status, str) or status not in STATUSES:
        raise SchemaError(N_("{where}: status = {value} is not allowed; expected one of {choices}"), where=where,
                          value=short_repr(status), choices="|".join(STATUSES))
    out: dict[str, Any] = {
        "study": study,
        "status": status,
        "config": check_config(study, rec["config"], where),
        "metrics": check_metrics(rec["metrics"], where),
        "created_at": None if is_blank(rec.get("created_at")) else iso_time(rec["created_at"], at(where, "created_at")),
        "history": check_history(rec.get("history"), where),
    }
    if not is_blank(rec.get("source")):
        out["source"] = text(rec["source"], at(where, "source"))
    if not is_blank(rec.get("sweep_id")):
        out["sweep_id"] = text(rec["sweep_id"], at(where, "sweep_id"), 64, printable=True)
    return out


def iso_time(v: Any, what: str | Msg) -> str:
    """An ISO 8601 date-time as text."""
    value = text(v, what, 64, printable=True)
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise SchemaError(N_("{what} = {value} is not allowed; expected an ISO 8601 date-time"), what=what, value=short_repr(value)) from None
    return value


# --- reading what is stored ----------------------------------------------------------------------


def _stored_value(v: Any) -> bool:
    """A config or metric value reading can hold: none, a bool, an exact int, a number or short text."""
    if v is None or isinstance(v, bool):
        return True
    if isinstance(v, int):
        return -MAX_INT <= v <= MAX_INT
    return isinstance(v, float) or (isinstance(v, str) and len(v) <= MAX_TEXT)


def _stored_object(raw: Any, what: str | Msg, reserved: set[str]) -> dict[str, Any]:
    if not isinstance(raw, str) or len(raw) > MAX_STORED_JSON:
        raise SchemaError(N_("{what} is not JSON text"), what=what)
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise SchemaError(N_("{what} is not valid JSON"), what=what) from None
    if not isinstance(value, dict):
        raise SchemaError(N_("{what} is not an object"), what=what)
    for k, v in value.items():
        if not _NAME.fullmatch(k) or k in reserved:
            raise SchemaError(N_("{what} has a field named {name}"), what=what, name=short_repr(k, 40))
        if not _stored_value(v):
            raise SchemaError(N_("{what}: {name} = {value} cannot be read"), what=what, name=k, value=short_repr(v))
    return value


def decode_stored(row: tuple) -> dict[str, Any]:
    """A stored row (id, study, status, config, metrics, created_at, source, sweep_id) as a run record.

    Checks what reading needs (text where text belongs, JSON objects of plain values, integers
    that fit, metrics of their kind) but not today's parameter ranges, so older runs stay readable.
    """
    rid, study, status, config, metrics, created, source, sweep = row
    what = Msg(N_("run {id}"), id=rid)
    for name, value in (("study", study), ("status", status), ("created_at", created), ("source", source)):
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise SchemaError(N_("{what}: {name} is {value}, not text"), what=what, name=name, value=short_repr(value))
    if sweep is not None and not isinstance(sweep, str):
        raise SchemaError(N_("{what}: {name} is {value}, not text"), what=what, name="sweep_id", value=short_repr(sweep))
    cfg = _stored_object(config, at(what, "config"), set(RUN_COLUMNS) - {"seed", "fold"})
    for k in ("seed", "fold"):
        if k in cfg and cfg[k] is not None and (isinstance(cfg[k], bool) or not isinstance(cfg[k], int)):
            raise SchemaError(N_("{what}: config {name} = {value} is not a whole number"), what=what, name=k, value=short_repr(cfg[k]))
    met = _stored_object(metrics, at(what, "metrics"), set(RUN_COLUMNS))
    clean_metrics = {}
    for k, v in met.items():
        if k in METRICS:
            clean_metrics[k] = metric_value(k, v, at(what, Msg(N_("metric {name}"), name=k)))
        elif isinstance(v, str):
            raise SchemaError(N_("{what}: metric {name} = {value} is not a number"), what=what, name=k, value=short_repr(v))
        else:  # a metric this version does not declare: kept as a number
            clean_metrics[k] = math.nan if v is None else float(v)
    return {"id": rid, "study": study, "status": status, "config": cfg, "metrics": clean_metrics,
            "created_at": created, "source": source, "sweep_id": sweep}
