"""Playground: a 2-D data set, a network you shape, and training you watch live, pause, step and compare side by side."""

from __future__ import annotations

import shlex

import streamlit as st

from core.charts.boundary import boundary_chart
from core.charts.playground import chart_bytes, curves_pair
from core.data.toy2d import MULTICLASS
from core.i18n import N_, _, error_text
from core.params import P
from core.playground import STUDY, Runs
from core.store import StoreError
from core.tables import csv_text
from ui import playground as live
from ui.boot import require_router
from ui.runner import get_store
from ui.share import copy_link, link_to
from ui.upload import table_values
from ui.widgets import log_options, param_input, segmented

require_router()

DATASETS = ["moons", "circles", "xor", "spiral", "gaussians", "csv"]
WIDTHS = [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64]
BATCHES = [1, 2, 5, 10, 16, 20, 32, 50, 64, 100, 128, 256, 500]
EPOCH_LIMITS = [10, 20, 50, 100, 200, 500, 1000, 2000]
SPEEDS = ["1", "2", "5", "10", "20", "50", "max"]
TARGETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
STOPS = {"limit": N_("epoch limit only"), "target": N_("a target loss"), "early": N_("early stopping")}
AS_A = N_("as A")  # a sentinel value, shown translated

st.title(_("Playground"))
st.markdown(_(
    "Pick a 2-D data set, shape a network, press **Play** and watch it learn: the decision boundary (the class the "
    "model predicts at every point, paler where it is unsure) and the loss and accuracy curves move while it trains, "
    "epoch by epoch, with real PyTorch. Training points are circles, test points triangles. Turn on **side by side** "
    "to train a second model on the same data at the same time: a wide network on few, noisy points overfits (its "
    "test loss climbs while its train loss falls), and the same network with L2 or dropout does not."
))
controls = st.container()
notices = st.container()
left, right = st.columns([1, 2.4], gap="medium")

# --- settings --------------------------------------------------------------------------------------------------
model_widgets: dict[str, object] = {}  # the widgets whose values change the model: a change asks before a reset


def model_widget(key: str, value):
    """Note a model-changing widget's value (its key is its URL parameter too)."""
    model_widgets[key] = value
    return value


with left:
    data_tab, net_tab, stop_tab, compare_tab = st.tabs([_("Data"), _("Network"), _("Stop and speed"), _("Side by side")])
with data_tab:
    # options as the config names them (a URL carries the label a segmented control shows)
    dataset = model_widget("pg.dataset", segmented(st, _("data set"), DATASETS, "moons", key="pg.dataset",
                                                  help=_("csv: a table of your own (two numeric features and a label).")))
    a: dict[str, object] = {"dataset": dataset, "model": "mlp"}
    if dataset in MULTICLASS:
        a["n_classes"] = model_widget("pg.n_classes", param_input("n_classes", study=STUDY, key="pg.n_classes",
                                                                 label=_("classes")))
    csv = None
    if dataset == "csv":
        csv = table_values("pg.csv", "classification")
        if csv is not None:
            a.update(csv)
            for key in ("pg.csv.col0", "pg.csv.col1", "pg.csv.col2"):
                model_widget(key, st.session_state.get(key))
    else:
        c = st.columns(2)
        points = model_widget("pg.points", c[0].slider(_("points"), 50, 2000, 500, step=50, key="pg.points", bind="query-params",
                                                       help=_("Training and test points drawn together from the data set.")))
        a["noise"] = model_widget("pg.noise", param_input("noise", study=STUDY, key="pg.noise", high=1.0, step=0.05,
                                                          label=_("noise"), container=c[1]))
    c = st.columns(2)
    ratio = model_widget("pg.ratio", c[0].slider(_("training ratio (%)"), 10, 90, 50, step=5, key="pg.ratio", bind="query-params",
                                                  help=_("Share of the points used for training; the rest are test points.")))
    a["label_noise"] = model_widget("pg.label_noise", param_input("label_noise", study=STUDY, key="pg.label_noise", high=0.5,
                                                                  label=_("label noise"), container=c[1]))
    a["seed"] = model_widget("pg.seed", st.number_input(_("seed"), 0, 10_000, 0, key="pg.seed", bind="query-params",
                                                        help=_("Seed of the data, the initial weights, the batch order and dropout.")))
    if dataset == "csv":
        a["test_fraction"] = round(1 - ratio / 100, 2)
    else:
        a["n_train"] = max(2, round(points * ratio / 100))
        a["n_test"] = max(2, points - a["n_train"])

with net_tab:
    c = st.columns(2)
    a["depth"] = model_widget("pg.depth", param_input("depth", study=STUDY, key="pg.depth", default=2, high=6,
                                                      label=_("hidden layers"), container=c[0]))
    a["hidden"] = model_widget("pg.hidden", param_input("hidden", study=STUDY, key="pg.hidden", default=8, options=WIDTHS,
                                                        label=_("neurons per layer"), container=c[1], disabled=a["depth"] == 0))
    c = st.columns(2)
    a["activation"] = model_widget("pg.activation", param_input("activation", study=STUDY, key="pg.activation", default="tanh",
                                                                label=_("activation"), container=c[0]))
    a["dropout"] = model_widget("pg.dropout", param_input("dropout", study=STUDY, key="pg.dropout", high=0.9, step=0.05,
                                                          label=_("dropout"), container=c[1]))
    c = st.columns(3)
    for i, name in enumerate(("l1", "l2", "weight_decay")):
        a[name] = model_widget(f"pg.{name}", param_input(name, study=STUDY, key=f"pg.{name}", high=1.0,
                                                         container=c[i]))
    c = st.columns(3)
    a["optimizer"] = model_widget("pg.optimizer", param_input("optimizer", study=STUDY, key="pg.optimizer", label=_("optimizer"),
                                                              container=c[0]))
    a["lr"] = model_widget("pg.lr", param_input("lr", study=STUDY, key="pg.lr", default=0.01, options=log_options(1e-4, 1.0),
                                                label=_("learning rate"), container=c[1]))
    a["batch_size"] = model_widget("pg.batch_size", param_input("batch_size", study=STUDY, key="pg.batch_size", default=10,
                                                                options=BATCHES, label=_("batch size"), container=c[2]))
    if a["depth"] == 0:
        a.pop("hidden")  # a linear model has no hidden layer: its width is not part of the run

with stop_tab:
    c = st.columns(2)
    max_epochs = c[0].select_slider(_("stop at epoch"), EPOCH_LIMITS, 500, key="pg.max_epochs", bind="query-params",
                                    help=_("Training pauses here; raise it to train on. Never changes the model."))
    speed = c[1].select_slider(_("speed (epochs per second)"), SPEEDS, "20", key="pg.speed", bind="query-params",
                               help=_("At most this many epochs a second ('max': as fast as this machine trains)."))
    stop = segmented(st, _("also stop at"), list(STOPS), "limit", key="pg.stop", format_func=lambda k: _(STOPS[k]))
    target = None
    if stop == "target":
        target = st.select_slider(_("target train loss"), TARGETS, 0.05, key="pg.target", bind="query-params",
                                  help=_("A run stops once its training loss is at or below this."))
    elif stop == "early":
        c = st.columns(2)
        a["patience"] = model_widget("pg.patience", param_input("patience", study=STUDY, key="pg.patience", default=20, low=1,
                                                                high=200, label=_("patience (epochs)"), container=c[0]))
        a["val_fraction"] = model_widget("pg.val_fraction", param_input("val_fraction", study=STUDY, key="pg.val_fraction",
                                                                        default=0.2, low=0.1, high=0.5, step=0.05,
                                                                        label=_("validation fraction"), container=c[1]))
        st.caption(_("A validation set (squares) is held out of the training points; a run stops when its validation "
                     "loss has not improved for that many epochs, keeping the weights it stopped with."))
    model_widget("pg.stop", stop)

with compare_tab:
    compare = model_widget("pg.compare", st.toggle(_("Train a second model (B) beside this one (A)"), key="pg.compare",
                                                   bind="query-params",
                                                   help=_("The same data, one play button; a model of the same shape trains "
                                                          "with A as one batched computation.")))
    b = dict(a)
    differs: list[str] = []
    if compare:
        st.caption(_("What B changes; the rest is as A."))
        c = st.columns(2)
        for i, (name, options, default) in enumerate([
            ("depth", list(range(7)), AS_A), ("hidden", WIDTHS, AS_A),
            ("l2", log_options(1e-4, 1.0, with_zero=True), 0.01), ("dropout", [round(0.05 * i, 2) for i in range(19)], AS_A),
            ("weight_decay", log_options(1e-4, 1.0, with_zero=True), AS_A), ("l1", log_options(1e-4, 1.0, with_zero=True), AS_A),
            ("lr", log_options(1e-4, 1.0), AS_A),
        ]):
            shown_name = _("learning rate") if name == "lr" else _(name.replace("_", " "))
            value = model_widget(f"pg.b.{name}", c[i % 2].select_slider(
                _("B: {name}").format(name=shown_name), [AS_A, *options], default, key=f"pg.b.{name}",
                bind="query-params", format_func=lambda v: _(AS_A) if v == AS_A else f"{v:g}"))
            if value != AS_A:
                b[name] = value
                differs.append(f"{name.replace('_', ' ')} {value:g}")
        c = st.columns(2)
        activation = model_widget("pg.b.activation", c[0].selectbox(_("B: activation"), [AS_A, "relu", "tanh", "sigmoid", "leaky_relu"],
                                                                    key="pg.b.activation", bind="query-params"))
        if activation != AS_A:
            b["activation"] = activation
            differs.append(activation)
        # B's optimizer: a different one trains beside A as a second loop, a different learning rate in A's computation
        optimizer = model_widget("pg.b.optimizer", c[1].selectbox(_("B: optimizer"), [AS_A, *P.optimizer.choices],
                                                                  key="pg.b.optimizer", bind="query-params"))
        if optimizer != AS_A:
            b["optimizer"] = optimizer
            differs.append(optimizer)
        if b.get("depth") == 0:
            b.pop("hidden", None)
        elif "hidden" not in b:
            b["hidden"] = 8  # A is linear, B is not: B takes the default width

configs = [a, b] if compare else [a]
labels = ["A", "B: " + ", ".join(differs) if differs else _("B (as A)")] if compare else ["A"]
ready = dataset != "csv" or csv is not None
if not ready:
    right.info(_("Upload a CSV table on the left (Data tab) and choose its two feature columns and its label column."),
               icon=":material/upload_file:")
    st.stop()

try:
    here, changed = live.session(configs, labels, model_widgets, target)
except ValueError as exc:  # a setting only the data can judge, e.g. more classes than a table has rows for
    right.error(_("Cannot train these settings: {problem}").format(problem=error_text(exc)), icon=":material/warning:")
    st.stop()
tr = here.trainer
tr.configure(speed=None if speed == "max" else float(speed), max_epochs=max_epochs, target_loss=target)
if changed:
    with notices:
        live.ask_before_reset(here, configs, labels, model_widgets, target)

# --- controls ------------------------------------------------------------------------------------------------------


def start_over() -> None:
    here.adopt(Runs(configs, labels, target), live.settings_key(configs, labels), model_widgets)


with controls:
    c = st.columns([1, 1, 1, 1.2, 3.5], vertical_alignment="center")
    if tr.playing:
        c[0].button(_("Pause"), key="pg.pause", on_click=tr.pause, icon=":material/pause:", type="primary")
    else:
        c[0].button(_("Play"), key="pg.play", on_click=tr.play, icon=":material/play_arrow:", type="primary")
    c[1].button(_("Step"), key="pg.step", on_click=tr.step, icon=":material/skip_next:", help=_("Train one epoch, then pause."))
    c[2].button(_("Reset"), key="pg.reset", on_click=start_over, icon=":material/restart_alt:",
                help=_("Start over from epoch 0 with the settings shown."))
    save = c[3].button(_("Save run"), key="pg.save", icon=":material/save:",
                       help=_("Store the run(s) as they stand, with epochs = the epochs trained: they appear on the Runs page "
                              "and re-run with python -m core run."))

if save:
    try:
        results = tr.results()
        ids = get_store().require_writable().save_results(results)
    except (ValueError, StoreError) as exc:  # nothing trained yet, a read-only store
        notices.warning(_("Not saved: {problem}").format(problem=error_text(exc)), icon=":material/save:")
    else:
        notices.success(_("Saved as run(s) {ids} at epoch {epoch}; they are on the Runs page.").format(
            ids=", ".join(map(str, ids)), epoch=tr.epoch), icon=":material/save:")

# --- the live view -------------------------------------------------------------------------------------------------
axis_titles = tuple(_("{column} (standardised)").format(column=c) for c in csv["x"].split(",")) if csv else ("x₁", "x₂")
playing_now = tr.playing


# no faster than the epochs come: at a speed cap of a few epochs a second, a redraw per epoch is enough
redraw = max(live.REDRAW_S, 1 / float(speed)) if speed != "max" else live.REDRAW_S


def live_view() -> None:
    """The trainer's latest snapshot, redrawn in place while it plays (a round of `live.LOOP_S` seconds per run; the
    fragment's timer, queued meanwhile, starts the next round)."""
    live.play_view(tr, axis_titles, playing=playing_now)
    if playing_now and not tr.playing:  # training stopped by itself: redraw the controls, and stop the timer
        st.rerun()


with right:
    st.fragment(run_every=redraw if playing_now else None)(live_view)()

# --- keep and share ----------------------------------------------------------------------------------------------
st.header(_("Keep and share"))
st.markdown(_("The settings are in the page's address; **Save run** stores the run(s) in the results store like any "
              "other run (config with epochs = the epochs trained, history, final metrics)."))
copy_link()
snap_now = tr.snapshot()
config = {k: v for k, v in snap_now.panels[0].config.items() if k != "epochs"}
st.caption(_("The same run from the command line (A, trained for the epochs shown; a CSV needs its file at data_path):"))
st.code(shlex.join(["python", "-m", "core", "run", STUDY, *[a for k, v in config.items()
                                                         for a in ("--set", f"{k}={str(v).lower() if isinstance(v, bool) else v}")],
                    "--set", f"epochs={max(1, snap_now.epoch)}"]), language="bash")
link_to("pages/runs.py", _("Stored runs are on the Runs page"), icon=":material/table_view:")


def picture(kind: str, fmt: str):
    """Deferred export: the latest boundary (every panel) or curves, as PNG or SVG bytes, made when clicked."""
    def make() -> bytes:
        import altair as alt

        snap = tr.snapshot()
        if kind == "boundary":
            charts = [boundary_chart(p.field, snap.points, n_classes=snap.n_classes, title=p.label, axis_titles=axis_titles)
                      for p in snap.panels]
            chart = alt.hconcat(*charts).resolve_scale(color="independent") if len(charts) > 1 else charts[0]
        else:
            chart = curves_pair(live.history(snap), runs=[p.label for p in snap.panels], splits=snap.splits, width=420)
        return chart_bytes(chart, fmt)
    return make


def table(kind: str):
    """Deferred export: the points or the history so far, as CSV text (the project's one safe CSV writer)."""
    def make() -> str:
        snap = tr.snapshot()
        return csv_text(snap.points if kind == "points" else live.history(snap))
    return make


st.caption(_("Download the current picture or the data (made when you click):"))
c = st.columns(6)
for i, (label, data, name, mime) in enumerate([
    (_("boundary PNG"), picture("boundary", "png"), "playground-boundary.png", "image/png"),
    (_("boundary SVG"), picture("boundary", "svg"), "playground-boundary.svg", "image/svg+xml"),
    (_("curves PNG"), picture("curves", "png"), "playground-curves.png", "image/png"),
    (_("curves SVG"), picture("curves", "svg"), "playground-curves.svg", "image/svg+xml"),
    (_("points CSV"), table("points"), "playground-points.csv", "text/csv"),
    (_("history CSV"), table("history"), "playground-history.csv", "text/csv"),
]):
    c[i].download_button(label, data, file_name=name, mime=mime, key=f"pg.download.{i}", on_click="ignore",
                         icon=":material/download:")
