"""Sweeps: sweep one or two parameters of a study over folds and seeds, watch the validation curve grow as runs finish."""

from __future__ import annotations

import os
import re

import streamlit as st

from core.charts.curves import metric_vs
from core.compare import curve_turn, focus_floor, metric_columns, numeric_column, turn_caption
from core.data.upload import CSV_PARAMS
from core.i18n import _, error_text
from core.metrics import label, value_text
from core.query import RunFilter
from core.studies import STUDIES, get_study
from core.sweeps import BACKENDS, Axis, SweepSpec, axis_text, default_spec, describe, grid_values, parse_axis
from ui import jobs
from ui.boot import require_router
from ui.language import column_labels
from ui.runner import get_store
from ui.share import copy_link, download_buttons, link_to, summary_panel
from ui.widgets import log_options, param_input, segmented

require_router()

MAX_UI_RUNS = 400

st.title(_("Sweeps"))
st.markdown(_(
    "Sweep a parameter over a range (linear or log spaced, or a list of values), cross it with a second one, with K "
    "folds (scikit-learn `KFold`/`StratifiedKFold`; `val_loss` is the held-out fold's) and several seeds. Each point is "
    "a stored run, and the validation curve is drawn from the runs finished so far while the sweep goes on. Small models "
    "that differ only in numbers train together as one batched computation; others run one by one. The sweep keeps "
    "running if you refresh or leave the page: its id is in the URL."
))

store = get_store()
sweep_id = st.query_params.get("sweep.id")




def forget_forms() -> None:
    """A study change starts from the new study's default sweep: every widget of the form is keyed by its study, and
    the values chosen for any study are dropped, so no old parameter stays selected (nor comes back later)."""
    for name in [k for k in st.session_state if any(str(k).startswith(f"sweep.{s}.") for s in STUDIES)]:
        del st.session_state[name]


# --- set up --------------------------------------------------------------------------------------------
with st.expander(_("New sweep"), expanded=sweep_id is None):
    # plain ids as options: a bound widget's URL value is its label, so labels stay short and stable
    study_id = st.selectbox(_("study"), list(STUDIES), key="sweep.study", bind="query-params", on_change=forget_forms)
    study = get_study(study_id)
    key = lambda *parts: ".".join(["sweep", study_id, *parts])  # noqa: E731
    default = default_spec(study) if study.sweep else None
    default_axes = {a.name: a for a in default.axes} if default else {}
    st.caption(f"{_(study.title)}: {_(study.summary)}")
    if study.sweep and study.sweep.why:
        st.caption(_("Its default sweep: {why}").format(why=_(study.sweep.why)))
    # a table of your own (its file, columns, hash) is set on the pages that upload it, never from a form or a URL
    sweepable = [p.name for p in study.params if p.name != "seed" and p.name not in CSV_PARAMS]
    names = st.multiselect(_("parameters to sweep (one or two)"), sweepable, default=list(default_axes) or sweepable[:1],
                           max_selections=2, placeholder=_("Choose options"), key=key("params"), bind="query-params")
    axes: list[Axis] = []
    problems: list[str] = []
    for name in names:
        p = study.param(name)
        preset = default_axes.get(name)
        with st.container(border=True):
            st.markdown(f"**{name}** — {_(p.help)}")
            if p.choices is not None or p.kind is bool:
                options = list(p.choices) if p.choices is not None else [False, True]
                picked = st.multiselect(_("{name} values").format(name=name), options,
                                        default=list(preset.values) if preset else options[:2], placeholder=_("Choose options"),
                                        key=key(name, "values"), bind="query-params", format_func=value_text)
                if picked:
                    axes.append(Axis(name, tuple(picked), "list"))
                    st.caption(axis_text(axes[-1]))
                else:
                    problems.append(_("{name}: pick at least one value").format(name=name))
                continue
            c = st.columns([5, 2, 3])  # room for the three spacing buttons
            spacing_default = preset.spacing if preset else ("log" if p.log else "linear")
            spacing = segmented(c[2], _("spacing"), ["linear", "log", "list"], spacing_default, key=key(name, "spacing"))
            try:
                if spacing == "list":
                    given = ", ".join(f"{v:g}" for v in preset.values) if preset and preset.spacing == "list" else f"{p.default:g}"
                    text = c[0].text_input(_("{name} values (comma-separated)").format(name=name), value=given,
                                           key=key(name, "list"), bind="query-params")
                    axis = parse_axis(study, f"{name}={text}")
                    axis = Axis(name, tuple(sorted(axis.values)), "list")
                else:
                    if spacing == "log":
                        low_bound = p.low if p.low and p.low > 0 else 1e-5
                        stops = log_options(low_bound, p.high, integer=p.kind is int)
                    elif p.kind is int:
                        stops = list(range(int(p.low), int(min(p.high, p.low + 200)) + 1))
                    else:
                        stops = [float(f"{v:.4g}") for v in (p.low + (p.high - p.low) * i / 100 for i in range(101))]
                    if preset and preset.spacing == spacing:
                        lo_default, hi_default, steps_default = preset.values[0], preset.values[-1], len(preset.values)
                    else:  # around the parameter's default; integers: every whole number between, so the grid is exact
                        at = min(range(len(stops)), key=lambda i: abs(stops[i] - p.default))
                        lo_default, hi_default = stops[max(0, at - 3)], stops[min(len(stops) - 1, at + 3)]
                        steps_default = int(hi_default - lo_default) + 1 if p.kind is int and spacing == "linear" else 5
                    stops = sorted(set(stops) | {lo_default, hi_default})
                    lo, hi = c[0].select_slider(_("{name} range").format(name=name), stops, value=(lo_default, hi_default),
                                                key=key(name, "range"), bind="query-params", format_func=lambda v: f"{v:g}")
                    steps = c[1].number_input(_("steps"), 1, 50, steps_default, key=key(name, "steps"), bind="query-params")
                    axis = Axis(name, tuple(grid_values(p, lo, hi, int(steps), spacing)), spacing)
            except ValueError as exc:
                problems.append(error_text(exc))
            else:
                axes.append(axis)
                st.caption(axis_text(axis))  # the exact grid, rounded values included, before anything runs

    # the values the sweep holds fixed: the default sweep's (few training points, the optimizer that reaches the fit)
    # and epochs, each with its widget, so a student sees what the curve depends on and can change it
    fixed_default = ["epochs", *[n for n in (default.base if default else {}) if n != "epochs"]]
    fixable = [p.name for p in study.params if p.name not in names and p.name not in CSV_PARAMS]
    fixed = st.multiselect(_("fixed settings (the rest keep the study's defaults)"), fixable,
                           default=[n for n in fixed_default if n in fixable], placeholder=_("Choose options"), key=key("fixed"), bind="query-params")
    base = {}
    if fixed:
        cols = st.columns(min(4, len(fixed)))
        for i, name in enumerate(fixed):
            value = default.base.get(name) if default and name in default.base else None
            base[name] = param_input(name, study=study, default=value, key=key("set", name), container=cols[i % len(cols)])
    c = st.columns(3)
    folds = c[0].slider(_("folds (1 = no K-fold)"), 1, 10, 1, key="sweep.folds", bind="query-params")
    seeds = c[1].slider(_("seeds"), 1, 10, 1, key="sweep.seeds", bind="query-params")
    backend = c[2].selectbox(_("backend"), BACKENDS, key="sweep.backend", bind="query-params",
                             help=_("auto: batched where the models allow, else one by one. dask: a cluster (see README)."))
    scheduler = None
    if backend == "dask":
        scheduler = st.text_input(
            _("Dask scheduler"), value=os.environ.get("OVERFIT_LAB_DASK", ""), key="sweep.scheduler", bind="query-params",
            placeholder=_("tcp://host:8786 (empty: a local cluster on this machine)"),
            help=_("The address `dask scheduler` printed. Workers send finished runs back; this server stores them."),
        ).strip() or None
        if scheduler and not scheduler.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
            st.error(_("Dask scheduler: {address!r} is not an address like tcp://host:8786").format(address=scheduler))
            scheduler = ""
    spec = None
    if problems:
        for msg in problems:
            st.error(msg)
    elif not axes:
        st.warning(_("Pick at least one parameter to sweep."))
    else:
        try:
            spec = SweepSpec(study_id, base, tuple(axes), folds if folds > 1 else None, seeds)
        except ValueError as exc:
            st.error(_("Cannot sweep: {problem}").format(problem=error_text(exc)))
    if spec is not None:
        st.caption(describe(spec))
        if spec.n_runs > MAX_UI_RUNS:
            st.error(_("{n} runs is over the dashboard's limit of {limit}; use fewer steps, folds or seeds, or run it from "
                       "the command line (`python -m core sweep`).").format(n=spec.n_runs, limit=MAX_UI_RUNS))
        elif scheduler == "":
            pass  # the bad address was reported above
        elif st.button(_("Run sweep"), icon=":material/play_arrow:", type="primary", key="sweep.start"):
            try:
                job = jobs.start(spec, backend, scheduler=scheduler)
            except ValueError as exc:
                st.error(_("Cannot sweep: {problem}").format(problem=error_text(exc)))
            else:
                st.query_params["sweep.id"] = job.sweep_id
                st.rerun()

# --- progress and results ----------------------------------------------------------------------------------
if sweep_id is None:
    latest = store.sweeps(limit=10)  # the latest ten, read alone: a store may hold thousands
    if not latest.empty:
        st.caption(_("Earlier sweeps:"))
        st.dataframe(latest.sort_values("created_at", ascending=False).assign(settings=latest["settings"].map(str)),
                     hide_index=True, column_config={**column_labels(latest.columns), "settings": st.column_config.Column(_("settings"))})
    st.stop()
known = store.sweeps([sweep_id])
if sweep_id not in set(known["id"]):
    st.error(_("No sweep with id {id!r} in the store {path}.").format(id=sweep_id, path=store.path))
    st.stop()

settings = known.set_index("id").loc[sweep_id, "settings"]
stored_spec = SweepSpec.from_dict(settings)
st.header(_("Sweep {id}").format(id=sweep_id))
st.caption(_("{what} · backend {backend}").format(what=describe(stored_spec), backend=settings.get("backend", "?")))
st.caption(" · ".join(axis_text(a) for a in stored_spec.axes))
if stored_spec.base:
    st.caption(_("Fixed: {values}").format(values=", ".join(f"{k}={v}" for k, v in stored_spec.base.items())))


def draw_curves(runs, running: bool) -> None:
    """The validation curve of the runs stored so far, and one computed sentence per curve on where it is best."""
    metrics = metric_columns(runs)
    loss_metric = "val_loss" if "val_loss" in metrics else "test_loss"
    metric = st.selectbox(_("metric"), metrics, index=metrics.index(loss_metric) if loss_metric in metrics else 0,
                          key="sweep.metric", bind="query-params")
    ok = runs[runs["status"] == "ok"]
    if len(ok) < len(runs):
        st.warning(_("{bad} runs diverged or were cancelled; the chart uses the {good} that finished normally.").format(
            bad=len(runs) - len(ok), good=len(ok)))
    if ok.empty:
        return
    names = [a.name for a in stored_spec.axes]
    # x: the first numeric axis; a second axis (numeric or not) draws one line per value
    numeric = [n for n in names if numeric_column(ok[n])]
    if not numeric:
        st.info(_("No swept parameter is a number, so there is no curve to draw: the summary table compares the settings."))
        return
    x = numeric[0]
    series = next((n for n in names if n != x), None)
    axis = next(a for a in stored_spec.axes if a.name == x)
    xs = sorted(set(ok[x]))
    log_x = axis.spacing == "log" or (axis.spacing == "list" and xs[0] > 0 and xs[-1] / xs[0] >= 10)
    # the metric beside its train counterpart: val_loss with train_loss, closed_form_test_loss with closed_form_train_loss
    pair = list(dict.fromkeys(m for m in (re.sub(r"(^|_)(val|test)_", r"\1train_", metric), metric) if m in ok))
    is_loss = metric.endswith("_loss")
    positive = bool((ok[pair].melt()["value"].dropna().astype(float) > 0).all())  # a log axis cannot draw 0
    pooled = len(ok) > ok[[x] + ([series] if series else [])].drop_duplicates().shape[0]
    title = _("{metric} against {x}").format(metric=label(metric), x=label(x))
    if pooled:
        title += _(" (mean ± std over folds and seeds)")
    # one floor for one curve; with a line per value of a second parameter every line stays whole
    floor, below = focus_floor(ok, x, metric, [m for m in pair if m != metric]) if is_loss and positive and not series else (None, "")
    st.altair_chart(metric_vs(ok, x, pair, log_x=log_x, log_y=is_loss and positive, title=title, height=320,
                              best=metric if series is None and is_loss else None, series=series, y_floor=floor))
    if below:
        st.caption(below)
    if series is None:
        turn = curve_turn(ok, x, metric)
        if turn is not None:
            st.caption(turn_caption(turn, so_far=running))
    else:
        for value, part in ok.groupby(series, sort=True):
            turn = curve_turn(part, x, metric)
            if turn is not None:
                st.caption(f"{series} = {value_text(value)}: {turn_caption(turn, so_far=running)}")
    if is_loss and not positive:
        st.caption(_("Some losses are 0 or below, so the y axis is linear."))


job_now = jobs.get(sweep_id)
was_running = job_now is not None and job_now.running  # as this page run began; the fragment reruns on its own


@st.fragment(run_every=1.0 if was_running else None)
def live_panel() -> None:
    """Progress and the curve of the runs stored so far; redrawn every second while the sweep runs."""
    job = jobs.get(sweep_id)
    runs = store.runs(sweep_id=sweep_id)
    done, total = len(runs), stored_spec.n_runs
    running = job is not None and job.running
    if running:
        eta = job.eta_s()
        left = _(", about {s:.0f} s left").format(s=eta) if eta is not None else ""
        # the count comes from the store, the only one shown; the job's own text keeps just what is in flight
        detail = re.sub(r"^\d+/\d+ runs,?\s*", "", job.text)
        detail = error_text(job.text) if detail == job.text else detail  # a whole message (MsgText): translated
        text = _("{done}/{total} runs stored{left}").format(done=done, total=total, left=left) + (f" ({detail})" if detail else "")
        st.progress(min(max(job.fraction, done / total), 1.0), text=text)
        if st.button(_("Cancel (keeps finished runs)"), icon=":material/cancel:", key="sweep.cancel"):
            job.cancel.set()
            st.toast(_("Cancelling after the run in flight…"))
    else:
        if job is not None and job.error:
            st.error(_("The sweep stopped with an error after {done} runs (they are stored): {error}").format(done=done, error=error_text(job.error)))
        elif done < total:
            st.warning(_("{done}/{total} runs stored: the sweep was cancelled or the server restarted before it finished.").format(
                done=done, total=total))
        else:
            st.success(_("All {total} runs stored.").format(total=total))
        if was_running:
            st.rerun()  # the whole page once, now that every run is in: the summary table and downloads
    if runs.empty:
        st.info(_("No run has finished yet: the curve appears with the first one.") if running else _("This sweep stored no run."))
        return
    draw_curves(runs, running)


live_panel()

if was_running:
    st.caption(_("The summary table and downloads appear when the sweep has finished."))
    st.stop()
runs = store.runs(sweep_id=sweep_id)
if runs.empty:
    st.stop()
st.subheader(_("Summary table"))
summary_panel(RunFilter(sweeps=(sweep_id,)), key="sweep.summary", stem=f"sweep-{sweep_id}")
st.caption(_("Every run with its full config:"))
download_buttons(RunFilter(sweeps=(sweep_id,)), stem=f"sweep-{sweep_id}")
link_to("pages/runs.py", _("Compare these runs on the Runs page"), icon=":material/table_view:", query_params={"runs.sweep": sweep_id})
copy_link()
