"""Callbacks at epoch end: early stopping, progress, cancel. Each is a small class (as in skorch).

The loop calls `on_train_begin(state)`, `on_epoch_end(state, logs)` after every epoch and
`on_train_end(state)`. A callback stops training by setting `state.stop_reason`.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from torch import nn


@dataclass
class TrainState:
    """What callbacks can see and change while a model trains."""

    model: nn.Module
    epochs: int
    epoch: int = 0
    log: list[dict[str, float]] = field(default_factory=list)  # one dict per epoch: epoch, train_loss, ...
    stop_reason: str | None = None  # 'early_stopping', 'cancelled' or 'diverged' once set
    best_epoch: int | None = None
    restored: bool = False  # a callback put back earlier weights, so the final metrics must be measured again
    started: float = field(default_factory=time.perf_counter)


class Callback:
    """Base class: override what you need."""

    def on_train_begin(self, state: TrainState) -> None:
        pass

    def on_epoch_end(self, state: TrainState, logs: dict[str, float]) -> None:
        pass

    def on_train_end(self, state: TrainState) -> None:
        pass


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by more than `min_delta` for `patience` epochs.

    With `restore_best`, the model ends with the weights of its best epoch.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, restore_best: bool = True):
        if patience < 1:
            raise ValueError(f"patience: {patience} is not allowed; expected an int >= 1")
        self.monitor, self.patience, self.min_delta, self.restore_best = monitor, patience, min_delta, restore_best

    def on_train_begin(self, state: TrainState) -> None:
        self.best = math.inf
        self.best_epoch: int | None = None
        self.best_state: dict[str, Any] | None = None
        self.waited = 0

    def on_epoch_end(self, state: TrainState, logs: dict[str, float]) -> None:
        value = logs.get(self.monitor)
        if value is None:
            raise ValueError(f"early stopping monitors {self.monitor!r}, which this run does not record (is there a validation set?)")
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.waited = value, state.epoch, 0
            if self.restore_best:
                self.best_state = copy.deepcopy(state.model.state_dict())
        else:
            self.waited += 1
            if self.waited >= self.patience:
                state.stop_reason = "early_stopping"
        state.best_epoch = self.best_epoch

    def on_train_end(self, state: TrainState) -> None:
        if self.restore_best and self.best_state is not None:
            state.model.load_state_dict(self.best_state)
            state.restored = True


class Progress(Callback):
    """Report progress after each epoch: `report(fraction_done, logs)`."""

    def __init__(self, report: Callable[[float, dict[str, float]], None]):
        self.report = report

    def on_epoch_end(self, state: TrainState, logs: dict[str, float]) -> None:
        self.report(state.epoch / state.epochs, logs)


class Cancel(Callback):
    """Stop (status 'cancelled') as soon as `should_stop()` returns True."""

    def __init__(self, should_stop: Callable[[], bool]):
        self.should_stop = should_stop

    def on_epoch_end(self, state: TrainState, logs: dict[str, float]) -> None:
        if self.should_stop():
            state.stop_reason = "cancelled"
