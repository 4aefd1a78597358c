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
    default_comparison,
    focus_floor,
    group_history,
    latest_study,
    metric_columns,
    numeric_column,
    run_labels,
    smooth,
    summary_by,
    varying_columns,
    with_labels,
)
from core.data.upload import rerun_refusal
from core.i18n import _
from core.metrics import label
from core.studies import get_study
from ui.boot import require_router
from ui.runner import get_store, run
from ui.share import copy_link, download_buttons, import_box, stored_runs, summary_panel
from ui.widgets import segmented

require_router()

st.title(_("Runs"))
st.markdown(_(
    "Every run any page, the command line or a sweep stored. Filter and sort the table, pick runs to compare their "
    "curves overlaid or side by side, group the runs of a study by a parameter to see the mean ± std over folds and "
    "seeds, and download the table to share it — each row carries its full config, so anyone can re-run it."
))

store = get_store()
with st.expander(_("Import someone's runs")):
    import_box()
runs = stored_runs(store)
if runs.empty:
    st.info(_("No runs stored yet. Train something on another page, run `python -m core run polynomial`, or import a "
              "table above."))
    st.stop()

# --- filter -----------------------------------------------------------------------------------------
c = st.columns(4)
studies = c[0].multiselect(_("study"), sorted(runs["study"].unique()), key="runs.study", bind="query-params",
                           help=_("Show only these studies (none selected: all)."))
statuses = c[1].multiselect(_("status"), sorted(runs["status"].unique()), key="runs.status", bind="query-params")
sweeps = sorted(runs["sweep_id"].dropna().unique())
sweep = c[2].selectbox(_("sweep"), ["all runs", *sweeps], key="runs.sweep", bind="query-params",
                       format_func=lambda v: _("all runs") if v == "all runs" else v, help=_("Only the runs of one sweep."))
sources = sorted(runs["source"].unique())
source = c[3].selectbox(_("source"), ["all", *sources], key="runs.source", bind="query-params",
                        format_func=lambda v: _("all") if v == "all" else v,
                        help=_("'local' runs were trained here; 'import:…' came from a shared table."))
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
    st.warning(_("No run matches these filters. Clear a filter to see runs again."))
    st.stop()

table = shown.dropna(axis=1, how="all").sort_values("id", ascending=False)
st.dataframe(table, hide_index=True, height=300, column_config={"created_at": st.column_config.TextColumn(_("created at"))})
st.caption(_("{shown} of {total} runs. Click a column header to sort.").format(shown=len(shown), total=len(runs)))
download_buttons(table["id"].tolist(), stem="overfit-lab-runs")

# --- compare selected runs ---------------------------------------------------------------------------
st.header(_("Compare runs"))
labels = run_labels(shown)
ids = table["id"].astype(int).tolist()
# options are plain run ids (a bound widget's URL holds its labels); the charts' legends carry the full labels.
# The first comparison is the latest runs of one study: an MSE and a cross-entropy on one "loss" axis compare nothing.
filters = repr((studies, statuses, sweep, source))
if st.session_state.get("runs.filters", filters) != filters and not set(st.session_state.get("runs.ids") or []) & set(ids):
    st.session_state["runs.ids"] = default_comparison(shown)  # a filter left none of the chosen runs: start again
st.session_state["runs.filters"] = filters
chosen = st.multiselect(_("runs to compare (ids)"), ids, key="runs.ids", bind="query-params", max_selections=12,
                        help=_("First shown: the latest runs of the latest run's study."),
                        **({} if "runs.ids" in st.session_state else {"default": default_comparison(shown)}))
c = st.columns(4)
y = segmented(c[0], _("curve"), ["loss", "acc"], "loss", key="runs.y",
              format_func=lambda v: _("loss") if v == "loss" else _("accuracy"))
window = c[1].slider(_("smoothing (epochs)"), 1, 20, 1, key="runs.smooth", bind="query-params",
                     help=_("Rolling mean over this many epochs; 1 shows the raw curves."))
log_y = c[2].toggle(_("log scale"), value=y == "loss", key="runs.log_y", bind="query-params")
view = segmented(c[3], _("view"), ["overlaid", "side by side"], "overlaid", key="runs.view",
                 format_func=lambda v: _("overlaid") if v == "overlaid" else _("side by side"))
if not chosen:
    st.info(_("Pick one or more runs above to see their curves."))
else:
    # labels name what tells the chosen runs apart (not what varies among every run shown)
    history = smooth(with_labels(store.history(chosen), run_labels(shown[shown["id"].astype(int).isin(chosen)])), window)
    study_of = shown.set_index(shown["id"].astype(int))["study"]
    history["study"] = history["run_id"].map(study_of)
    by_study = [(s, part) for s, part in history.groupby("study", sort=True)]
    if len(by_study) > 1:
        st.caption(_("These runs come from {n} studies, whose losses measure different things (MSE, cross-entropy): "
                     "one chart per study.").format(n=len(by_study)))
    if history.dropna(subset=[y]).empty:
        st.warning(_("The chosen runs record no {y} (accuracy exists for classification only).").format(y=y))
    elif view == "side by side" and len(chosen) > 6:
        st.warning(_("Side by side shows two to six runs; pick fewer, or use the overlaid view."))
    else:
        for study_id, part in by_study:
            title = get_study(study_id).title if len(by_study) > 1 else None
            if part.dropna(subset=[y]).empty:
                st.caption(_("{study}: these runs record no {y}.").format(study=study_id, y=y))
            elif view == "overlaid":
                st.altair_chart(overlay_curves(part, y, log_y=log_y, title=title))
            else:
                st.altair_chart(facet_curves(part, y, log_y=log_y, columns=3, title=title))

# --- group and validation curve (one study) -------------------------------------------------------------
st.header(_("Group by a parameter"))
shown_studies = sorted(shown["study"].unique())
focus = latest_study(shown)
if len(shown_studies) > 1:
    focus = st.selectbox(_("study to group and summarise"), shown_studies, index=shown_studies.index(focus),
                         key="runs.group.study", bind="query-params",
                         help=_("Runs of different studies measure different things (an MSE and a cross-entropy), so "
                                "grouping and the summary table take one study at a time."))
one = shown[shown["study"] == focus].dropna(axis=1, how="all")
varying = varying_columns(one)
if not varying:
    st.info(_("The {study} runs shown differ in no parameter. Filter to a sweep or a study with several settings to "
              "group them.").format(study=focus))
else:
    c = st.columns(3)
    # first offered: the parameter with the most distinct values (a sweep's axis rather than a page's one-off setting)
    varying = sorted(varying, key=lambda name: -one[name].astype(str).nunique())
    by = c[0].selectbox(_("group by"), varying, key="runs.group", bind="query-params",
                        help=_("Runs with the same value (different folds and seeds) are pooled: mean ± std."))
    metrics = metric_columns(one)
    default_metric = "val_loss" if "val_loss" in metrics else "test_loss"
    metric = c[1].selectbox(_("metric"), metrics, index=metrics.index(default_metric) if default_metric in metrics else 0,
                            key="runs.metric", bind="query-params")
    numeric = numeric_column(one[by])
    positive = numeric and (one[by].dropna() > 0).all()
    wide = positive and one[by].max() / max(one[by].min(), 1e-300) >= 100
    log_x = c[2].toggle(_("log x axis"), value=bool(wide), key="runs.log_x", bind="query-params", disabled=not positive)
    sub = one.dropna(subset=[by])
    grouped = group_history(store.history(sub["id"].tolist()), sub, by, "loss")
    left, right = st.columns(2)
    if not grouped.empty:
        splits = [s for s in ("train", "val") if s in set(grouped["split"])] or ["test"]
        left.altair_chart(band_curves(grouped, by, "loss", splits=splits, log_y=bool((grouped["mean"] > 0).all())))
    if numeric:
        pair = list(dict.fromkeys(m for m in (metric.replace("val_", "train_").replace("test_", "train_"), metric) if m in sub.columns))
        is_loss = metric.endswith("_loss")
        positive_y = bool((sub[pair].melt()["value"].dropna().astype(float) > 0).all())
        floor, below = focus_floor(sub, by, metric, [m for m in pair if m != metric]) if is_loss and positive_y else (None, "")
        right.altair_chart(metric_vs(sub, by, pair, log_x=log_x and positive, log_y=is_loss and positive_y,
                                     best=metric if is_loss else None, y_floor=floor,
                                     title=_("{metric} against {by}").format(metric=label(metric), by=label(by))))
        if below:
            right.caption(below)
    else:
        right.dataframe(summary_by(sub, by, [metric]), hide_index=True)
    st.dataframe(summary_by(sub, by, [m for m in metrics if m.endswith(("loss", "acc"))]), hide_index=True)
    dims = [d for d in varying if sub[d].notna().all()][:6] + [metric]
    if len(dims) >= 2:
        st.altair_chart(parallel_coordinates(sub, dims, metric))
        st.caption(_("Each line is a run; each axis runs from its lowest value (bottom) to its highest (top), categories "
                     "at their own positions, labelled beside the axis."))

# --- summary table to share ------------------------------------------------------------------------------
st.header(_("Summary table"))
st.caption(_("One row per setting of the parameters that vary, folds and seeds pooled into mean ± std, the best value "
             "in bold, the shared settings and the command that reproduces it underneath: ready to paste into an issue "
             "or a paper. Study: {study}.").format(study=focus))
summary_panel(shown.loc[shown["study"] == focus, "id"].astype(int).tolist(), key="runs.summary", stem="overfit-lab")

# --- re-run and share ----------------------------------------------------------------------------------
st.header(_("Re-run and share"))
rid = st.selectbox(_("run to re-run (id)"), ids, key="runs.rerun", bind="query-params")
st.caption(labels.get(rid, ""))
record = store.records([rid])[0]
study = get_study(record["study"])
config = {k: v for k, v in record["config"].items() if k not in ("fold", "folds")}
folds, fold = record["config"].get("folds"), record["config"].get("fold")
cli = f"python -m core run {study.id} " + " ".join(f"--set {k}={v}" for k, v in config.items()) + (
    f" --folds {folds} --fold {fold}" if folds else "")
st.code(cli, language="bash")
refusal = rerun_refusal(record)  # a table's path that came in an imported file is never read
if refusal:
    st.warning(refusal, icon=":material/block:")
elif st.button(_("Re-run it here"), key="runs.rerun_button"):
    again = run(study.id, config, folds=folds, fold=fold, label=_("run #{id} again").format(id=rid))
    if again:
        st.success(_("Stored as run(s) {ids}; same config and seed give the same numbers (to float rounding, about 1e-6, "
                     "when the original trained together with others in one stacked group).").format(
            ids=", ".join(str(r.run_id) for r in again if r.run_id)))
copy_link()
