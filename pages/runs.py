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
from core.compare import focus_floor, run_labels, smooth, spread, with_labels
from core.data.upload import rerun_refusal
from core.i18n import _, error_text
from core.metrics import label
from core.query import VALUE_KINDS, Condition, RunFilter
from core.studies import get_study
from ui.boot import require_router
from ui.language import column_labels
from ui.runner import get_store, run
from ui.share import copy_link, download_buttons, import_box, read_or_stop, summary_panel
from ui.widgets import segmented

require_router()

PAGE_ROWS = 100  # rows of the runs table read and shown at a time
PARALLEL_RUNS = 1000  # lines the parallel-coordinates chart draws at most (the latest runs)
BAND_GROUPS = 8  # groups the band chart draws at most (more colours cannot be told apart)
OPEN_RUNS = PAGE_ROWS  # the heavy views below open by themselves for a study of at most this many runs; else on a click

st.title(_("Runs"))
st.markdown(_(
    "Every run any page, the command line or a sweep stored. Filter and sort the table, pick runs to compare their "
    "curves overlaid or side by side, group the runs of a study by a parameter to see the mean ± std over folds and "
    "seeds, and download the table to share it — each row carries its full config, so anyone can re-run it."
))

store = get_store()
with st.expander(_("Import someone's runs")):
    import_box()
# the store is asked for what is shown: the filters' choices, one page of the table, the chosen runs' histories,
# one study's group statistics in SQL; never every run (a store of 100,000 runs reads as fast as one of 100)
total = read_or_stop(store, lambda skipped: store.count())
if not total:
    st.info(_("No runs stored yet. Train something on another page, run `python -m core run polynomial`, or import a "
              "table above."))
    st.stop()

# --- filter -----------------------------------------------------------------------------------------
c = st.columns(4)
studies = c[0].multiselect(_("study"), store.distinct("study"), placeholder=_("Choose options"), key="runs.study", bind="query-params",
                           help=_("Show only these studies (none selected: all)."))
statuses = c[1].multiselect(_("status"), store.distinct("status"), placeholder=_("Choose options"), key="runs.status", bind="query-params")
sweeps = store.distinct("sweep_id")
sweep = c[2].selectbox(_("sweep"), ["all runs", *sweeps], key="runs.sweep", bind="query-params",
                       format_func=lambda v: _("all runs") if v == "all runs" else v, help=_("Only the runs of one sweep."))
source = c[3].selectbox(_("source"), ["all", *store.distinct("source")], key="runs.source", bind="query-params",
                        format_func=lambda v: _("all") if v == "all" else v,
                        help=_("'local' runs were trained here; 'import:…' came from a shared table."))
selection = RunFilter(studies=tuple(studies), statuses=tuple(statuses), sweeps=() if sweep == "all runs" else (sweep,),
                      sources=() if source == "all" else (source,))
n_shown = store.count(selection)
if not n_shown:
    st.warning(_("No run matches these filters. Clear a filter to see runs again."))
    st.stop()

config_names, metric_names = store.columns(selection)
c = st.columns([2, 1, 1])
sort = c[0].selectbox(_("sort by"), ["id", "created_at", *config_names, *metric_names], key="runs.sort", bind="query-params",
                      help=_("Sorts every run that matches the filters; runs without a value come last."))
descending = c[1].toggle(_("descending"), value=True, key="runs.descending", bind="query-params")
pages = max(1, -(-n_shown // PAGE_ROWS))
if int(st.session_state.get("runs.page") or 1) > pages:  # a narrower filter has fewer pages
    st.session_state["runs.page"] = pages
page_no = c[2].number_input(_("page"), 1, pages, 1, key="runs.page", bind="query-params",
                            help=_("{rows} runs a page.").format(rows=PAGE_ROWS))
offset = (min(int(page_no), pages) - 1) * PAGE_ROWS
table = read_or_stop(store, lambda skipped: store.page(selection, sort=sort, descending=descending, offset=offset,
                                                       limit=PAGE_ROWS, skipped=skipped)).dropna(axis=1, how="all")
st.dataframe(table, hide_index=True, height=300,
             column_config={**column_labels(table.columns), "created_at": st.column_config.TextColumn(_("created at"))})
st.caption(_("Runs {first}–{last} of {shown} ({total} stored), page {page} of {pages}.").format(
    first=offset + 1, last=offset + len(table), shown=n_shown, total=total, page=min(int(page_no), pages), pages=pages))
download_buttons(selection, stem="overfit-lab-runs")

# --- compare selected runs ---------------------------------------------------------------------------
st.header(_("Compare runs"))
latest = store.page(selection, limit=1)
focus = str(latest["study"].iloc[0]) if len(latest) else (studies or store.distinct("study"))[0]
default = store.ids(selection.narrow(studies=(focus,)), descending=True, limit=3)
# options are plain run ids (a bound widget's URL holds its labels): this page's runs and any chosen before; the
# charts' legends carry the full labels. The first comparison is the latest runs of one study: an MSE and a
# cross-entropy on one "loss" axis compare nothing.
filters = repr((studies, statuses, sweep, source))
before = [int(i) for i in st.session_state.get("runs.ids") or []]
kept = set(store.ids(selection.narrow(ids=tuple(before)))) if before else set()
if st.session_state.get("runs.filters", filters) != filters and not kept:
    st.session_state["runs.ids"] = default  # a filter left none of the chosen runs: start again
st.session_state["runs.filters"] = filters
ids = list(dict.fromkeys([*table["id"].astype(int).tolist(), *default, *(i for i in before if i in kept)]))
chosen = st.multiselect(_("runs to compare (ids)"), ids, placeholder=_("Choose options"), key="runs.ids", bind="query-params", max_selections=12,
                        help=_("First shown: the latest runs of the latest run's study."),
                        **({} if "runs.ids" in st.session_state else {"default": default}))
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
    compared = store.runs(chosen)
    history = smooth(with_labels(store.history(chosen), run_labels(compared)), window)
    study_of = compared.set_index(compared["id"].astype(int))["study"]
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
shown_studies = list(studies) or store.distinct("study", selection)
if len(shown_studies) > 1:
    focus = st.selectbox(_("study to group and summarise"), shown_studies, index=shown_studies.index(focus),
                         key="runs.group.study", bind="query-params",
                         help=_("Runs of different studies measure different things (an MSE and a cross-entropy), so "
                                "grouping and the summary table take one study at a time."))
one = selection.narrow(studies=(focus,))
params, metrics = store.columns(one)
stats = store.column_stats(one, params).set_index("name")
n_one = stats.attrs.get("runs", 0)
varying = [p for p in params if stats.loc[p, "distinct"] > 1 or 0 < stats.loc[p, "count"] < n_one]
if not varying:
    st.info(_("The {study} runs shown differ in no parameter. Filter to a sweep or a study with several settings to "
              "group them.").format(study=focus))
else:
    c = st.columns(3)
    # first offered: the parameter with the most distinct values (a sweep's axis rather than a page's one-off setting)
    varying = sorted(varying, key=lambda name: -stats.loc[name, "distinct"])
    by = c[0].selectbox(_("group by"), varying, key="runs.group", bind="query-params",
                        help=_("Runs with the same value (different folds and seeds) are pooled: mean ± std."))
    default_metric = "val_loss" if "val_loss" in metrics else "test_loss"
    metric = c[1].selectbox(_("metric"), metrics, index=metrics.index(default_metric) if default_metric in metrics else 0,
                            key="runs.metric", bind="query-params")
    numeric = VALUE_KINDS.get(by) in (int, float)
    low, high = stats.loc[by, "min"], stats.loc[by, "max"]
    positive = numeric and low is not None and low > 0
    wide = positive and high / max(low, 1e-300) >= 100
    log_x = c[2].toggle(_("log x axis"), value=bool(wide), key="runs.log_x", bind="query-params", disabled=not positive)
    with_by = one.also(Condition(by, "notna"))
    # bands for a few values evenly spread over those stored, each pooling all of its runs; the chart beside it and the
    # table below take every value
    every = store.distinct(by, with_by)
    some = spread(every, BAND_GROUPS)
    grouped = store.group_history(with_by if len(some) == len(every) else with_by.also(Condition(by, "in", some)), by, "loss")
    left, right = st.columns(2)
    if not grouped.empty:
        splits = [s for s in ("train", "val") if s in set(grouped["split"])] or ["test"]
        left.altair_chart(band_curves(grouped, by, "loss", splits=splits, log_y=bool((grouped["mean"] > 0).all())))
        if len(some) < len(every):
            left.caption(_("{n} of the {total} values of {by}, evenly spread from the lowest to the highest, each pooling all "
                           "of its runs; the chart beside it and the table below take every value.").format(
                n=len(some), total=len(every), by=label(by)))
    if numeric and metric:
        pair = list(dict.fromkeys(m for m in (metric.replace("val_", "train_").replace("test_", "train_"), metric) if m in metrics))
        sub = store.values(with_by, [by, *pair])
        is_loss = metric.endswith("_loss")
        positive_y = bool((sub[pair].melt()["value"].dropna().astype(float) > 0).all())
        floor, below = focus_floor(sub, by, metric, [m for m in pair if m != metric]) if is_loss and positive_y else (None, "")
        right.altair_chart(metric_vs(sub, by, pair, log_x=log_x and positive, log_y=is_loss and positive_y,
                                     best=metric if is_loss else None, y_floor=floor,
                                     title=_("{metric} against {by}").format(metric=label(metric), by=label(by))))
        if below:
            right.caption(below)
    elif metric:
        by_value = store.group(with_by, by, [metric])
        right.dataframe(by_value, hide_index=True, column_config=column_labels(by_value.columns))
    grouped = store.group(with_by, by, [m for m in metrics if m.endswith(("loss", "acc"))])
    st.dataframe(grouped, hide_index=True, column_config=column_labels(grouped.columns))
    dims = [d for d in varying if stats.loc[d, "count"] == n_one][:6] + [metric]
    parallel = st.expander(_("Parallel coordinates: every run as a line across the parameters and the metric"),
                           expanded=n_one <= OPEN_RUNS, key="runs.parallel", on_change="rerun", bind="query-params")
    if len(dims) < 2 or not metric:
        parallel.caption(_("Needs a metric and a parameter that every run shown has."))
    elif parallel.open:  # drawn only when opened: up to a thousand lines
        # a line per run: the latest runs only, so the chart stays readable and light at any store size
        lines = store.values(with_by, dims, sort="id", descending=True, limit=PARALLEL_RUNS)
        parallel.altair_chart(parallel_coordinates(lines, dims, metric))
        parallel.caption(_("Each line is a run; each axis runs from its lowest value (bottom) to its highest (top), categories "
                           "at their own positions, labelled beside the axis.") + (
            _(" The latest {n} of {total} runs.").format(n=PARALLEL_RUNS, total=n_one) if n_one > PARALLEL_RUNS else ""))

# --- summary table to share ------------------------------------------------------------------------------
st.header(_("Summary table"))
st.caption(_("One row per setting of the parameters that vary, folds and seeds pooled into mean ± std, the best value "
             "in bold, the shared settings and the command that reproduces it underneath: ready to paste into an issue "
             "or a paper. Study: {study}.").format(study=focus))
summary = st.expander(_("Summary table of the {n} {study} runs shown").format(n=n_one, study=focus), expanded=n_one <= OPEN_RUNS,
                      key="runs.summary", on_change="rerun", bind="query-params")
if summary.open:  # computed only when opened: it reads every run of the study
    with summary:
        summary_panel(one, key="runs.summary", stem="overfit-lab")

# --- re-run and share ----------------------------------------------------------------------------------
st.header(_("Re-run and share"))
rid = st.selectbox(_("run to re-run (id)"), ids, key="runs.rerun", bind="query-params",
                   help=_("The runs of this page of the table, and those compared."))
st.caption(run_labels(table).get(rid, ""))
record = store.records([rid])[0]
study = get_study(record["study"])
config = {k: v for k, v in record["config"].items() if k not in ("fold", "folds")}
folds, fold = record["config"].get("folds"), record["config"].get("fold")
cli = f"python -m core run {study.id} " + " ".join(f"--set {k}={v}" for k, v in config.items()) + (
    f" --folds {folds} --fold {fold}" if folds else "")
st.code(cli, language="bash")
refusal = rerun_refusal(record)  # a table's path that came in an imported file is never read
if refusal:
    st.warning(error_text(refusal), icon=":material/block:")
elif st.button(_("Re-run it here"), key="runs.rerun_button"):
    again = run(study.id, config, folds=folds, fold=fold, label=_("run #{id} again").format(id=rid))
    if again:
        st.success(_("Stored as run(s) {ids}; same config and seed give the same numbers (to float rounding, about 1e-6, "
                     "when the original trained together with others in one stacked group).").format(
            ids=", ".join(str(r.run_id) for r in again if r.run_id)))
copy_link()
