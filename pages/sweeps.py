"""Sweeps: sweep one or two parameters of a study over folds and seeds, watch it run, read the validation curve."""

from __future__ import annotations

import os

import streamlit as st

from core.charts.curves import metric_vs
from core.compare import metric_columns
from core.studies import STUDIES, get_study
from core.sweeps import BACKENDS, Axis, SweepSpec, describe, grid_values
from ui import jobs
from ui.boot import require_router
from ui.runner import get_store
from ui.share import copy_link, download_buttons, link_to, summary_panel
from ui.widgets import log_options, segmented

require_router()

MAX_UI_RUNS = 400

st.title("Sweeps")
st.markdown(
    "Sweep a parameter over a range (linear or log spaced), cross it with a second one, with K folds "
    "(scikit-learn `KFold`/`StratifiedKFold`; `val_loss` is the held-out fold's) and several seeds. Each point is a "
    "stored run. Small models that differ only in numbers train together as one batched computation; others run "
    "one by one. The sweep keeps running if you refresh or leave the page: its id is in the URL."
)

store = get_store()
sweep_id = st.query_params.get("sweep.id")

# --- set up --------------------------------------------------------------------------------------------
with st.expander("New sweep", expanded=sweep_id is None):
    # plain ids as options: a bound widget's URL value is its label, so labels stay short and stable
    study_id = st.selectbox("study", list(STUDIES), key="sweep.study", bind="query-params")
    study = get_study(study_id)
    st.caption(f"{study.title}: {study.summary}")
    sweepable = [p.name for p in study.params if p.name != "seed"]
    default_axis = next((n for n in ("weight_decay", "degree", "lr") if n in sweepable), sweepable[0])
    names = st.multiselect("parameters to sweep (one or two)", sweepable, default=[default_axis], max_selections=2,
                           key="sweep.params", bind="query-params")
    axes: list[Axis] = []
    problems: list[str] = []
    for name in names:
        p = study.param(name)
        with st.container(border=True):
            st.markdown(f"**{name}** — {p.help}")
            if p.choices is not None or p.kind is bool:
                options = list(p.choices) if p.choices is not None else [False, True]
                picked = st.multiselect(f"{name} values", options, default=options[:2], key=f"sweep.{name}.values",
                                        bind="query-params")
                if picked:
                    axes.append(Axis(name, tuple(picked), "list"))
                else:
                    problems.append(f"{name}: pick at least one value")
                continue
            c = st.columns([3, 1, 1])
            spacing = segmented(c[2], "spacing", ["linear", "log"], "log" if p.log else "linear", key=f"sweep.{name}.spacing")
            if spacing == "log":
                low_bound = p.low if p.low and p.low > 0 else 1e-5
                stops = log_options(low_bound, p.high, integer=p.kind is int)
            else:
                stops = list(range(int(p.low), int(min(p.high, p.low + 200)) + 1)) if p.kind is int else \
                    [float(f"{v:.4g}") for v in (p.low + (p.high - p.low) * i / 100 for i in range(101))]
            default_lo = stops[0] if p.default not in stops or p.default == stops[0] else stops[max(0, stops.index(p.default) - 3)]
            default_hi = stops[min(len(stops) - 1, stops.index(default_lo) + 6)]
            lo, hi = c[0].select_slider(f"{name} range", stops, value=(default_lo, default_hi), key=f"sweep.{name}.range",
                                        bind="query-params", format_func=lambda v: f"{v:g}")
            steps = c[1].number_input("steps", 1, 50, 5, key=f"sweep.{name}.steps", bind="query-params")
            try:
                axes.append(Axis(name, tuple(grid_values(p, lo, hi, int(steps), spacing)), spacing))
            except ValueError as exc:
                problems.append(str(exc))
    c = st.columns(4)
    epochs_p = study.param("epochs")
    epochs = c[0].slider("epochs", 1, min(500, int(epochs_p.high)), min(int(epochs_p.default), 500), key="sweep.epochs",
                         bind="query-params", help=epochs_p.help)
    folds = c[1].slider("folds (1 = no K-fold)", 1, 10, 1, key="sweep.folds", bind="query-params")
    seeds = c[2].slider("seeds", 1, 10, 1, key="sweep.seeds", bind="query-params")
    backend = c[3].selectbox("backend", BACKENDS, key="sweep.backend", bind="query-params",
                             help="auto: batched where the models allow, else one by one. dask: a cluster (see README).")
    scheduler = None
    if backend == "dask":
        scheduler = st.text_input(
            "Dask scheduler", value=os.environ.get("OVERFIT_LAB_DASK", ""), key="sweep.scheduler", bind="query-params",
            placeholder="tcp://host:8786 (empty: a local cluster on this machine)",
            help="The address `dask scheduler` printed. Workers send finished runs back; this server stores them.",
        ).strip() or None
        if scheduler and not scheduler.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
            st.error(f"Dask scheduler: {scheduler!r} is not an address like tcp://host:8786")
            scheduler = ""
    base = {"epochs": epochs}
    spec = None
    if problems:
        for msg in problems:
            st.error(msg)
    elif not axes:
        st.warning("Pick at least one parameter to sweep.")
    else:
        try:
            spec = SweepSpec(study_id, base, tuple(axes), folds if folds > 1 else None, seeds)
        except ValueError as exc:
            st.error(f"Cannot sweep: {exc}")
    if spec is not None:
        st.caption(describe(spec))
        if spec.n_runs > MAX_UI_RUNS:
            st.error(f"{spec.n_runs} runs is over the dashboard's limit of {MAX_UI_RUNS}; use fewer steps, folds or seeds, "
                     "or run it from the command line (`python -m core sweep`).")
        elif scheduler == "":
            pass  # the bad address was reported above
        elif st.button("Run sweep", icon=":material/play_arrow:", type="primary", key="sweep.start"):
            try:
                job = jobs.start(spec, backend, scheduler=scheduler)
            except ValueError as exc:
                st.error(f"Cannot sweep: {exc}")
            else:
                st.query_params["sweep.id"] = job.sweep_id
                st.rerun()

# --- progress and results ----------------------------------------------------------------------------------
known = store.sweeps()
if sweep_id is None and not known.empty:
    st.caption("Earlier sweeps:")
    st.dataframe(known.sort_values("created_at", ascending=False).assign(settings=known["settings"].map(str)).head(10),
                 hide_index=True)
if sweep_id is None:
    st.stop()
if sweep_id not in set(known["id"]):
    st.error(f"No sweep with id {sweep_id!r} in the store {store.path}.")
    st.stop()

settings = known.set_index("id").loc[sweep_id, "settings"]
stored_spec = SweepSpec.from_dict(settings)
st.header(f"Sweep {sweep_id}")
st.caption(describe(stored_spec) + f" · backend {settings.get('backend', '?')}")


@st.fragment(run_every=1.0)
def progress_panel() -> None:
    job = jobs.get(sweep_id)
    done = int(store.runs(sweep_id=sweep_id).shape[0])
    total = stored_spec.n_runs
    if job is not None and job.running:
        eta = job.eta_s()
        left = f", about {eta:.0f} s left" if eta is not None else ""
        st.progress(min(max(job.fraction, done / total), 1.0), text=f"{done}/{total} runs stored{left} ({job.text})")
        if st.button("Cancel (keeps finished runs)", icon=":material/cancel:", key="sweep.cancel"):
            job.cancel.set()
            st.toast("Cancelling after the run in flight…")
    else:
        if job is not None and job.error:
            st.error(f"The sweep stopped with an error after {done} runs (they are stored): {job.error}")
        elif done < total:
            st.warning(f"{done}/{total} runs stored: the sweep was cancelled or the server restarted before it finished.")
        else:
            st.success(f"All {total} runs stored.")
        if job is not None and job.running is False and st.session_state.get("sweep.shown") != sweep_id:
            st.session_state["sweep.shown"] = sweep_id
            st.rerun()  # draw the final charts once


progress_panel()

runs = store.runs(sweep_id=sweep_id)
if runs.empty:
    st.info("No run has finished yet.")
    st.stop()
metrics = metric_columns(runs)
axis_names = [a.name for a in stored_spec.axes]
first = axis_names[0]
loss_metric = "val_loss" if "val_loss" in metrics else "test_loss"
metric = st.selectbox("metric", metrics, index=metrics.index(loss_metric), key="sweep.metric", bind="query-params")
log_x = stored_spec.axes[0].spacing == "log"
pair = list(dict.fromkeys(m for m in (metric.replace("val_", "train_").replace("test_", "train_"), metric) if m in runs))
ok = runs[runs["status"] == "ok"]
if len(ok) < len(runs):
    st.warning(f"{len(runs) - len(ok)} runs diverged or were cancelled; the charts use the {len(ok)} that finished normally.")
if ok.empty:
    st.stop()
numeric_first = ok[first].map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)).all()
if numeric_first:
    if len(axis_names) == 2:
        second = axis_names[1]
        cols = st.columns(min(3, ok[second].nunique()))
        for i, (value, part) in enumerate(ok.groupby(second)):
            cols[i % len(cols)].altair_chart(metric_vs(part, first, pair, log_x=log_x, best=metric if "loss" in metric else None,
                                                       title=f"{second} = {value}"))
    else:
        st.altair_chart(metric_vs(ok, first, pair, log_x=log_x, best=metric if "loss" in metric else None,
                                  title=f"Validation curve: {metric.replace('_', ' ')} against {first.replace('_', ' ')}"))
st.subheader("Summary table")
summary_panel(runs["id"].astype(int).tolist(), key="sweep.summary", stem=f"sweep-{sweep_id}")
st.caption("Every run with its full config:")
download_buttons(runs["id"].tolist(), stem=f"sweep-{sweep_id}")
link_to("pages/runs.py", "Compare these runs on the Runs page", icon=":material/table_view:", query_params={"runs.sweep": sweep_id})
copy_link()
