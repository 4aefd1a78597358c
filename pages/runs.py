"""Runs: every stored run — filter, sort, compare curves, group over folds and seeds, share."""

from __future__ import annotations

import streamlit as st

from core.charts.compare import (
    band_curves,
    facet_curves,
    overlay_curves,
    parallel_coordinates,
)
from core.charts.curves import metric_vs
from core.compare import (
    group_history,
    metric_columns,
    run_labels,
    smooth,
    summary_by,
    varying_columns,
    with_labels,
)
from core.studies import get_study
from ui.boot import require_router
from ui.runner import get_store, run
from ui.share import copy_link, download_buttons, import_box, stored_runs, summary_panel
from ui.widgets import segmented

require_router()

st.title("Runs")
st.markdown(
    "Every run any page, the command line or a sweep stored. Filter and sort the table, pick runs to compare "
    "their curves overlaid or side by side, group runs by a parameter to see the mean ± std over folds and seeds, "
    "and download the table to share it — each row carries its full config, so anyone can re-run it."
)

store = get_store()
with st.expander("Import someone's runs"):
    import_box()
runs = stored_runs(store)
if runs.empty:
    st.info("No runs stored yet. Train something on another page, run `python -m core run polynomial`, or import a table above.")
    st.stop()

# --- filter -----------------------------------------------------------------------------------------
c = st.columns(4)
studies = c[0].multiselect("study", sorted(runs["study"].unique()), key="runs.study", bind="query-params",
                           help="Show only these studies (none selected: all).")
statuses = c[1].multiselect("status", sorted(runs["status"].unique()), key="runs.status", bind="query-params")
sweeps = sorted(runs["sweep_id"].dropna().unique())
sweep = c[2].selectbox("sweep", ["all runs", *sweeps], key="runs.sweep", bind="query-params",
                       help="Only the runs of one sweep.")
sources = sorted(runs["source"].unique())
source = c[3].selectbox("source", ["all", *sources], key="runs.source", bind="query-params",
                        help="'local' runs were trained here; 'import:…' came from a shared table.")
shown = runs
if studies:
    shown = shown[shown["study"].isin(studies)]
if statuses:
    shown = shown[shown["status"].isin(statuses)]
if sweep != "all runs":
    shown = shown[shown["sweep_id"] == sweep]
if source != "all":
    shown = shown[shown["source"] == source]
if shown.empty:
    st.warning("No run matches these filters. Clear a filter to see runs again.")
    st.stop()

table = shown.dropna(axis=1, how="all").sort_values("id", ascending=False)
st.dataframe(table, hide_index=True, height=300, column_config={"created_at": st.column_config.TextColumn("created at")})
st.caption(f"{len(shown)} of {len(runs)} runs. Click a column header to sort.")
download_buttons(table["id"].tolist(), stem="overfit-lab-runs")

# --- compare selected runs ---------------------------------------------------------------------------
st.header("Compare runs")
labels = run_labels(shown)
ids = table["id"].astype(int).tolist()
# options are plain run ids (a bound widget's URL holds its labels); the charts' legends carry the full labels
chosen = st.multiselect("runs to compare (ids)", ids, default=ids[:3],
                        key="runs.ids", bind="query-params", max_selections=12)
c = st.columns(4)
y = segmented(c[0], "curve", ["loss", "acc"], "loss", key="runs.y")
window = c[1].slider("smoothing (epochs)", 1, 20, 1, key="runs.smooth", bind="query-params",
                     help="Rolling mean over this many epochs; 1 shows the raw curves.")
log_y = c[2].toggle("log scale", value=y == "loss", key="runs.log_y", bind="query-params")
view = segmented(c[3], "view", ["overlaid", "side by side"], "overlaid", key="runs.view")
if not chosen:
    st.info("Pick one or more runs above to see their curves.")
else:
    history = smooth(with_labels(store.history(chosen), labels), window)
    if history.dropna(subset=[y]).empty:
        st.warning(f"The chosen runs record no {y} (accuracy exists for classification only).")
    elif view == "overlaid":
        st.altair_chart(overlay_curves(history, y, log_y=log_y))
    elif len(chosen) > 6:
        st.warning("Side by side shows two to six runs; pick fewer, or use the overlaid view.")
    else:
        st.altair_chart(facet_curves(history, y, log_y=log_y, columns=3))

# --- group and validation curve -----------------------------------------------------------------------
st.header("Group by a parameter")
varying = varying_columns(shown)
if not varying:
    st.info("The runs shown differ in no parameter. Filter to a sweep or a study with several settings to group them.")
else:
    c = st.columns(3)
    by = c[0].selectbox("group by", varying, key="runs.group", bind="query-params",
                        help="Runs with the same value (different folds and seeds) are pooled: mean ± std.")
    metrics = metric_columns(shown)
    default_metric = "val_loss" if "val_loss" in metrics else "test_loss"
    metric = c[1].selectbox("metric", metrics, index=metrics.index(default_metric) if default_metric in metrics else 0,
                            key="runs.metric", bind="query-params")
    numeric = shown[by].dropna().map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)).all()
    positive = numeric and (shown[by].dropna() > 0).all()
    wide = positive and shown[by].max() / max(shown[by].min(), 1e-300) >= 100
    log_x = c[2].toggle("log x axis", value=bool(wide), key="runs.log_x", bind="query-params", disabled=not positive)
    sub = shown.dropna(subset=[by])
    grouped = group_history(store.history(sub["id"].tolist()), sub, by, "loss")
    left, right = st.columns(2)
    if not grouped.empty:
        left.altair_chart(band_curves(grouped, by, "loss", splits=[s for s in ("train", "val") if s in set(grouped["split"])] or ["test"]))
    if numeric:
        pair = [m for m in (metric.replace("val_", "train_").replace("test_", "train_"), metric) if m in sub.columns]
        right.altair_chart(metric_vs(sub, by, list(dict.fromkeys(pair)), log_x=log_x and positive,
                                     best=metric if metric.endswith("loss") else None,
                                     title=f"Validation curve: {metric.replace('_', ' ')} against {by.replace('_', ' ')}"))
    else:
        right.dataframe(summary_by(sub, by, [metric]), hide_index=True)
    st.dataframe(summary_by(sub, by, [m for m in metrics if m.endswith(("loss", "acc"))]), hide_index=True)
    dims = [d for d in varying if sub[d].notna().all()][:6] + [metric]
    if len(dims) >= 2:
        st.altair_chart(parallel_coordinates(sub, dims, metric))

# --- summary table to share ------------------------------------------------------------------------------
st.header("Summary table")
st.caption("One row per setting of the parameters that vary, folds and seeds pooled into mean ± std, the best value in "
           "bold, the shared settings and the command that reproduces it underneath: ready to paste into an issue or a paper.")
summary_studies = sorted(shown["study"].unique())
summary_study = summary_studies[0]
if len(summary_studies) > 1:
    summary_study = st.selectbox("study to summarise", summary_studies, key="runs.summary.study", bind="query-params",
                                 help="A summary table is one study at a time.")
summary_panel(shown.loc[shown["study"] == summary_study, "id"].astype(int).tolist(), key="runs.summary", stem="overfit-lab")

# --- re-run and share ----------------------------------------------------------------------------------
st.header("Re-run and share")
rid = st.selectbox("run to re-run (id)", ids, key="runs.rerun", bind="query-params")
st.caption(labels.get(rid, ""))
record = store.records([rid])[0]
study = get_study(record["study"])
config = {k: v for k, v in record["config"].items() if k not in ("fold", "folds")}
folds, fold = record["config"].get("folds"), record["config"].get("fold")
cli = f"python -m core run {study.id} " + " ".join(f"--set {k}={v}" for k, v in config.items()) + (
    f" --folds {folds} --fold {fold}" if folds else "")
st.code(cli, language="bash")
if st.button("Re-run it here", key="runs.rerun_button"):
    again = run(study.id, config, folds=folds, fold=fold, label=f"run #{rid} again")
    if again:
        st.success(f"Stored as run(s) {', '.join(str(r.run_id) for r in again if r.run_id)}; same config and seed give the same "
                   "numbers (to float rounding, about 1e-6, when the original trained together with others in one stacked group).")
copy_link()
