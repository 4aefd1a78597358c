"""The Playground's live training: classification runs on 2-D data stepped one epoch at a time in a background thread.

`Runs(configs, labels)` sets up one run per config of the classification study (two side by side: the same data, a
second model), through the one pipeline (`core.pipeline.start_group`): a pair of one model shape is one stacked
computation, two shapes are two loops. `step()` trains every run one epoch; `panel(i)` is what a page draws of run i
(its history so far, its decision boundary on a ≤ 50×50 grid, its weights for the network diagram); `results()` turns
the runs as they stand into ordinary `RunResult`s, stored like any other run, whose config says `epochs` = the epochs
trained, so `python -m core run classification …` trains exactly that run again.

`Trainer(runs)` owns one thread that steps the runs while playing and publishes a `Snapshot` (after an epoch once a page
has read the previous one, at most every `publish_every` seconds, and whenever it pauses: a snapshot costs half an
epoch, so none is made that no page reads): it never waits for a browser; a page reads the latest snapshot when it
redraws. Play, pause (the runs are kept as they are), step one epoch, reset to new runs; a speed cap (epochs per
second), an epoch budget and a target loss are settings that never change the model, so they apply at once. The thread
ends when `close()` is called or `alive()` turns False (the browser session ended); with no page asking for a
snapshot for `lease_s` seconds it pauses. No Streamlit here: the page (`ui/playground.py`), the bench and the tests
drive the same object.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .boundary import LIVE_STEPS, boundary_frame, points_frame
from .callbacks import TargetLoss, check_target
from .charts.boundary import field_picture, shade_cells
from .loop import history_frame
from .params import P
from .pipeline import expand, finish, plan, start_group
from .i18n import N_, MessageError, Msg
from .studies import RunResult, config_dict, get_study

STUDY = "classification"
LIVE_BUDGET = int(P.epochs.high)  # the loops' epoch budget: the view stops at its own epoch limit, below it
PUBLISH_EVERY = 0.1  # seconds between snapshots while playing
LEASE_S = 30.0  # pause when no page has asked for a snapshot for this long (a tab closed without ending the session)
MAX_UNITS_DRAWN = 16  # units per layer in the network diagram (the first ones; the layer's label gives the width)
STOP_REASONS = {"early_stopping": N_("early stopping (validation loss stopped improving)"), "target_loss": N_("target loss reached"),
                "diverged": N_("diverged (the loss became NaN or infinite)"), "cancelled": N_("cancelled")}


@dataclass(frozen=True)
class Panel:
    """One run as a page draws it at one moment."""

    label: str
    config: dict[str, Any]
    epoch: int  # epochs this run has trained
    running: bool  # False once it stopped by itself (early stopping, target loss, divergence)
    stop_reason: str | None
    record: dict[str, float]  # the last epoch's train/val/test loss and accuracy
    history: pd.DataFrame  # epoch, split, loss, acc, run (= label)
    field: pd.DataFrame  # the decision boundary (core.boundary.boundary_frame; `shade` added for > 2 classes)
    picture: pd.DataFrame  # the same field as one PNG in one row (core.charts.boundary.field_picture): what a live view sends
    nodes: pd.DataFrame
    edges: pd.DataFrame
    layers: pd.DataFrame


@dataclass(frozen=True)
class Snapshot:
    """What the trainer last published: every panel, the points, and where training stands."""

    version: int
    epoch: int
    playing: bool
    finished: bool  # every run has stopped by itself: play cannot continue
    message: Msg | str  # why training paused or stopped ('' while it plays), shown in the page's language
    panels: tuple[Panel, ...]
    points: pd.DataFrame
    splits: tuple[str, ...]  # the splits the points have: train, (val,) test
    n_classes: int
    epochs_per_s: float
    taken: float = field(default_factory=time.monotonic)


@dataclass
class _Part:
    """One loop of the runs: which panels it trains, their set-ups, its engine."""

    panels: list[int]
    setups: list[Any]
    engine: Any
    loop: Any


class Runs:
    """One run per config of the classification study on one data set, stepped together one epoch at a time."""

    def __init__(self, configs: Sequence[Mapping[str, Any]], labels: Sequence[str], target_loss: float | None = None):
        if not 1 <= len(configs) <= 2 or len(labels) != len(configs):
            raise ValueError("the Playground trains one run, or two side by side, each with a label")
        study = get_study(STUDY)
        # the loops run to the budget: the view stops them; best weights are never restored behind the user's back
        cfgs = [study.config({**values, "epochs": LIVE_BUDGET, "restore_best": False}) for values in configs]
        if len({(c.dataset, c.n_classes, c.data_hash) for c in cfgs}) != 1:
            raise ValueError("side by side: both runs train on the same data set")
        self.study, self.labels = study, list(labels)
        self.target = TargetLoss(check_target(target_loss))
        points = expand(study, cfgs)
        bases: dict = {}
        self.parts: list[_Part] = []
        self.where: list[tuple[int, int]] = [(0, 0)] * len(points)
        for group in plan(study, points, bases=bases):
            setups, engine, loop = start_group(study, [points[i] for i in group.points], group.engine, bases=bases,
                                               callbacks=[self.target], epochs=[LIVE_BUDGET] * len(group.points))
            for m, i in enumerate(group.points):
                self.where[i] = (len(self.parts), m)
            self.parts.append(_Part(list(group.points), setups, engine, loop))
        data = self.setup(0).data
        self.data = data
        self.n_classes = int(data.n_classes or 2)
        self.grid_points = torch.cat([s.X for s in data.splits().values()])  # the boundary's grid covers every point
        self.points = points_frame(data)
        self.splits = tuple(s for s in ("train", "val", "test") if s in data.splits())
        self.engines = [p.engine.__class__.__name__ for p in self.parts]
        self.seconds = 0.0  # time spent stepping

    def setup(self, i: int) -> Any:
        part, m = self.where[i]
        return self.parts[part].setups[m]

    def loop(self, i: int) -> Any:
        return self.parts[self.where[i][0]].loop

    def __len__(self) -> int:
        return len(self.where)

    @property
    def epoch(self) -> int:
        """Epochs trained so far (the most any run has)."""
        return max(p.loop.epoch for p in self.parts)

    @property
    def done(self) -> bool:
        """True once every run has stopped by itself."""
        return all(p.loop.done for p in self.parts)

    def step(self) -> None:
        """Train every run still running for one epoch."""
        t0 = time.perf_counter()
        for part in self.parts:
            if not part.loop.done:
                part.loop.step()
        self.seconds += time.perf_counter() - t0

    def model(self, i: int) -> nn.Module:
        """Run i's model with its current weights."""
        part, m = self.where[i]
        return self.parts[part].loop.model(m)

    def panel(self, i: int) -> Panel:
        """Run i now: history, boundary, weights (call between steps)."""
        part, m = self.where[i]
        loop = self.parts[part].loop
        log = loop.state.log[m]
        model = loop.model(m)
        fld = boundary_frame(model, self.grid_points, self.n_classes, LIVE_STEPS)
        if self.n_classes > 2:
            fld = shade_cells(fld, self.n_classes)
        nodes, edges, layers = network_frames(model)
        reason = loop.state.stop_reason[m]
        return Panel(self.labels[i], config_dict(self.setup(i).point.config), len(log), bool(loop.running[m]) and not loop.done,
                     reason, dict(log[-1]) if log else {}, history_frame(log).assign(run=self.labels[i]), fld,
                     field_picture(fld, self.n_classes), nodes, edges, layers)

    def results(self) -> list[RunResult]:
        """Every run as it stands, as an ordinary RunResult whose config has `epochs` = the epochs it trained (and
        restore_best off, as it trained): re-running that config trains this run again. ValueError before epoch 1."""
        out = []
        for i in range(len(self)):
            part, m = self.where[i]
            loop = self.parts[part].loop
            fit = loop.results_so_far()[m]
            if not fit.log:
                raise MessageError(N_("nothing to save yet: train at least one epoch"))
            s = self.parts[part].setups[m]
            result = finish(self.study, s, fit, loop.model(m), self.seconds / len(self), report="metrics",
                            engine="stacked" if len(self.parts[part].panels) > 1 else "module")
            result.config["epochs"] = len(fit.log)
            out.append(result)
        return out


def network_frames(model: nn.Module, most: int = MAX_UNITS_DRAWN) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The network as a diagram: nodes (layer, unit, x, y), edges between drawn units (weight and its size), and a label
    per layer (its width). Layers wider than `most` units show their first `most`."""
    linears = [mod for mod in model.modules() if isinstance(mod, nn.Linear)]
    sizes = tuple([linears[0].in_features] + [lin.out_features for lin in linears])
    nodes, layers, where = _network_layout(sizes, most)
    shown = [min(n, most) for n in sizes]
    weights = np.concatenate([lin.weight.detach()[: shown[li + 1], : shown[li]].double().numpy().ravel()
                              for li, lin in enumerate(linears)])  # [out, in] per layer, as `where` lists them
    edges = pd.DataFrame({**where, "weight": weights, "magnitude": np.abs(weights),
                          "sign": np.where(weights >= 0, "positive", "negative")})
    return nodes, edges, layers


@lru_cache(maxsize=32)
def _network_layout(sizes: tuple[int, ...], most: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """What a diagram of these layer sizes draws whatever the weights (nodes, layer labels, each edge's ends): made once
    per shape, since a live view redraws the diagram several times a second (the frames are shared: read only)."""
    shown = [min(n, most) for n in sizes]
    ys = [np.arange(n) - (n - 1) / 2 for n in shown]
    nodes = pd.DataFrame({
        "layer": np.repeat(np.arange(len(sizes)), shown),
        "unit": np.concatenate([np.arange(n) for n in shown]),
        "y": np.concatenate(ys),
    })
    nodes["x"] = nodes["layer"].astype(np.float64)
    parts: dict[str, list[np.ndarray]] = {"x": [], "y": [], "x2": [], "y2": []}
    for li in range(len(sizes) - 1):
        src, dst = np.meshgrid(np.arange(shown[li]), np.arange(shown[li + 1]))  # row-major [out, in], as weights ravel
        parts["x"].append(np.full(src.size, float(li)))
        parts["y"].append(ys[li][src.ravel()])
        parts["x2"].append(np.full(src.size, float(li + 1)))
        parts["y2"].append(ys[li + 1][dst.ravel()])
    where = {k: np.concatenate(v) for k, v in parts.items()}
    names = ["input"] + [f"hidden {i}" for i in range(1, len(sizes) - 1)] + ["output"]
    top = max(shown) / 2 + 0.5
    layers = pd.DataFrame({"x": np.arange(len(sizes), dtype=np.float64), "y": top,
                           "text": [f"{name}: {n}" + (f" ({s} shown)" if s < n else "") for name, n, s in zip(names, sizes, shown)]})
    return nodes, layers, where


_TRAINERS: "weakref.WeakSet[Trainer]" = weakref.WeakSet()


class Trainer:
    """One background thread stepping `Runs` and publishing snapshots: play, pause, step, reset, close."""

    def __init__(self, runs: Runs, *, alive: Callable[[], bool] | None = None, lease_s: float = LEASE_S,
                 publish_every: float = PUBLISH_EVERY):
        self._lock = threading.RLock()  # held while the runs step or are read
        self._wake = threading.Condition()
        self.runs = runs
        self.alive = alive or (lambda: True)
        self.lease_s, self.publish_every = lease_s, publish_every
        self.speed: float | None = None  # at most this many epochs a second; None: as fast as it goes
        self.max_epochs = LIVE_BUDGET
        self.playing = False
        self.message = ""
        self.closed = False
        self._thread: threading.Thread | None = None
        self._touched = time.monotonic()
        self._snapshot: Snapshot | None = None
        self._version = 0
        self._rate: deque[tuple[float, int]] = deque(maxlen=50)
        self.frames = 0  # snapshots handed to a page
        self._wanted = True  # a page has read the latest snapshot: publishing the next one is worth its cost
        _TRAINERS.add(self)

    # --- settings that never change the model ---------------------------------------------------------------------

    def configure(self, *, speed: float | None = None, max_epochs: int | None = None, target_loss: float | None = None) -> None:
        """Speed cap (epochs per second, None: no cap), epoch limit and target loss (None: off), applied at once."""
        if speed is not None and not (isinstance(speed, (int, float)) and 0 < speed <= 1000):
            raise ValueError(f"speed: {speed!r} is not allowed; expected epochs per second in (0, 1000] or none")
        if max_epochs is not None and not 1 <= int(max_epochs) <= LIVE_BUDGET:
            raise ValueError(f"max_epochs: {max_epochs} is not allowed; expected an int in [1, {LIVE_BUDGET}]")
        with self._lock:
            self.speed = speed
            self.max_epochs = int(max_epochs) if max_epochs is not None else LIVE_BUDGET
            self.runs.target.target = check_target(target_loss)

    # --- controls -------------------------------------------------------------------------------------------------

    def play(self) -> None:
        """Train on in the background (nothing happens once every run has stopped or the epoch limit is reached)."""
        with self._lock:
            if self.closed:
                raise RuntimeError("this trainer is closed")
            stop = self._stop_message()
            if stop:
                self._pause(stop)
                return
            self.playing, self.message = True, ""
            self._touched = time.monotonic()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="playground-trainer", daemon=True)
                self._thread.start()
        with self._wake:
            self._wake.notify_all()

    def pause(self, message: Msg | str = "") -> None:
        """Stop training after the epoch in progress; the runs stay as they are."""
        with self._lock:
            self._pause(message)

    def step(self, epochs: int = 1) -> None:
        """Pause, then train `epochs` epochs now (in the caller's thread) and publish."""
        with self._lock:
            self.playing = False
            for _ in range(epochs):
                if self.runs.done:
                    break
                self.runs.step()
            self._publish(self._stop_message() or Msg(N_("paused")))

    def reset(self, runs: Runs) -> None:
        """Pause and start over with new runs (epoch 0)."""
        with self._lock:
            self.runs = runs
            self._rate.clear()
            self._pause("")

    def close(self) -> None:
        """End the thread (the runs are kept for reading)."""
        with self._lock:
            self.playing, self.closed = False, True
        with self._wake:
            self._wake.notify_all()

    @property
    def epoch(self) -> int:
        return self.runs.epoch

    def snapshot(self) -> Snapshot:
        """The latest snapshot (made now if none was published yet); counts as a page being open."""
        self._touched = time.monotonic()
        self._wanted = True
        snap = self._snapshot
        if snap is None:
            with self._lock:
                snap = self._publish(self.message)
        self.frames += 1
        return snap

    def results(self) -> list[RunResult]:
        """The runs as they stand, as RunResults (see `Runs.results`)."""
        with self._lock:
            return self.runs.results()

    # --- the thread -------------------------------------------------------------------------------------------------

    def _pause(self, message: Msg | str) -> None:
        self._publish(message, playing=False)  # published before `playing` turns False: whoever sees it paused sees why
        self.playing = False

    def _stop_message(self) -> Msg | str:
        """Why training cannot go on, as a message the page shows in its language ('' when it can)."""
        runs = self.runs
        if runs.done:
            reasons = sorted({STOP_REASONS.get(r or "", r or "") for p in runs.parts for r in p.loop.state.stop_reason} - {""})
            if not reasons:
                return Msg(N_("stopped"))
            why: Msg = Msg(reasons[0])
            for more in reasons[1:]:
                why = Msg(N_("{first}; {second}"), first=why, second=Msg(more))
            return Msg(N_("stopped: {why}"), why=why)
        if runs.epoch >= self.max_epochs:
            return Msg(N_("stopped at the epoch limit ({limit}); raise it to train on"), limit=self.max_epochs)
        return ""

    def _publish(self, message: Msg | str, playing: bool | None = None) -> Snapshot:
        runs = self.runs
        now = time.monotonic()
        self._rate.append((now, runs.epoch))
        first, last = self._rate[0], self._rate[-1]
        rate = (last[1] - first[1]) / (last[0] - first[0]) if last[0] > first[0] and last[1] >= first[1] else 0.0
        self.message = message
        self._version += 1
        self._wanted = False
        snap = Snapshot(self._version, runs.epoch, self.playing if playing is None else playing, runs.done, message,
                        tuple(runs.panel(i) for i in range(len(runs))), runs.points, runs.splits, runs.n_classes, rate)
        self._snapshot = snap
        return snap

    def _work(self) -> None:
        checked = time.monotonic()
        last = 0.0
        while True:
            with self._wake:
                while not self.closed and not self.playing:
                    self._wake.wait(timeout=1.0)
                    if not self.alive():
                        self.closed = True
                if self.closed:
                    return
            now = time.monotonic()
            if now - checked >= 1.0:
                checked = now
                if not self.alive():
                    self.close()
                    return
                if now - self._touched > self.lease_s:
                    self.pause(f"paused: no page has shown the Playground for {self.lease_s:.0f} s")
                    continue
            started = time.perf_counter()
            with self._lock:
                if not self.playing:
                    continue
                self.runs.step()
                stop = self._stop_message()
                if stop:
                    self._pause(stop)
                elif self._wanted and time.perf_counter() - last >= self.publish_every:
                    self._publish("")
                    last = time.perf_counter()
            wait = (1.0 / self.speed - (time.perf_counter() - started)) if self.speed else 0.0
            time.sleep(max(0.0, wait))  # without a cap, sleep(0) still lets the page's thread run


def stop_all() -> int:
    """Close every trainer of this process (tests, shutdown); returns how many were open."""
    open_ = [t for t in list(_TRAINERS) if not t.closed]
    for t in open_:
        t.close()
    return len(open_)

