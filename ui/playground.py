"""The Playground's session plumbing: one trainer per browser session, asked before a reset, drawn live by a fragment.

- `trainer(configs, labels, widgets)` keeps one `core.playground.Trainer` in the session. New settings that change the
  model replace its runs at once while nothing has trained yet; after that the page asks first (`ask_before_reset`),
  and "keep" puts the widgets back as they were.
- The trainer's thread ends with the browser session (Streamlit's runtime knows the active sessions: `session_alive`),
  and `leave()` pauses it when another page of the dashboard runs (dashboard.py calls it).
- `play_view(...)` draws the live view from the trainer's latest snapshot, never waiting for training, each chart with
  a spec made once (`core.charts.stable.FixedSpec`), so Streamlit's frontend finds the spec unchanged and swaps the
  chart's data in place (its Vega-Lite element re-embeds only when the spec changes). While training plays it keeps
  redrawing the same elements in place for `LOOP_S` seconds, sending each new snapshot as it comes (every `REDRAW_S`
  seconds at most); the page runs it as a fragment whose timer starts the next round. A rerun per redraw (the
  fragment's timer alone) cost the browser ~100 ms of work even for a fragment of two elements, which held the
  updates to about 3 a second; a widget clicked meanwhile still interrupts the round at its next redraw.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import pandas as pd
import streamlit as st

from core.charts.boundary import picture_chart, picture_slots
from core.charts.curves import fit_width
from core.charts.playground import live_curves, network_chart, thin
from core.charts.stable import FixedSpec
from core.i18n import _, error_text
from core.playground import STOP_REASONS, Runs, Snapshot, Trainer
from core.store import to_json

KEY = "pg.trainer"
REDRAW_S = 0.15  # while playing, a new snapshot is sent at most this often: about 6.7 redraws a second
POLL_S = 0.02  # how often a redraw that found no newer snapshot looks again
LOOP_S = 2.0  # one round of redrawing in place (a fragment run); short, so a test's run of the page returns soon
_SPECS: dict[Any, FixedSpec] = {}  # chart specs by what they depend on, shared by every session (read-only)


def session_alive() -> Callable[[], bool]:
    """A function telling whether this browser session is still connected (always True outside a server: tests)."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    session_id = ctx.session_id if ctx is not None else None

    def alive() -> bool:
        if session_id is None or not runtime.exists():
            return True
        return runtime.get_instance().is_active_session(session_id)

    return alive


@dataclass
class Session:
    """This browser session's Playground: its trainer, the settings its runs came from, and those widgets' values."""

    trainer: Trainer
    key: str
    widgets: dict[str, Any]
    pictures: dict[int, pd.DataFrame] = field(default_factory=dict)  # the boundary pictures last sent, by panel

    def adopt(self, runs: Runs, key: str, widgets: Mapping[str, Any]) -> None:
        """Start over with these runs (epoch 0) and remember the settings they came from."""
        self.trainer.reset(runs)
        self.key, self.widgets = key, dict(widgets)
        self.pictures.clear()  # new data: the previous pictures' extent would stretch the axes


def current() -> Session | None:
    """This session's Playground, if it was opened."""
    return st.session_state.get(KEY)


def leave() -> None:
    """Pause this session's training (another page is shown): the state is kept for when the Playground is back."""
    session = current()
    if session is not None and session.trainer.playing:
        session.trainer.pause(_("paused: you left the Playground"))


def settings_key(configs: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> str:
    """What identifies the runs a set of settings trains (settings outside it never change the model)."""
    return to_json([list(configs), list(labels)], sort_keys=True)


def session(configs: Sequence[Mapping[str, Any]], labels: Sequence[str], widgets: Mapping[str, Any],
            target_loss: float | None) -> tuple[Session, bool]:
    """This browser session's Playground for these settings: (session, whether the settings differ from the runs it
    trains and it has trained already, so the page asks before a reset). ValueError (one line) when they cannot train."""
    key = settings_key(configs, labels)
    here = current()
    if here is not None and not here.trainer.closed:
        if here.key == key:
            here.widgets = dict(widgets)  # the same runs: settings beside the model (a stop condition) may have moved
            return here, False
        if here.trainer.epoch > 0:
            return here, True
        here.adopt(Runs(configs, labels, target_loss), key, widgets)
        return here, False
    here = Session(Trainer(Runs(configs, labels, target_loss), alive=session_alive()), key, dict(widgets))
    st.session_state[KEY] = here
    return here, False


def ask_before_reset(here: Session, configs: Sequence[Mapping[str, Any]], labels: Sequence[str],
                     widgets: Mapping[str, Any], target_loss: float | None) -> None:
    """The question a settings change asks once training has begun: reset with the new settings, or keep the model."""
    changed = [k for k, v in widgets.items() if here.widgets.get(k) != v]

    def reset() -> None:
        here.adopt(Runs(configs, labels, target_loss), settings_key(configs, labels), widgets)

    def keep() -> None:
        for k, v in here.widgets.items():
            st.session_state[k] = v

    with st.container(border=True):
        st.warning(_("These settings change the model ({names}): applying them starts training over from epoch 0 "
                     "(now at epoch {epoch}).").format(names=", ".join(k.removeprefix("pg.") for k in changed) or _("the runs"),
                                                       epoch=here.trainer.epoch), icon=":material/restart_alt:")
        left, right = st.columns(2)
        left.button(_("Reset and use the new settings"), key="pg.apply", on_click=reset, icon=":material/restart_alt:")
        right.button(_("Keep the current model (undo the change)"), key="pg.keep", on_click=keep, icon=":material/undo:")


def _spec(key: Any, build: Callable[..., Any], *frames: pd.DataFrame) -> FixedSpec:
    spec = _SPECS.get(key)
    if spec is None:
        spec = _SPECS[key] = FixedSpec(build, *frames)
        # Streamlit 1.67 draws small charts as SVG: every redraw rebuilds DOM nodes (with ARIA attributes) for every
        # mark, which kept the browser busy most of the time. A canvas repaints the marks instead.
        spec.spec = {**spec.spec, "usermeta": {**spec.spec.get("usermeta", {}), "embedOptions": {"renderer": "canvas"}},
                     "config": {**spec.spec.get("config", {}), "aria": False}}
        while len(_SPECS) > 64:
            _SPECS.pop(next(iter(_SPECS)))
    return spec


@dataclass
class _Slots:
    """Where each part of the live view goes: containers at first, then the elements drawn there. Drawing again
    through an element replaces it in place; a placeholder (st.empty) would be sent first at every round, and the
    browser would rebuild each chart from scratch."""

    status: Any
    boundary: list[Any]
    network: list[Any]
    metrics: list[list[Any]]
    notes: list[Any]
    curves: list[Any]


def _layout(n_panels: int) -> _Slots:
    slots = _Slots(st.container(), [], [], [], [], [])
    wide = n_panels == 1
    for where in (st.columns(n_panels) if not wide else [st.container()]):
        with where:
            top = st.columns([3, 2]) if wide else [st.container(), st.container()]
            slots.boundary.append(top[0])
            slots.network.append(top[1])
            slots.metrics.append(st.columns(4) if wide else [*st.columns(2), *st.columns(2)])
            slots.notes.append(st.container())
    slots.curves = st.columns(2)
    return slots


def _fill(slots: _Slots, snap: Snapshot, axis_titles: tuple[str, str]) -> None:
    idle = _("ready: press Play, or Step for one epoch") if snap.epoch == 0 else _("paused")
    state = _("playing") if snap.playing else (error_text(snap.message) if snap.message else idle)
    speed_text = _(", {rate:.0f} epochs/s").format(rate=snap.epochs_per_s) if snap.playing and snap.epochs_per_s else ""
    slots.status = slots.status.markdown(_("**Epoch {epoch}** · {state}{speed}").format(epoch=snap.epoch, state=state,
                                                                                      speed=speed_text))
    for i, panel in enumerate(snap.panels):
        slots.boundary[i] = draw_boundary(slots.boundary[i], snap, i, axis_titles, height=380)
        slots.network[i] = draw_network(slots.network[i], snap, i, height=300 if len(snap.panels) == 1 else 200)
        slots.metrics[i] = metrics_line(slots.metrics[i], snap, i)
        if not panel.running and panel.stop_reason:
            slots.notes[i] = slots.notes[i].caption(_("{label} stopped: {why}").format(
                label=panel.label, why=_(STOP_REASONS.get(panel.stop_reason, ""))))
        else:
            slots.notes[i] = slots.notes[i].empty()
    slots.curves = draw_curves(slots.curves, snap)


def play_view(trainer: Trainer, axis_titles: tuple[str, str], *, playing: bool, seconds: float = LOOP_S) -> None:
    """The live view of the trainer's latest snapshot; while `playing`, each newer snapshot is drawn into the same
    elements (at most every REDRAW_S seconds) until training pauses or `seconds` have passed."""
    drawn = time.monotonic()
    snap = trainer.snapshot()
    slots = _layout(len(snap.panels))
    _fill(slots, snap, axis_titles)
    end = drawn + seconds
    while playing and trainer.playing and time.monotonic() < end:
        # the next redraw REDRAW_S after the last one began (its own time included), or as soon after as a snapshot
        # newer than the last is out: the trainer makes one after the epoch in progress once the last was read
        time.sleep(max(POLL_S, drawn + REDRAW_S - time.monotonic()))
        newer = trainer.snapshot()
        if len(newer.panels) != len(snap.panels):  # reset to another layout: the page's rerun draws it
            break
        if newer.version != snap.version:
            drawn, snap = time.monotonic(), newer
            _fill(slots, snap, axis_titles)


def draw_boundary(where: Any, snap: Snapshot, i: int, axis_titles: tuple[str, str], height: int) -> Any:
    """Panel i's decision boundary (the newest picture over the previous ones) with the points, as a fixed spec with this
    frame's data; returns the element (drawing through it again replaces it)."""
    panel = snap.panels[i]
    here = current()
    shown = here.pictures if here is not None else {}
    shown[i] = pictures = picture_slots(shown.get(i), panel.picture)
    splits = snap.splits
    title = _("Decision boundary: {label}").format(label=panel.label) if len(snap.panels) > 1 else _("Decision boundary")
    key = ("boundary", snap.n_classes, splits, title, axis_titles, height)
    spec = _spec(key, lambda f, p: picture_chart(f, p, n_classes=snap.n_classes, splits=splits, title=title, height=height,
                                                axis_titles=axis_titles), pictures, snap.points)
    return where.vega_lite_chart(spec=spec.spec_with(pictures, snap.points))


def draw_network(where: Any, snap: Snapshot, i: int, height: int) -> Any:
    """Panel i's network diagram; returns the element."""
    panel = snap.panels[i]
    spec = _spec(("network", height), lambda n, e, layer: network_chart(n, e, layer, height=height), panel.nodes, panel.edges,
                 panel.layers)
    return where.vega_lite_chart(spec=spec.spec_with(panel.nodes, panel.edges, panel.layers))


def history(snap: Snapshot) -> pd.DataFrame:
    """Every panel's history so far, one frame (a `run` column names the panel)."""
    return pd.concat([p.history for p in snap.panels], ignore_index=True)


def draw_curves(slots: Sequence[Any], snap: Snapshot) -> list[Any]:
    """Loss and accuracy by epoch of every panel, in two slots side by side, each filling its column (long runs thinned
    to a few hundred epochs); returns the two elements."""
    frame = thin(history(snap))
    runs = tuple(p.label for p in snap.panels)
    out = []
    for column, (y, title) in zip(slots, [("loss", _("Loss by epoch")), ("acc", _("Accuracy by epoch"))]):
        spec = _spec(("curves", y, runs, snap.splits),
                     lambda h: fit_width(live_curves(h, y, runs=runs, splits=snap.splits, title=title)), frame)
        out.append(column.vega_lite_chart(spec=spec.spec_with(frame)))
    return out


def metrics_line(slots: Sequence[Any], snap: Snapshot, i: int) -> list[Any]:
    """Panel i's latest numbers as four metrics in four slots (one row of four, or two rows of two in a half-width
    panel); returns the four elements."""
    panel = snap.panels[i]
    rec = panel.record
    wide = len(snap.panels) == 1
    out = []
    for col, (label, name, fmt) in zip(slots, [(_("train loss"), "train_loss", "{:.4f}"), (_("test loss"), "test_loss", "{:.4f}"),
                                               (_("train accuracy"), "train_acc", "{:.1%}"), (_("test accuracy"), "test_acc", "{:.1%}")]):
        value = rec.get(name)
        out.append(col.metric(label if wide else f"{panel.label.split(':')[0]}: {label}",
                              fmt.format(value) if value is not None else "—"))
    return out
