"""Running studies from a page: validation messages, a progress bar, caching, prefetching and the store.

Pages call `run(study_id, values)`, or `run_each(study_id, [(values, label), ...])` for a view that
trains several settings (strengths, rates, degrees, with/without pairs): a bad combination shows a clear
message (never a traceback) and returns None; a config already trained in this server process comes back
from the cache at once; the new ones train together in one core call (`core.pipeline.train`, which stacks
models of one shape into one computation), with one progress bar, and land in the store in one transaction.

`prefetch(study_id, [values, ...])` trains likely next settings (the neighbours of a slider's
value) in a background thread, so moving the slider finds them ready. Prefetched runs are
stored only when a page actually shows them, so the store holds what users saw.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd
import streamlit as st

from core.data import DataUnavailable
from core.i18n import _, error_text
from core.pipeline import expand, plan, train
from core.store import Store, StoreError, to_json
from core.studies import RunResult, check_run, config_dict, get_study, run_study
from ui.live import LiveCharts, tag

CACHE_SIZE = 256


def get_store() -> Store:
    """The results store this dashboard writes to ($OVERFIT_LAB_DB, else ./overfit_lab.db).

    A file that cannot be used (not a store, damaged, a folder) stops the page with one line saying what to do.
    """
    try:
        store = _store(os.environ.get("OVERFIT_LAB_DB") or "")
        store.count()  # the file may have been damaged or replaced since this server opened it
        return store
    except StoreError as exc:
        st.error(error_text(exc), icon=":material/database:")
        st.stop()


@st.cache_resource
def _store(path: str) -> Store:
    return Store(path or None)


@dataclass
class _Entry:
    results: list[RunResult]
    stored_in: set[str]  # store paths these runs were saved to (prefetched runs: none yet)


class _ResultCache:
    """A small LRU of finished runs shared by every session of this server, and the keys in training."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()
        self.training: dict[str, threading.Event] = {}

    def get(self, key: str) -> _Entry | None:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key: str, entry: _Entry) -> None:
        with self.lock:
            self.items[key] = entry
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def claim(self, key: str) -> threading.Event | None:
        """Mark `key` as in training; None if it is cached or already being trained."""
        with self.lock:
            if key in self.items or key in self.training:
                return None
            self.training[key] = threading.Event()
            return self.training[key]

    def release(self, key: str) -> None:
        with self.lock:
            event = self.training.pop(key, None)
        if event is not None:
            event.set()

    def in_training(self, key: str) -> threading.Event | None:
        with self.lock:
            return self.training.get(key)


@st.cache_resource
def _cache() -> _ResultCache:
    return _ResultCache(CACHE_SIZE)


def _caching() -> bool:
    return os.environ.get("OVERFIT_LAB_RESULT_CACHE", "1") != "0"


def validate(study_id: str, values: Mapping[str, Any], folds: int | None = None, fold: int | None = None):
    """The validated config, or None after showing what is wrong."""
    study = get_study(study_id)
    try:
        cfg = study.config(values)
        check_run(cfg, folds, fold)
    except ValueError as exc:
        st.error(_("Cannot run {study}: {problem}").format(study=_(study.title), problem=error_text(exc)), icon=":material/warning:")
        return None
    return cfg


def _key(study_id: str, cfg, folds: int | None, fold: int | None) -> str:
    return to_json([study_id, config_dict(cfg), folds, fold], sort_keys=True)


def _store_once(entries: Sequence[_Entry]) -> None:
    """Save runs to the store unless they already are (prefetched runs land when first shown), in one transaction.

    A store that cannot take them (read-only, damaged) gets a warning: the page still shows the runs.
    """
    try:
        store = _store(os.environ.get("OVERFIT_LAB_DB") or "")
        path = str(store.path)
        new = [e for e in entries if path not in e.stored_in]
        if new:
            store.save_results([r for e in new for r in e.results if r.status != "cancelled"])
            for e in new:
                e.stored_in.add(path)
    except ValueError as exc:  # StoreError, or a run outside the store's schema
        st.warning(_("Trained, but not stored: {problem}").format(problem=error_text(exc)), icon=":material/database:")
def _runs(study_id: str, items: Sequence[tuple[Mapping[str, Any], str]], folds: int | None, fold: int | None,
          store: bool, live: LiveCharts | None = None) -> list[list[RunResult]] | None:
    """The runs of each (values, label): from the cache, or trained together in one core call; None after a message."""
    study = get_study(study_id)
    cfgs = []
    for values, _label in items:
        cfg = validate(study_id, values, folds, fold)
        if cfg is None:
            return None
        cfgs.append(cfg)
    keys = [_key(study_id, cfg, folds, fold) for cfg in cfgs]
    cache = _cache()
    entries: dict[str, _Entry] = {}
    if _caching():
        for key in dict.fromkeys(keys):
            pending = cache.in_training(key)
            if pending is not None:  # a prefetch is training exactly this: wait for it rather than train it twice
                with st.spinner(_("Finishing {what}…").format(what=items[keys.index(key)][1] or _(study.title))):
                    pending.wait(timeout=120)
            entry = cache.get(key)
            if entry is not None:
                entries[key] = entry
    todo = {key: (cfg, label) for key, cfg, (_values, label) in zip(keys, cfgs, items) if key not in entries}
    if todo:
        label = next(iter(todo.values()))[1] if len(todo) == 1 else _("{n} settings").format(n=len(todo))
        doing = _("Training {what}…").format(what=label or _(study.title))
        bar = st.progress(0.0, text=doing)
        last = [0.0]

        def progress(fraction: float, detail: str) -> None:
            # a browser message per epoch costs more than a small epoch: update at most ten times a second
            now = time.perf_counter()
            if now - last[0] >= 0.1 or fraction >= 1.0:
                last[0] = now
                bar.progress(min(max(fraction, 0.0), 1.0), text=f"{doing} {error_text(detail)}")

        try:
            per_config = [expand(study, [cfg], folds, fold) for cfg, _label in todo.values()]
            points = [p for pts in per_config for p in pts]
            bases: dict = {}
            groups = plan(study, points, bases=bases)
            callbacks = []
            if live is not None:  # the runs' curves grow on the page as they train, beside the cached ones
                labels = [label for (_cfg, label), pts in zip(todo.values(), per_config) for _point in pts]
                cached = [tag(r.history, items[keys.index(key)][1], r.config.get("fold"))
                          for key in dict.fromkeys(keys) if key in entries for r in entries[key].results]
                callbacks.append(live.callback(labels, [p.fold for p in points], [g.points for g in groups],
                                               pd.concat(cached, ignore_index=True) if cached else None))
            results = train(study, points, progress=progress, callbacks=callbacks, bases=bases, groups=groups)
        except DataUnavailable as exc:
            st.error(error_text(exc), icon=":material/inventory_2:")
            return None
        except ValueError as exc:  # a rule only the data can check, e.g. too few examples for the folds
            st.error(_("Cannot run {study}: {problem}").format(study=_(study.title), problem=error_text(exc)), icon=":material/warning:")
            return None
        finally:
            bar.empty()
        start = 0
        for key, pts in zip(todo, per_config):
            entries[key] = _Entry(results[start : start + len(pts)], set())
            cache.put(key, entries[key])
            start += len(pts)
    if store:
        _store_once([entries[key] for key in dict.fromkeys(keys)])
    return [entries[key].results for key in keys]


def run(study_id: str, values: Mapping[str, Any], *, folds: int | None = None, fold: int | None = None,
        label: str | None = None, store: bool = True, live: LiveCharts | None = None) -> list[RunResult] | None:
    """Train (or fetch from cache) the runs of a study config; None after showing an error message.

    With `live`, its charts grow epoch by epoch while the runs train (see `ui.live`); the page draws the
    finished ones with `live.show(...)`.
    """
    runs = _runs(study_id, [(values, label or "")], folds, fold, store, live)
    return runs[0] if runs is not None else None


def run_each(study_id: str, configs: Sequence[tuple[Mapping[str, Any], str]], *, folds: int | None = None,
             store: bool = True, live: LiveCharts | None = None) -> list[RunResult] | None:
    """One run per (values, label), e.g. a degree or a strength each, trained together where they share a model
    shape; None (after the message) if any cannot run. With `folds`, each config's K runs follow one another."""
    runs = _runs(study_id, configs, folds, None, store, live)
    if runs is None:
        return None
    return [r[0] for r in runs] if not folds else [r for per_config in runs for r in per_config]


def prefetch(study_id: str, values_list: Sequence[Mapping[str, Any]], *, folds: int | None = None) -> None:
    """Train these configs in a background thread, nearest first, so the page finds them cached.

    Invalid configs are skipped silently (the page validates what it shows); nothing is stored here.
    """
    if not _caching():
        return
    study = get_study(study_id)
    cache = _cache()
    todo = []
    for values in values_list:
        try:
            cfg = study.config(values)
            check_run(cfg, folds)
        except ValueError:
            continue
        key = _key(study_id, cfg, folds, None)
        event = cache.claim(key)
        if event is not None:
            todo.append((key, cfg))
    if not todo:
        return

    def work() -> None:
        for key, cfg in todo:
            try:
                cache.put(key, _Entry(run_study(study, cfg, folds=folds), set()))
            except Exception:  # a prefetch that fails is simply not there; the page will train and report it
                pass
            finally:
                cache.release(key)

    threading.Thread(target=work, name=f"prefetch-{study_id}", daemon=True).start()


def warn_if_diverged(results: list[RunResult] | None, what: str | None = None) -> bool:
    """Show a message when a run diverged (`what`: the run's name, translated); True if any did."""
    if results and any(r.status == "diverged" for r in results):
        message = _("{what} diverged: the loss became NaN or infinite, so training stopped. Lower the learning rate (or the "
                    "penalty strength) and try again.").format(what=what or _("this run"))
        st.warning(message[:1].upper() + message[1:], icon=":material/trending_up:")
        return True
    return False
