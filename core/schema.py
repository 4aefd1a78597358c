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
from datetime import datetime
from typing import Any, Mapping

import pandas as pd

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
HISTORY_KEYS = ("epoch", "split", "loss", "acc")
RUN_COLUMNS = ["id", "study", "status", "seed", "fold", "sweep_id", "created_at", "source"]  # the runs table's first columns
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")


class SchemaError(ValueError):
    """A run record outside the schema: one line naming the field."""


# --- single values -------------------------------------------------------------------------------


def _scalar(v: Any) -> Any:
    """numpy / torch scalars as Python values; anything else unchanged."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes, bool, int, float)):
        try:
            return v.item()
        except (TypeError, ValueError, RuntimeError):
            return v  # an array of several elements: refused by the caller
    return v


def is_blank(v: Any) -> bool:
    """None, NA, NaN or an empty text cell: a value a table leaves out."""
    v = _scalar(v)
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v.strip() == "")


def whole_number(v: Any, what: str, low: int = 0, high: int = MAX_INT) -> int:
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
        raise SchemaError(f"{what} = {short_repr(v)} is not allowed; expected a whole number in [{low}, {high}]")
    return number


def real_number(v: Any, what: str, low: float = -math.inf, high: float = math.inf) -> float:
    """A float (NaN for blank or non-finite) in [low, high]; SchemaError naming `what` otherwise."""
    if is_blank(v):
        return math.nan
    v = _scalar(v)
    try:
        if isinstance(v, bool) or not isinstance(v, (int, float, str)) or (isinstance(v, str) and len(v) > 40):
            raise ValueError
        number = float(v)  # OverflowError for ints beyond a float
    except (ValueError, OverflowError):
        raise SchemaError(f"{what} = {short_repr(v)} is not allowed; expected a number") from None
    if not math.isfinite(number):
        return math.nan  # NaN and infinities are stored as 'no value'
    if not low <= number <= high:
        raise SchemaError(f"{what} = {short_repr(v)} is not allowed; expected a number in [{low:g}, {high:g}]")
    return number


def yes_no(v: Any, what: str) -> bool:
    """A bool from a bool, 0/1 or true/false text."""
    v = _scalar(v)
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "1", "0"):
        return v.strip().lower() in ("true", "1")
    raise SchemaError(f"{what} = {short_repr(v)} is not allowed; expected true or false")


def text(v: Any, what: str, max_len: int = MAX_TEXT, printable: bool = False) -> str:
    """A string of at most `max_len` characters (without control characters when `printable`)."""
    v = _scalar(v)
    if not isinstance(v, str) or len(v) > max_len or (printable and not v.isprintable()):
        kind = "printable text" if printable else "text"
        raise SchemaError(f"{what} = {short_repr(v)} is not allowed; expected {kind} of at most {max_len} characters")
    return v


def metric_value(name: str, v: Any, what: str) -> Any:
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


def check_config(study_id: str, config: Any, where: str, complete: bool = True) -> dict[str, Any]:
    """Every parameter of the study, validated by its declaration, plus fold/folds when present.

    An optional parameter (`Param.optional`) may be absent, and is left out at its default, as stored configs have it.
    `complete=False` lets parameters be left out (they take their defaults later), as a hand-made model file may.
    """
    from .studies import STUDIES

    study = STUDIES[study_id]
    if not isinstance(config, Mapping):
        raise SchemaError(f"{where}: config = {short_repr(config)} is not allowed; expected an object of parameters")
    unknown = [k for k in config if k not in study.param_map and k not in RUN_EXTRAS]
    if unknown:
        names = ", ".join(short_repr(k, 40) for k in unknown[:5])
        raise SchemaError(f"{where}: config: unknown parameter(s) {names} for study {study_id}")
    absent = [p.name for p in study.params if p.name not in config or is_blank(config[p.name])]
    needed = [name for name in absent if not study.param(name).optional]  # an optional one absent means its default
    if needed and complete:
        raise SchemaError(f"{where}: config: study {study_id} needs parameter(s) {', '.join(needed)}")
    clean: dict[str, Any] = {}
    for p in study.params:
        if p.name in absent:
            continue
        try:
            value = p.validate(config[p.name])
        except ValueError as exc:
            raise SchemaError(f"{where}: config: {exc}") from None
        if not (p.optional and value == p.default):  # stored as core.studies.config_dict writes it: left out
            clean[p.name] = value
    folds, fold = config.get("folds"), config.get("fold")
    if not is_blank(folds):
        clean["folds"] = whole_number(folds, f"{where}: config: folds", 2, MAX_FOLDS)
    if not is_blank(fold):
        if "folds" not in clean:
            raise SchemaError(f"{where}: config: fold = {short_repr(fold)} is not allowed without folds")
        clean["fold"] = whole_number(fold, f"{where}: config: fold", 0, clean["folds"] - 1)
    return clean


def check_metrics(metrics: Any, where: str) -> dict[str, Any]:
    """Declared metrics only, each of its kind; blank or non-finite values become NaN."""
    if not isinstance(metrics, Mapping):
        raise SchemaError(f"{where}: metrics = {short_repr(metrics)} is not allowed; expected an object of metrics")
    unknown = [k for k in metrics if not (isinstance(k, str) and k in METRICS)]
    if unknown:
        raise SchemaError(f"{where}: unknown metric(s) {', '.join(short_repr(k, 40) for k in unknown[:5])}")
    return {name: metric_value(name, v, f"{where}: metric {name}") for name, v in metrics.items()}


def check_history(rows: Any, where: str) -> list[dict[str, Any]]:
    """History rows {epoch, split, loss, acc}: at most one per split and epoch."""
    if rows is None:
        return []
    if not isinstance(rows, (list, tuple)):
        raise SchemaError(f"{where}: history = {short_repr(rows)} is not allowed; expected a list of {{epoch, split, loss, acc}}")
    if len(rows) > MAX_HISTORY_ROWS:
        raise SchemaError(f"{where}: history has {len(rows)} rows; at most {MAX_HISTORY_ROWS} are allowed")
    clean, seen = [], set()
    for i, h in enumerate(rows):
        at = f"{where}: history row {i + 1}"
        if not isinstance(h, Mapping):
            raise SchemaError(f"{at} = {short_repr(h)} is not allowed; expected {{epoch, split, loss, acc}}")
        extra = [k for k in h if k not in HISTORY_KEYS]
        if extra or "epoch" not in h or "split" not in h:
            raise SchemaError(f"{at}: {short_repr(dict(h), 80)} is not {{epoch, split (train|val|test), loss, acc}}")
        epoch = whole_number(h["epoch"], f"{at}: epoch", 0, MAX_EPOCH)
        split = _scalar(h["split"])
        if not isinstance(split, str) or split not in SPLITS:
            raise SchemaError(f"{at}: split = {short_repr(split)} is not allowed; expected one of {'|'.join(SPLITS)}")
        if (split, epoch) in seen:
            raise SchemaError(f"{at}: a second row for split {split}, epoch {epoch}")
        seen.add((split, epoch))
        loss = real_number(h.get("loss"), f"{at}: loss")
        acc = real_number(h.get("acc"), f"{at}: acc", 0.0, 1.0)
        clean.append({"epoch": epoch, "split": split, "loss": None if math.isnan(loss) else loss,
                      "acc": None if math.isnan(acc) else acc})
    return clean


def check_run(rec: Any, where: str = "run") -> dict[str, Any]:
    """A run record normalised to the schema, or SchemaError with one line naming the field."""
    from .studies import STUDIES

    if not isinstance(rec, Mapping):
        raise SchemaError(f"{where}: {short_repr(rec)} is not allowed; a run is an object {{study, config, metrics, status}}")
    missing = [k for k in ("study", "config", "metrics", "status") if k not in rec]
    if missing:
        raise SchemaError(f"{where}: missing {', '.join(missing)}")
    unknown = [k for k in rec if k not in RECORD_KEYS]
    if unknown:
        raise SchemaError(f"{where}: unknown field(s) {', '.join(short_repr(k, 40) for k in unknown[:5])}")
    study = _scalar(rec["study"])
    if not isinstance(study, str) or study not in STUDIES:
        raise SchemaError(f"{where}: unknown study {short_repr(study)}")
    status = _scalar(rec["status"])
    if not isinstance(status, str) or status not in STATUSES:
        raise SchemaError(f"{where}: status = {short_repr(status)} is not allowed; expected one of {'|'.join(STATUSES)}")
    out: dict[str, Any] = {
        "study": study,
        "status": status,
        "config": check_config(study, rec["config"], where),
        "metrics": check_metrics(rec["metrics"], where),
        "created_at": None if is_blank(rec.get("created_at")) else iso_time(rec["created_at"], f"{where}: created_at"),
        "history": check_history(rec.get("history"), where),
    }
    if not is_blank(rec.get("source")):
        out["source"] = text(rec["source"], f"{where}: source")
    if not is_blank(rec.get("sweep_id")):
        out["sweep_id"] = text(rec["sweep_id"], f"{where}: sweep_id", 64, printable=True)
    return out


def iso_time(v: Any, what: str) -> str:
    """An ISO 8601 date-time as text."""
    value = text(v, what, 64, printable=True)
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise SchemaError(f"{what} = {short_repr(value)} is not allowed; expected an ISO 8601 date-time") from None
    return value


# --- reading what is stored ----------------------------------------------------------------------


def _stored_value(v: Any) -> bool:
    """A config or metric value reading can hold: none, a bool, an exact int, a number or short text."""
    if v is None or isinstance(v, bool):
        return True
    if isinstance(v, int):
        return -MAX_INT <= v <= MAX_INT
    return isinstance(v, float) or (isinstance(v, str) and len(v) <= MAX_TEXT)


def _stored_object(raw: Any, what: str, reserved: set[str]) -> dict[str, Any]:
    if not isinstance(raw, str) or len(raw) > MAX_STORED_JSON:
        raise SchemaError(f"{what} is not JSON text")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise SchemaError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise SchemaError(f"{what} is not an object")
    for k, v in value.items():
        if not _NAME.fullmatch(k) or k in reserved:
            raise SchemaError(f"{what} has a field named {short_repr(k, 40)}")
        if not _stored_value(v):
            raise SchemaError(f"{what}: {k} = {short_repr(v)} cannot be read")
    return value


def decode_stored(row: tuple) -> dict[str, Any]:
    """A stored row (id, study, status, config, metrics, created_at, source, sweep_id) as a run record.

    Checks what reading needs (text where text belongs, JSON objects of plain values, integers
    that fit, metrics of their kind) but not today's parameter ranges, so older runs stay readable.
    """
    rid, study, status, config, metrics, created, source, sweep = row
    what = f"run {rid}"
    for name, value in (("study", study), ("status", status), ("created_at", created), ("source", source)):
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise SchemaError(f"{what}: {name} is {short_repr(value)}, not text")
    if sweep is not None and not isinstance(sweep, str):
        raise SchemaError(f"{what}: sweep_id is {short_repr(sweep)}, not text")
    cfg = _stored_object(config, f"{what}: config", set(RUN_COLUMNS) - {"seed", "fold"})
    for k in ("seed", "fold"):
        if k in cfg and cfg[k] is not None and (isinstance(cfg[k], bool) or not isinstance(cfg[k], int)):
            raise SchemaError(f"{what}: config {k} = {short_repr(cfg[k])} is not a whole number")
    met = _stored_object(metrics, f"{what}: metrics", set(RUN_COLUMNS))
    clean_metrics = {}
    for k, v in met.items():
        if k in METRICS:
            clean_metrics[k] = metric_value(k, v, f"{what}: metric {k}")
        elif isinstance(v, str):
            raise SchemaError(f"{what}: metric {k} = {short_repr(v)} is not a number")
        else:  # a metric this version does not declare: kept as a number
            clean_metrics[k] = math.nan if v is None else float(v)
    return {"id": rid, "study": study, "status": status, "config": cfg, "metrics": clean_metrics,
            "created_at": created, "source": source, "sweep_id": sweep}
