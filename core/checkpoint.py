"""Save and load a trained model: its state dict (safetensors) plus the study config that built it.

Loading never unpickles: safetensors holds only tensors and a string→string header, so a file
from someone else cannot run code. A file that is not a model gives `CheckpointError` (one line),
and it is found out cheaply: the header is read and checked against the study's parameter
declarations, and its tensor table against the shapes the config implies, before any tensor is
loaded or any model is built.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from .data.bundle import DataBundle, generator
from .i18n import N_, Msg, Translated, message
from .params import short_repr
from .schema import RUN_EXTRAS, check_config

FORMAT = "overfit-lab-model/1"
MAX_BYTES = 200 * 1024 * 1024
MAX_HEADER_BYTES = 256 * 1024  # the largest model here (depth 16, batch norm) needs about 15 KB
MAX_CONFIG_CHARS = 16 * 1024
MAX_HEADER_DEPTH = 3  # {name: {"shape": [..]}}: anything nested deeper is not a safetensors header
MAX_DIMS = 8
_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64,
           "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}
_CODES = {v: k for k, v in _DTYPES.items()}
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')


class CheckpointError(Translated, ValueError):
    """The file is not an Overfit Lab model (or not one this study can rebuild)."""


@dataclass(frozen=True)
class TensorInfo:
    """One entry of a safetensors file's tensor table: dtype code, shape and byte range."""

    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclass(frozen=True)
class Header:
    """What a model file says about itself, read and checked without loading any tensor."""

    study: str
    config: dict[str, Any]  # the study parameters (validated), plus fold/folds when it was a K-fold run
    data: dict[str, Any]
    tensors: dict[str, TensorInfo]


def to_bytes(model: nn.Module, study_id: str, config: dict[str, Any], data_info: dict[str, Any] | None = None) -> bytes:
    """Serialise the model's state dict and the config that rebuilds it."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    header = {"format": FORMAT, "study": study_id, "config": json.dumps(config), "data": json.dumps(data_info or {})}
    return st_save(tensors, metadata=header)


def save(path: str | Path, model: nn.Module, study_id: str, config: dict[str, Any], data_info: dict[str, Any] | None = None) -> None:
    Path(path).write_bytes(to_bytes(model, study_id, config, data_info))


def _depth(text: str) -> int:
    """How deeply JSON text nests (brackets inside strings do not count)."""
    depth = deepest = 0
    for ch in re.findall(r"[\[\]{}]", _STRINGS.sub('""', text)):
        depth += 1 if ch in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _json(text: str, what: Msg, max_depth: int) -> Any:
    if _depth(text) > max_depth:
        raise CheckpointError(N_("damaged model header: the {what} nests deeper than {depth} levels"), what=what, depth=max_depth)
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError also covers integers of thousands of digits
        raise CheckpointError(N_("damaged model header: the {what} is not JSON ({detail})"), what=what,
                              detail=" ".join(str(exc).split())[:80]) from None


def _tensor_table(header: dict[str, Any], data_size: int) -> dict[str, TensorInfo]:
    table = {}
    for name, entry in header.items():
        ok = isinstance(entry, dict) and set(entry) == {"dtype", "shape", "data_offsets"}
        shape, offsets = (entry.get("shape"), entry.get("data_offsets")) if ok else (None, None)
        ok = ok and isinstance(entry["dtype"], str) and isinstance(shape, list) and len(shape) <= MAX_DIMS
        ok = ok and all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 2**40 for d in shape)
        ok = ok and isinstance(offsets, list) and len(offsets) == 2
        ok = ok and all(isinstance(o, int) and not isinstance(o, bool) for o in offsets) and 0 <= offsets[0] <= offsets[1] <= data_size
        if not ok:
            raise CheckpointError(N_("not an Overfit Lab model file (the tensor table entry {name} is malformed)"), name=short_repr(name, 40))
        table[name] = TensorInfo(entry["dtype"], tuple(shape), offsets[0], offsets[1])
    return table


def read_header(blob: bytes) -> Header:
    """The model file's header, checked against the study's parameter declarations; no tensor is loaded.

    CheckpointError (one line) for anything that is not an Overfit Lab model: not safetensors, an
    oversized or deeply nested header, an unknown study, a config that is not an object of known
    parameters inside their ranges.
    """
    from .studies import STUDIES

    if len(blob) > MAX_BYTES:
        raise CheckpointError(N_("model file is {mb:.0f} MB, over the {limit:.0f} MB limit"), mb=len(blob) / 1e6, limit=MAX_BYTES / 1e6)
    size = int.from_bytes(blob[:8], "little") if len(blob) >= 8 else -1
    if not 2 <= size <= len(blob) - 8:
        raise CheckpointError(N_("not an Overfit Lab model file (not safetensors: no valid header length)"))
    if size > MAX_HEADER_BYTES:
        raise CheckpointError(N_("not an Overfit Lab model file (a header of {size:,} bytes; a model's is at most {limit:,})"), size=size,
                              limit=MAX_HEADER_BYTES)
    try:
        text = blob[8 : 8 + size].decode("utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(N_("not an Overfit Lab model file (not safetensors: the header is not UTF-8)")) from None
    header = _json(text, Msg(N_("tensor table")), MAX_HEADER_DEPTH)
    if not isinstance(header, dict):
        raise CheckpointError(N_("not an Overfit Lab model file (not safetensors: the header is not an object)"))
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise CheckpointError(N_("not an Overfit Lab model file (safetensors metadata must map names to text)"))
    tensors = _tensor_table(header, len(blob) - 8 - size)
    if meta.get("format") != FORMAT:
        raise CheckpointError(N_("not an Overfit Lab model file (safetensors, but without the overfit-lab-model header)"))
    study_id = meta.get("study")
    if study_id not in STUDIES:
        raise CheckpointError(N_("the model was saved by unknown study {study}"), study=short_repr(study_id))
    if len(meta.get("config", "")) > MAX_CONFIG_CHARS or len(meta.get("data", "")) > MAX_CONFIG_CHARS:
        raise CheckpointError(N_("damaged model header: the config is over {limit:,} characters"), limit=MAX_CONFIG_CHARS)
    if "config" not in meta:
        raise CheckpointError(N_("damaged model header: no config"))
    config = _json(meta["config"], Msg(N_("config")), 1)
    data = _json(meta.get("data", "{}"), Msg(N_("data description")), 1)
    if not isinstance(config, dict):
        raise CheckpointError(N_("damaged model header: the config is {value}, not an object of parameters"), value=short_repr(config))
    if not isinstance(data, dict):
        raise CheckpointError(N_("damaged model header: the data description is {value}, not an object"), value=short_repr(data))
    try:  # the same declarations as the sliders, the CLI and the store; cross-parameter rules too
        checked = check_config(study_id, config, Msg(N_("the saved {study} model"), study=study_id), complete=False)
        STUDIES[study_id].config({k: v for k, v in checked.items() if k not in RUN_EXTRAS})
    except ValueError as exc:
        raise CheckpointError(message(exc)) from None
    return Header(study_id, checked, data, tensors)


def expected_tensors(study_id: str, config: dict[str, Any], data: DataBundle | None = None) -> dict[str, TensorInfo]:
    """Every tensor the config's model has (dtype code and shape), from the model built on the meta device (no memory)."""
    from .studies import STUDIES

    study = STUDIES[study_id]
    cfg = study.config({k: v for k, v in config.items() if k not in RUN_EXTRAS})
    data = data or study.data(cfg)
    with torch.device("meta"):
        model = study.model(cfg, data, generator(cfg.seed, "init"))
    return {k: TensorInfo(_CODES.get(v.dtype, str(v.dtype)), tuple(v.shape), 0, 0) for k, v in model.state_dict().items()}


def check_tensors(found: dict[str, TensorInfo], expected: dict[str, TensorInfo]) -> None:
    """CheckpointError unless the file holds exactly the expected tensors, each with its dtype, shape and byte size."""
    missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
    if missing or extra:
        detail = (Msg(N_("missing {names}; unexpected {extra}"), names=", ".join(missing[:4]), extra=", ".join(extra[:4]))
                  if missing and extra else Msg(N_("missing {names}"), names=", ".join(missing[:4])) if missing
                  else Msg(N_("unexpected {names}"), names=", ".join(extra[:4])))
        raise CheckpointError(N_("the weights do not fit the model the config describes: {detail}"), detail=detail)
    for name, want in expected.items():
        got = found[name]
        if (got.dtype, got.shape) != (want.dtype, want.shape):
            raise CheckpointError(N_("the weights do not fit the model the config describes: {name} is {dtype} {shape} in the file, "
                                     "{want_dtype} {want_shape} in the model"), name=name, dtype=got.dtype, shape=list(got.shape),
                                  want_dtype=want.dtype, want_shape=list(want.shape))
        itemsize = _DTYPES[want.dtype].itemsize if want.dtype in _DTYPES else None
        if itemsize is not None and got.end - got.begin != math.prod(got.shape) * itemsize:
            raise CheckpointError(N_("damaged model file: {name} holds {size} bytes, its shape needs {needed}"), name=name,
                                  size=got.end - got.begin, needed=math.prod(got.shape) * itemsize)


def from_bytes(blob: bytes) -> tuple[str, dict[str, Any], dict[str, torch.Tensor], dict[str, Any]]:
    """(study id, config, state dict, data info) from saved bytes; CheckpointError if it is not a model file."""
    header = read_header(blob)
    return header.study, header.config, _load_tensors(blob), header.data


def _load_tensors(blob: bytes) -> dict[str, torch.Tensor]:
    try:
        return st_load(blob)
    except (SafetensorError, ValueError, OverflowError, RuntimeError) as exc:
        raise CheckpointError(N_("not an Overfit Lab model file (not safetensors: {detail})"),
                              detail=" ".join(str(exc).split())[:120]) from None


def rebuild(blob: bytes, data: DataBundle | None = None) -> tuple[nn.Module, str, dict[str, Any]]:
    """Rebuild a saved model: (model with its weights, study id, config). Needs the data only for input/output sizes.

    The header is checked first, then its tensor table against the shapes the config implies (on the
    meta device), so a small file that describes a huge model is refused before anything is allocated.
    """
    from .studies import STUDIES

    header = read_header(blob)
    study = STUDIES[header.study]
    cfg = study.config({k: v for k, v in header.config.items() if k not in RUN_EXTRAS})
    data = data or study.data(cfg)
    check_tensors(header.tensors, expected_tensors(header.study, header.config, data))
    state = _load_tensors(blob)
    model = study.model(cfg, data, generator(cfg.seed, "init"))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:200]  # torch's message spans lines; the UI and CLI show one
        raise CheckpointError(N_("the weights do not fit the model the config describes: {detail}"), detail=detail) from None
    model.eval()
    return model, header.study, header.config


def load(path: str | Path, data: DataBundle | None = None) -> tuple[nn.Module, str, dict[str, Any]]:
    """Rebuild a model from a file written by `save`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(N_("{name}: no such file"), name=path)
    return rebuild(path.read_bytes(), data)


def evaluate_saved(blob: bytes) -> tuple[dict[str, float], str, dict[str, Any]]:
    """Rebuild a saved model and score it on the test split of the data its config names: (metrics, study id, config).

    Raises CheckpointError for a file that is not a model, DataUnavailable when that data cannot be loaded.
    """
    from .studies import STUDIES
    from .training import evaluate

    model, study_id, config = rebuild(blob)
    study = STUDIES[study_id]
    data = study.data(study.config({k: v for k, v in config.items() if k not in RUN_EXTRAS}))
    return evaluate(model, data.test, data.task), study_id, config
