"""Charts that grow while runs train, in the places where the finished charts will stand.

`draw(where, chart)` draws an Altair chart with its data sets named by their place in the chart
(`core.charts.stable.split_spec`), so drawing the same chart again with new numbers keeps its spec and
Streamlit's frontend swaps only the data (no re-embed, no flicker). Drawing into the element a previous
`draw` returned replaces it in place.

`LiveCharts(builders, places)` holds one chart per place, each built from a history frame (a row per run ×
fold × epoch × split: `epoch`, `split`, `loss`, `acc`, plus `run` — the label a page gave the run — and `fold`),
and optionally a chart of the model itself (`model_chart(model)`, e.g. a decision boundary; drawn from the first
run of the loop in training).
A page makes it where its curves go, passes it to `ui.runner.run(..., live=live)`, and after the run calls
`live.show(frame)` with the finished histories. While the runs train, the loop's per-epoch callback
(`live.callback(...)`) redraws the charts from the history so far, at most once every `every` seconds (a browser
message per epoch would cost more than a small epoch); runs that came from the cache are drawn whole. The same
pieces serve a page that steps a loop itself: `update(frame)` is the throttled draw.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import pandas as pd
from torch import nn

from core.callbacks import Callback, TrainState
from core.charts.stable import chart_frames, split_spec
from core.loop import history_frame

EVERY_S = 0.15  # at most ~7 redraws a second


def draw(where: Any, chart: Any, spec: dict | None = None) -> Any:
    """Draw `chart` in `where` (a container, or an element an earlier draw returned, which it replaces); returns
    the element, for the next draw. With `spec` (what `split_spec` gave for an earlier chart of the same builder)
    only the chart's data is taken from it, which is much cheaper than building its spec again."""
    if spec is not None:
        frames = chart_frames(chart)
        if set(frames) == set(spec_names(spec)):
            return where.vega_lite_chart(spec={**spec, "datasets": frames})
    try:
        spec, frames = split_spec(chart)
    except ValueError:  # a chart whose encodings cannot be typed without its data: drawn whole
        return where.altair_chart(chart)
    return where.vega_lite_chart(spec={**spec, "datasets": frames})


def spec_names(spec: dict) -> set[str]:
    """The data set names a detached spec refers to."""
    found: set[str] = set()

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            data = obj.get("data")
            if isinstance(data, dict) and isinstance(data.get("name"), str):
                found.add(data["name"])
            for value in obj.values():
                walk(value)
        elif isinstance(obj, list):
            for value in obj:
                walk(value)

    walk(spec)
    return found


class LiveCharts:
    """One chart per place, each a function of a history frame, redrawn in place while runs train."""

    def __init__(self, builders: Sequence[Callable[[pd.DataFrame], Any]], places: Sequence[Any], *, every: float = EVERY_S,
                 model_chart: Callable[[Any], Any] | None = None, model_place: Any = None):
        if len(builders) != len(places) or (model_chart is None) != (model_place is None):
            raise ValueError("LiveCharts: one place per chart builder, and a place for the model chart if there is one")
        self.builders, self.places, self.every = list(builders) + [model_chart], list(places) + [model_place], every
        self.elements: list[Any] = [None] * len(self.places)
        self.specs: list[dict | None] = [None] * len(self.places)  # each place's spec while runs train
        self.draws = 0  # how many times the charts were drawn (tests read it)
        self._last = -float("inf")

    def show(self, frame: pd.DataFrame, model: Any = None, *, live: bool = False) -> None:
        """Draw every chart from `frame` now; the model chart (e.g. a decision boundary) from `model`, an nn.Module
        or a function returning one, when given. `live` draws reuse the spec of the first live draw of each place
        (a builder changes only data while runs train); the final draw builds every spec afresh."""
        n = len(self.builders) - 1
        for i, (build, place) in enumerate(zip(self.builders, self.places)):
            if i == n:  # the model chart
                if build is None or model is None:
                    continue
                chart = build(model() if callable(model) and not isinstance(model, nn.Module) else model)
            else:
                chart = build(frame)
            where = self.elements[i] if self.elements[i] is not None else place
            if live and self.specs[i] is None:
                try:
                    self.specs[i], frames = split_spec(chart)
                    self.elements[i] = where.vega_lite_chart(spec={**self.specs[i], "datasets": frames})
                except ValueError:  # cannot be split: drawn whole each time
                    self.elements[i] = where.altair_chart(chart)
            else:
                self.elements[i] = draw(where, chart, self.specs[i] if live else None)
        self.draws += 1
        self._last = time.perf_counter()

    def final(self, charts: Sequence[Any]) -> None:
        """Draw these finished charts (one per place, in order) where the live ones stand, e.g. with marks only a
        finished run has."""
        for i, chart in enumerate(charts):
            where = self.elements[i] if self.elements[i] is not None else self.places[i]
            self.elements[i] = draw(where, chart)
        self.draws += 1

    def due(self) -> bool:
        """Whether `every` seconds have passed since the last draw."""
        return time.perf_counter() - self._last >= self.every

    def update(self, frame: pd.DataFrame, force: bool = False, model: Any = None) -> bool:
        """Draw from `frame` (and `model`) if a draw is due (or `force`); True if it drew."""
        if not (force or self.due()) or frame.empty:
            return False
        self.show(frame, model, live=True)
        return True

    def callback(self, labels: Sequence[str | None], folds: Sequence[int | None], groups: Sequence[Sequence[int]],
                 done: pd.DataFrame | None = None) -> Callback:
        """A loop callback drawing the runs as they train.

        `labels[i]` and `folds[i]` name point i of the training call (a label None is not drawn); `groups` are the
        point indices each loop trains, in the order the loops run (`core.pipeline.plan`); `done` holds the history
        of runs already finished (e.g. from the cache), drawn beside them.
        """
        return _LiveHistory(self, list(labels), list(folds), [list(g) for g in groups], done)


def tag(history: pd.DataFrame, label: str | None, fold: int | None) -> pd.DataFrame:
    """A run's history with its label (`run`) and `fold` columns, as the live charts read it."""
    return history.assign(run=label, fold=fold)


class _LiveHistory(Callback):
    """Per epoch: the history so far of every model of the loop, stacked with the finished ones, drawn throttled."""

    def __init__(self, live: LiveCharts, labels: list[str | None], folds: list[int | None], groups: list[list[int]],
                 done: pd.DataFrame | None):
        self.live, self.labels, self.folds, self.groups = live, labels, folds, groups
        self.finished: list[pd.DataFrame] = [] if done is None or done.empty else [done]
        self.loop = -1

    def on_train_begin(self, state: TrainState) -> None:
        self.loop += 1

    def frame(self, state: TrainState) -> pd.DataFrame:
        """The history so far: finished runs, then every model of this loop that has a label."""
        parts = list(self.finished)
        points = self.groups[self.loop] if self.loop < len(self.groups) else []
        for m, i in enumerate(points[: state.M]):
            if self.labels[i] is not None and state.log[m]:
                parts.append(tag(history_frame(state.log[m]), self.labels[i], self.folds[i]))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        if self.live.due():
            points = self.groups[self.loop] if self.loop < len(self.groups) else []
            shown = [m for m, i in enumerate(points[: state.M]) if self.labels[i] is not None]
            model = (lambda: state.engine.model(shown[0])) if shown else None  # made only if a model chart is drawn
            self.live.update(self.frame(state), force=True, model=model)

    def on_train_end(self, state: TrainState) -> None:
        frame = self.frame(state)  # this loop's runs are finished: the next loop's draws show them whole
        self.finished = [frame] if not frame.empty else self.finished
