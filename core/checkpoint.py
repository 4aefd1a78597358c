"""Save and load a trained model: its state dict (safetensors) plus the study config that built it.

Loading never unpickles: safetensors holds only tensors and a string→string header, so a file
from someone else cannot run code. A file that is not a model gives `CheckpointError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from .data.bundle import DataBundle, generator

FORMAT = "overfit-lab-model/1"
MAX_BYTES = 200 * 1024 * 1024


class CheckpointError(ValueError):
    """The file is not an Overfit Lab model (or not one this study can rebuild)."""


def to_bytes(model: nn.Module, study_id: str, config: dict[str, Any], data_info: dict[str, Any] | None = None) -> bytes:
    """Serialise the model's state dict and the config that rebuilds it."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    header = {"format": FORMAT, "study": study_id, "config": json.dumps(config), "data": json.dumps(data_info or {})}
    return st_save(tensors, metadata=header)


def save(path: str | Path, model: nn.Module, study_id: str, config: dict[str, Any], data_info: dict[str, Any] | None = None) -> None:
    Path(path).write_bytes(to_bytes(model, study_id, config, data_info))


def from_bytes(blob: bytes) -> tuple[str, dict[str, Any], dict[str, torch.Tensor], dict[str, Any]]:
    """(study id, config, state dict, data info) from saved bytes; CheckpointError if it is not a model file."""
    if len(blob) > MAX_BYTES:
        raise CheckpointError(f"model file is {len(blob) / 1e6:.0f} MB, over the {MAX_BYTES / 1e6:.0f} MB limit")
    try:
        state = st_load(blob)
        header_len = int.from_bytes(blob[:8], "little")
        meta = json.loads(blob[8 : 8 + header_len]).get("__metadata__") or {}
    except (SafetensorError, ValueError, json.JSONDecodeError, UnicodeDecodeError, OverflowError, RuntimeError) as exc:
        raise CheckpointError(f"not an Overfit Lab model file (not safetensors: {str(exc)[:120]})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError("not an Overfit Lab model file (safetensors, but without the overfit-lab-model header)")
    try:
        return meta["study"], json.loads(meta["config"]), state, json.loads(meta.get("data", "{}"))
    except (KeyError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"damaged model header: {exc}") from None


def rebuild(blob: bytes, data: DataBundle | None = None) -> tuple[nn.Module, str, dict[str, Any]]:
    """Rebuild a saved model: (model with its weights, study id, config). Needs the data only for input/output sizes."""
    from .studies import STUDIES

    study_id, config, state, _ = from_bytes(blob)
    study = STUDIES.get(study_id)
    if study is None:
        raise CheckpointError(f"the model was saved by unknown study {study_id!r}")
    run_keys = {"fold", "folds"}
    try:
        cfg = study.config({k: v for k, v in config.items() if k not in run_keys})
    except ValueError as exc:
        raise CheckpointError(f"the saved config is not valid for {study_id}: {exc}") from None
    data = data or study.data(cfg)
    model = study.model(cfg, data, generator(cfg.seed, "init"))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:200]  # torch's message spans lines; the UI and CLI show one
        raise CheckpointError(f"the weights do not fit the model the config describes: {detail}") from None
    model.eval()
    return model, study_id, config


def load(path: str | Path, data: DataBundle | None = None) -> tuple[nn.Module, str, dict[str, Any]]:
    """Rebuild a model from a file written by `save`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    return rebuild(path.read_bytes(), data)


def evaluate_saved(blob: bytes) -> tuple[dict[str, float], str, dict[str, Any]]:
    """Rebuild a saved model and score it on the test split of the data its config names: (metrics, study id, config).

    Raises CheckpointError for a file that is not a model, DataUnavailable when that data cannot be loaded.
    """
    from .studies import STUDIES
    from .training import evaluate

    model, study_id, config = rebuild(blob)
    study = STUDIES[study_id]
    data = study.data(study.config({k: v for k, v in config.items() if k not in {"fold", "folds"}}))
    return evaluate(model, data.test, data.task), study_id, config
