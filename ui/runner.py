"""Running studies from a page: validation messages, a progress bar, caching and the store.

Pages call `run(study_id, values)`: a bad combination shows a clear message (never a
traceback) and returns None; a config already trained in this server process comes back from
the cache at once; a new one trains with a progress bar and lands in the store.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from typing import Any, Mapping

import streamlit as st

from core.data import DataUnavailable
from core.store import Store, to_json
from core.studies import RunResult, check_run, config_dict, get_study, run_study

CACHE_SIZE = 256


def get_store() -> Store:
    """The results store this dashboard writes to ($OVERFIT_LAB_DB, else ./overfit_lab.db)."""
    return _store(os.environ.get("OVERFIT_LAB_DB") or "")


@st.cache_resource
def _store(path: str) -> Store:
    return Store(path or None)


class _ResultCache:
    """A small LRU of finished runs shared by every session of this server."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: str) -> list[RunResult] | None:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key: str, value: list[RunResult]) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


@st.cache_resource
def _cache() -> _ResultCache:
    return _ResultCache(CACHE_SIZE)


def validate(study_id: str, values: Mapping[str, Any], folds: int | None = None, fold: int | None = None):
    """The validated config, or None after showing what is wrong."""
    study = get_study(study_id)
    try:
        cfg = study.config(values)
        check_run(cfg, folds, fold)
    except ValueError as exc:
        st.error(f"Cannot run {study.title.lower()}: {exc}", icon=":material/warning:")
        return None
    return cfg


def run(study_id: str, values: Mapping[str, Any], *, folds: int | None = None, fold: int | None = None,
        label: str | None = None, store: bool = True) -> list[RunResult] | None:
    """Train (or fetch from cache) the runs of a study config; None after showing an error message."""
    study = get_study(study_id)
    cfg = validate(study_id, values, folds, fold)
    if cfg is None:
        return None
    key = to_json([study_id, config_dict(cfg), folds, fold], sort_keys=True)
    cached = _cache().get(key) if os.environ.get("OVERFIT_LAB_RESULT_CACHE", "1") != "0" else None
    if cached is not None:
        return cached
    text = f"Training {label or study.title.lower()}…"
    bar = st.progress(0.0, text=text)
    last = [0.0]

    def progress(fraction: float, detail: str) -> None:
        # a browser message per epoch costs more than a small epoch: update at most ten times a second
        now = time.perf_counter()
        if now - last[0] >= 0.1 or fraction >= 1.0:
            last[0] = now
            bar.progress(min(max(fraction, 0.0), 1.0), text=f"{text} {detail}")

    try:
        results = run_study(study, cfg, folds=folds, fold=fold, store=get_store() if store else None, progress=progress)
    except DataUnavailable as exc:
        st.error(str(exc), icon=":material/inventory_2:")
        return None
    except ValueError as exc:  # a rule only the data can check, e.g. too few examples for the folds
        st.error(f"Cannot run {study.title.lower()}: {exc}", icon=":material/warning:")
        return None
    finally:
        bar.empty()
    _cache().put(key, results)
    return results


def warn_if_diverged(results: list[RunResult] | None, what: str = "this run") -> bool:
    """Show a message when a run diverged; True if any did."""
    if results and any(r.status == "diverged" for r in results):
        st.warning(f"{what.capitalize()} diverged: the loss became NaN or infinite, so training stopped. "
                   "Lower the learning rate (or the penalty strength) and try again.", icon=":material/trending_up:")
        return True
    return False
