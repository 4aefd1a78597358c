"""Sweeps that outlive a page view: each runs in a background thread of the server.

A browser refresh, a second tab or another page does not stop a sweep; the page finds it again
by its id in the URL. Every finished run is already in the store, so nothing finished is lost,
and cancel stops after the run in flight.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import streamlit as st

from core.cluster import ClusterError, one_line
from core.i18n import N_, Msg, MsgText
from core.sweeps import SweepFailed, SweepSpec, choose_backend, run_sweep
from ui.runner import get_store


@dataclass
class Job:
    sweep_id: str
    spec: SweepSpec
    backend: str
    total: int
    fraction: float = 0.0
    text: str = ""  # what is in flight, as the sweep's progress reports it
    started: float = field(default_factory=time.time)
    finished: float | None = None
    error: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def done(self) -> int:
        """Runs stored so far (read from the store, so it is right even after a refresh)."""
        return int(get_store().runs(sweep_id=self.sweep_id).shape[0])

    def eta_s(self) -> float | None:
        """Seconds left at the pace so far, or None before there is a pace."""
        if self.fraction <= 0 or not self.running:
            return None
        elapsed = time.time() - self.started
        return elapsed * (1 - self.fraction) / self.fraction


@st.cache_resource
def _jobs() -> dict[str, Job]:
    return {}


def start(spec: SweepSpec, backend: str = "auto", scheduler: str | None = None) -> Job:
    """Create the sweep in the store and start training it in a background thread."""
    chosen, _why = choose_backend(spec, backend)
    store = get_store()
    sweep_id = store.create_sweep(spec.study, {**spec.to_dict(), "backend": chosen})
    job = Job(sweep_id, spec, chosen, spec.n_runs, text=MsgText(Msg(N_("starting"))))

    def progress(fraction: float, text: str) -> None:
        job.fraction, job.text = fraction, text

    def work() -> None:
        try:
            run_sweep(spec, store=store, backend=backend, scheduler=scheduler, progress=progress,
                      should_stop=job.cancel.is_set, sweep_id=sweep_id)
        except Exception as exc:  # shown on the page; finished runs are already stored
            # kept as its message (MsgText) so the page shows it in its reader's language; this thread's is English
            job.error = (MsgText(exc.msg) if isinstance(exc, SweepFailed) and exc.msg else str(exc)
                         if isinstance(exc, (SweepFailed, ClusterError)) else one_line(exc))
        finally:
            job.finished = time.time()

    _jobs()[sweep_id] = job
    threading.Thread(target=work, name=f"sweep-{sweep_id}", daemon=True).start()
    return job


def get(sweep_id: str) -> Job | None:
    """The job of a sweep started by this server process, if any."""
    return _jobs().get(sweep_id)
