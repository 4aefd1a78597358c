"""Callbacks at epoch end: early stopping, progress, cancel. Each is a small class (as in skorch).

The loop (`core.loop.Loop`) trains M models at once (M = 1 for a single run) and calls
`on_train_begin(state)`, `on_epoch_end(state, logs)` after every epoch and `on_train_end(state)` once.
`logs` holds the epoch number and, per metric, a tensor of M values (NaN where a model lacks that split).
A callback acts on the models in `state.active` (those that trained this epoch and did not diverge) and
stops some of them with `state.stop(mask, reason)`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch


@dataclass
class TrainState:
    """What callbacks can see and change while M models train."""

    engine: Any  # the engine training the models (core.engines): engine.model(m), snapshot/restore
    epochs: torch.Tensor  # [M] each model's epoch budget
    epoch: int = 0  # loop steps so far (each model trains `every` epochs a step, 1 unless its history is sparse)
    trained: torch.Tensor | None = None  # [M] epochs each model has trained so far
    steps: int = 0  # the loop steps the longest model needs (= max epochs when every model evaluates every epoch)
    active: torch.Tensor | None = None  # [M] bool: trained this epoch and still finite (callbacks act on these)
    stop_reason: list[str | None] = field(default_factory=list)  # per model: 'early_stopping', 'cancelled', 'diverged'
    best_epoch: list[int | None] = field(default_factory=list)
    restored: torch.Tensor | None = None  # [M] bool: earlier weights were put back, so final metrics are measured again
    log: list[list[dict[str, float]]] = field(default_factory=list)  # per model, one dict per epoch
    started: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        M = len(self.epochs)
        self.active = torch.zeros(M, dtype=torch.bool) if self.active is None else self.active
        self.restored = torch.zeros(M, dtype=torch.bool) if self.restored is None else self.restored
        self.trained = torch.zeros(M, dtype=torch.long) if self.trained is None else self.trained
        self.steps = self.steps or self.max_epochs
        self.stop_reason = self.stop_reason or [None] * M
        self.best_epoch = self.best_epoch or [None] * M
        self.log = self.log or [[] for _ in range(M)]

    @property
    def M(self) -> int:
        return len(self.epochs)

    @property
    def max_epochs(self) -> int:
        return int(self.epochs.max()) if self.M else 0

    def stop(self, mask: torch.Tensor, reason: str) -> None:
        """End the active models in `mask` with `reason` (a later callback's reason overrides an earlier one)."""
        for m in torch.nonzero(mask & self.active).flatten().tolist():
            self.stop_reason[m] = reason


class Callback:
    """Base class: override what you need."""

    every_epoch = False  # True: it must see every epoch's metrics (a loop that evaluates every k epochs refuses it)

    def on_train_begin(self, state: TrainState) -> None:
        pass

    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        pass

    def on_train_end(self, state: TrainState) -> None:
        pass


def _per_model(value: Any, M: int, dtype: torch.dtype) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=dtype)
    return t.expand(M).clone() if t.ndim == 0 else t


class EarlyStopping(Callback):
    """Stop a model when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    With `restore_best`, the model ends with the weights of its best epoch. Each setting is one value for
    every model or a sequence with one per model; a per-model patience of 0 leaves that model alone.
    """

    every_epoch = True

    def __init__(self, monitor: str = "val_loss", patience: int | Sequence[int] = 5,
                 min_delta: float | Sequence[float] = 0.0, restore_best: bool | Sequence[bool] = True):
        if isinstance(patience, (int, float)) and patience < 1:
            raise ValueError(f"patience: {patience} is not allowed; expected an int >= 1")
        if not isinstance(patience, (int, float)) and any(p < 0 for p in patience):
            raise ValueError("patience: per-model values must be >= 0 (0 = no early stopping for that model)")
        self.monitor, self.patience, self.min_delta, self.restore_best = monitor, patience, min_delta, restore_best

    def on_train_begin(self, state: TrainState) -> None:
        M = state.M
        self._patience = _per_model(self.patience, M, torch.long)
        self._min_delta = _per_model(self.min_delta, M, torch.float64)
        self._restore = _per_model(self.restore_best, M, torch.bool)
        self.best = torch.full((M,), math.inf, dtype=torch.float64)
        self.waited = torch.zeros(M, dtype=torch.long)
        self.has_best = torch.zeros(M, dtype=torch.bool)
        self.snapshot: Any = None

    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        watched = state.active & (self._patience > 0)
        if not bool(watched.any()):
            return
        value = logs.get(self.monitor)
        if value is None or bool(torch.isnan(value[watched]).any()):
            raise ValueError(f"early stopping monitors {self.monitor!r}, which this run does not record (is there a validation set?)")
        improved = watched & (value < self.best - self._min_delta)
        self.best = torch.where(improved, value, self.best)
        self.waited = torch.where(improved, 0, torch.where(watched, self.waited + 1, self.waited))
        keep = improved & self._restore
        if bool(keep.any()):
            self.snapshot = state.engine.snapshot(keep, self.snapshot)
            self.has_best |= keep
        for m in torch.nonzero(improved).flatten().tolist():
            state.best_epoch[m] = int(state.trained[m])
        state.stop(watched & (self.waited >= self._patience), "early_stopping")

    def on_train_end(self, state: TrainState) -> None:
        if bool(self.has_best.any()):
            state.engine.restore(self.snapshot, self.has_best)
            state.restored |= self.has_best


class TargetLoss(Callback):
    """Stop a model (reason 'target_loss') once `monitor` is at or below `target`; `target` None is off, and may be
    changed between epochs (a live view's stop condition)."""

    every_epoch = True

    def __init__(self, target: float | None, monitor: str = "train_loss"):
        self.target, self.monitor = check_target(target), monitor

    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is not None and self.target is not None:
            state.stop(state.active & (value <= self.target), "target_loss")


def check_target(target: float | None) -> float | None:
    """A target loss: None (off) or a finite number > 0; ValueError naming it otherwise."""
    if target is None:
        return None
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not math.isfinite(target) or target <= 0:
        raise ValueError(f"target_loss: {target!r} is not allowed; expected a number > 0")
    return float(target)


class Progress(Callback):
    """Report progress after each epoch: `report(fraction_done, logs)`."""

    def __init__(self, report: Callable[[float, dict[str, Any]], None]):
        self.report = report

    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        self.report(state.epoch / max(1, state.steps), logs)


class Cancel(Callback):
    """Stop every active model (status 'cancelled') as soon as `should_stop()` returns True."""

    def __init__(self, should_stop: Callable[[], bool]):
        self.should_stop = should_stop

    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        if self.should_stop():
            state.stop(state.active, "cancelled")
