"""The one training loop, vectorised over the M models of an engine (M = 1 for a single run).

The loop owns the epochs, the stop conditions (a budget of epochs per model, divergence per model, and
whatever the callbacks decide: early stopping, cancel), progress and the per-epoch history. An engine
(`core.engines`) owns the models: it trains one epoch of the models still running, evaluates every split of
every model, snapshots and restores weights, and hands back model m as an `nn.Module`.

The loop can be driven one epoch at a time: `step()` trains and evaluates one epoch and returns that
epoch's records; between steps a caller may read `history(m)` or `model(m)`, pause, and resume later.
`run()` steps until every model has stopped and returns one `FitResult` per model.

After every epoch each split is evaluated in eval mode. A NaN or infinite value ends that model alone
with status 'diverged' (the others carry on). A model may instead be evaluated every `every` epochs (and after
its last): a step then trains it that many epochs, its history holds those epochs only, and its training is
the same (evaluation changes no weight and draws no random number). Models with different epoch budgets
then take about as many steps each, so they train together without the short ones idling.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

from .callbacks import Callback, Cancel, TrainState
from .i18n import N_, Msg, MsgText

SPLITS = ("train", "val", "test")


@dataclass
class FitResult:
    """What training one model produced."""

    status: str  # 'ok', 'diverged' or 'cancelled'
    metrics: dict[str, float]
    log: list[dict[str, float]]  # one dict per epoch
    best_epoch: int | None = None

    @property
    def history(self) -> Any:
        """Tidy history: a row per epoch × split with loss and acc (acc NaN for regression)."""
        return history_frame(self.log)


def history_frame(log: Sequence[dict[str, float]]) -> Any:
    """Turn per-epoch dicts (train_loss, val_acc, ...) into a DataFrame of (epoch, split, loss, acc) rows."""
    import numpy as np
    import pandas as pd

    epoch, split, loss, acc = [], [], [], []
    for rec in log:
        for name in SPLITS:
            if f"{name}_loss" in rec:
                epoch.append(rec["epoch"])
                split.append(name)
                loss.append(rec[f"{name}_loss"])
                acc.append(rec.get(f"{name}_acc", math.nan))
    return pd.DataFrame({"epoch": np.array(epoch, dtype=np.int64), "split": np.array(split, dtype=object),
                         "loss": np.array(loss, dtype=np.float64), "acc": np.array(acc, dtype=np.float64)})


def metric_keys(splits: Sequence[str], task: str) -> list[str]:
    """The per-epoch metric names of a model with these splits, in the order runs report them."""
    kinds = ("loss", "acc") if task == "classification" else ("loss",)
    return [f"{s}_{k}" for s in splits for k in kinds]


class Loop:
    """Train an engine's M models epoch by epoch: `step()` one epoch, `run()` to the end, `results()`."""

    def __init__(self, engine: Any, epochs: int | Sequence[int], callbacks: Sequence[Callback] = (),
                 every: int | Sequence[int] = 1):
        self.engine = engine
        M = engine.M
        budget = torch.as_tensor(epochs, dtype=torch.long)
        budget = budget.expand(M).clone() if budget.ndim == 0 else budget
        every_t = torch.as_tensor(every, dtype=torch.long)
        self.every = (every_t.expand(M).clone() if every_t.ndim == 0 else every_t).clamp_min(1)
        self.strided = bool((self.every > 1).any())
        if self.strided and any(cb.every_epoch for cb in callbacks):
            name = next(type(cb).__name__ for cb in callbacks if cb.every_epoch)
            raise ValueError(f"{name} needs every epoch's metrics; it cannot run with a history of every k epochs")
        steps = int((-(-budget // self.every)).max()) if M else 0
        self.state = TrainState(engine, budget, steps=steps)
        self.callbacks = list(callbacks)
        self.running = torch.ones(M, dtype=torch.bool)
        self.keys = [metric_keys(names, engine.task) for names in engine.split_names]
        self.seconds = {"train": 0.0, "evaluate": 0.0}  # time spent in the engine, for benchmarks and the CLI
        self._begun = self._ended = False
        self._results: list[FitResult] | None = None

    @property
    def M(self) -> int:
        return self.engine.M

    @property
    def epoch(self) -> int:
        """Steps taken so far: epochs trained, when every model is evaluated every epoch."""
        return self.state.epoch

    @property
    def done(self) -> bool:
        """True once every model has stopped (budget reached, early stopping, divergence or cancel)."""
        return self._ended or not bool(self.running.any())

    def model(self, m: int = 0) -> Any:
        """Model m as an nn.Module holding its current weights (between steps, or after training)."""
        return self.engine.model(m)

    def history(self, m: int = 0) -> Any:
        """Model m's history so far as a tidy DataFrame."""
        return history_frame(self.state.log[m])

    def step(self) -> dict[int, dict[str, float]]:
        """Train and evaluate one epoch of the models still running; returns {model index: that epoch's record}."""
        state = self.state
        if not self._begun:
            self._begun = True
            for cb in self.callbacks:
                cb.on_train_begin(state)
        if self.done:
            return {}
        state.epoch += 1
        epoch = state.epoch
        trained = self.running.clone()
        t0 = time.perf_counter()
        if self.strided:
            counts = torch.where(trained, torch.minimum(self.every, state.epochs - state.trained), 0)
            self.engine.train_epochs(trained, counts)
            state.trained += counts
        else:
            self.engine.train_epoch(trained)
            state.trained += trained.long()
        t1 = time.perf_counter()
        values = self.engine.evaluate()
        self.seconds["train"] += t1 - t0
        self.seconds["evaluate"] += time.perf_counter() - t1
        lists = {k: v.tolist() for k, v in values.items()}
        records: dict[int, dict[str, float]] = {}
        finite = trained.clone()
        done = state.trained.tolist()
        for m in torch.nonzero(trained).flatten().tolist():
            rec: dict[str, float] = {"epoch": done[m]}
            for key in self.keys[m]:
                rec[key] = lists[key][m]
            records[m] = rec
            state.log[m].append(rec)
            if not all(math.isfinite(rec[key]) for key in self.keys[m]):
                state.stop_reason[m] = "diverged"  # no callback sees a non-finite epoch
                finite[m] = False
        state.active = finite
        logs = {"epoch": epoch, **values}
        for cb in self.callbacks:
            cb.on_epoch_end(state, logs)
        for m in records:
            if state.stop_reason[m] is not None or done[m] >= int(state.epochs[m]):
                self.running[m] = False
        state.active = torch.zeros_like(finite)
        return records

    def run(self, progress: Callable[[float, str], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> list[FitResult]:
        """Step until every model has stopped; `progress(fraction, text)` after each epoch, `should_stop()` cancels."""
        extra: list[Callback] = [Cancel(should_stop)] if should_stop is not None else []
        self.callbacks.extend(extra)
        try:
            while not self.done:
                self.step()
                if progress is not None:
                    progress(self.epoch / max(1, self.state.steps), self._progress_text())
        finally:
            for cb in extra:
                self.callbacks.remove(cb)
        return self.results()

    def _progress_text(self) -> str:
        epoch = self.epoch if not self.strided else int(self.state.trained.max())
        return MsgText(Msg(N_("epoch {epoch}/{total}"), epoch=epoch, total=self.state.max_epochs))

    def finish(self) -> None:
        """End training now (the models still running keep their current weights); calls on_train_end once."""
        if self._ended:
            return
        if not self._begun:
            self._begun = True
            for cb in self.callbacks:
                cb.on_train_begin(self.state)
        self._ended = True
        self.running[:] = False
        for cb in self.callbacks:
            cb.on_train_end(self.state)

    def results(self) -> list[FitResult]:
        """One FitResult per model: status, final metrics (re-measured where best weights were restored), history."""
        if self._results is not None:
            return self._results
        self.finish()
        self._results = self._fit_results()
        return self._results

    def results_so_far(self) -> list[FitResult]:
        """One FitResult per model as training stands now, without ending it (a paused run, saved as if its budget
        were the epochs trained so far). Best weights are restored only at the end, so this is what `results()`
        gives after that many epochs when no callback restores any (restore_best off)."""
        return self._fit_results() if self._results is None else self._results

    def _fit_results(self) -> list[FitResult]:
        state = self.state
        again = [m for m in range(self.M) if state.stop_reason[m] != "diverged" and (state.restored[m] or not state.log[m])]
        final = {k: v.tolist() for k, v in self.engine.evaluate().items()} if again else {}
        out = []
        for m in range(self.M):
            reason = state.stop_reason[m]
            status = {"diverged": "diverged", "cancelled": "cancelled"}.get(reason or "", "ok")
            keys = self.keys[m]
            if status == "diverged":  # every loss, then every accuracy, all NaN
                metrics = {k: math.nan for k in sorted(keys, key=lambda k: k.endswith("_acc"))}
            elif m in again:
                metrics = {k: final[k][m] for k in keys}
            else:  # the model is as its last epoch's evaluation left it
                metrics = {k: state.log[m][-1][k] for k in keys}
            metrics["epochs_run"] = int(state.trained[m])
            metrics["stopped_early"] = reason == "early_stopping"
            if state.best_epoch[m] is not None:
                metrics["best_epoch"] = state.best_epoch[m]
            out.append(FitResult(status, metrics, list(state.log[m]), state.best_epoch[m]))
        return out
