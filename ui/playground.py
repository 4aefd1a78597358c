"""The Playground's session plumbing: one trainer per browser session, asked before a reset, drawn live by a fragment.

- `trainer(configs, labels, widgets)` keeps one `core.playground.Trainer` in the session. New settings that change the
  model replace its runs at once while nothing has trained yet; after that the page asks first (`ask_before_reset`),
  and "keep" puts the widgets back as they were.
- The trainer's thread ends with the browser session (Streamlit's runtime knows the active sessions: `session_alive`),
  and `leave()` pauses it when another page of the dashboard runs (dashboard.py calls it).
- `live_view(...)` is a fragment re-run every `REDRAW_S` seconds while training plays (the browser's timer asks for it;
  none is set while paused): it reads the trainer's latest snapshot, never waiting for training, and draws each chart
  with a spec made once (`core.charts.stable.FixedSpec`), so Streamlit's frontend finds the spec unchanged and swaps
  the chart's data in place (its Vega-Lite element re-embeds only when the spec changes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import pandas as pd
import streamlit as st

from core.charts.boundary import picture_chart, picture_pair
from core.charts.curves import fit_width
from core.charts.playground import live_curves, network_chart, thin
from core.charts.stable import FixedSpec
from core.i18n import _
from core.playground import Runs, Snapshot, Trainer
from core.store import to_json

KEY = "pg.trainer"
REDRAW_S = 0.15  # the fragment's re-run interval while playing: about 6.7 redraws a second
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


def draw_boundary(where: Any, snap: Snapshot, i: int, axis_titles: tuple[str, str], height: int) -> None:
    """Panel i's decision boundary (a picture over the previous one) with the points, as a fixed spec with this
    frame's data."""
    panel = snap.panels[i]
    here = current()
    shown = here.pictures if here is not None else {}
    shown[i] = pictures = picture_pair(shown.get(i), panel.picture)
    splits = snap.splits
    title = _("Decision boundary: {label}").format(label=panel.label) if len(snap.panels) > 1 else _("Decision boundary")
    key = ("boundary", snap.n_classes, splits, title, axis_titles, height)
    spec = _spec(key, lambda f, p: picture_chart(f, p, n_classes=snap.n_classes, splits=splits, title=title, height=height,
                                                axis_titles=axis_titles), pictures, snap.points)
    where.vega_lite_chart(spec=spec.spec_with(pictures, snap.points))


def draw_network(where: Any, snap: Snapshot, i: int, height: int) -> None:
    """Panel i's network diagram."""
    panel = snap.panels[i]
    spec = _spec(("network", height), lambda n, e, layer: network_chart(n, e, layer, height=height), panel.nodes, panel.edges,
                 panel.layers)
    where.vega_lite_chart(spec=spec.spec_with(panel.nodes, panel.edges, panel.layers))


def history(snap: Snapshot) -> pd.DataFrame:
    """Every panel's history so far, one frame (a `run` column names the panel)."""
    return pd.concat([p.history for p in snap.panels], ignore_index=True)


def draw_curves(where: Any, snap: Snapshot) -> None:
    """Loss and accuracy by epoch of every panel, side by side, each filling its column (long runs thinned to a few
    hundred epochs)."""
    frame = thin(history(snap))
    runs = tuple(p.label for p in snap.panels)
    for column, (y, title) in zip(where.columns(2), [("loss", _("Loss by epoch")), ("acc", _("Accuracy by epoch"))]):
        spec = _spec(("curves", y, runs, snap.splits),
                     lambda h: fit_width(live_curves(h, y, runs=runs, splits=snap.splits, title=title)), frame)
        column.vega_lite_chart(spec=spec.spec_with(frame))


def metrics_line(where: Any, snap: Snapshot, i: int) -> None:
    """Panel i's latest numbers as metrics: one row of four, or two rows of two in a half-width panel."""
    panel = snap.panels[i]
    rec = panel.record
    wide = len(snap.panels) == 1
    cols = where.columns(4) if wide else [*where.columns(2), *where.columns(2)]
    for col, (label, name, fmt) in zip(cols, [(_("train loss"), "train_loss", "{:.4f}"), (_("test loss"), "test_loss", "{:.4f}"),
                                               (_("train accuracy"), "train_acc", "{:.1%}"), (_("test accuracy"), "test_acc", "{:.1%}")]):
        value = rec.get(name)
        col.metric(label if wide else f"{panel.label.split(':')[0]}: {label}", fmt.format(value) if value is not None else "—")
