"""Sharing from a page: a link that reproduces the view, download buttons for a runs table, import, summary tables."""

from __future__ import annotations

import io
from typing import Any, Sequence
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from core import summary as summary_tables
from core.i18n import _, error_text
from core.query import RunFilter
from core.store import Store, StoreError
from core.tables import FORMATS, ImportRefused, import_bytes, write_runs
from ui.runner import get_store

MIME = {"csv": "text/csv", "json": "application/json", "parquet": "application/vnd.apache.parquet", "markdown": "text/markdown"}
SUFFIX = {"csv": "csv", "json": "json", "parquet": "parquet", "markdown": "md"}


def current_link() -> str:
    """This page's address with every URL-bound widget value: paste it to reproduce the view."""
    base = (st.context.url or "").split("?", 1)[0]
    pairs: list[tuple[str, str]] = []
    for key in st.query_params.keys():
        for value in st.query_params.get_all(key):
            pairs.append((key, value))
    return base + ("?" + urlencode(pairs) if pairs else "")


def copy_link(container: Any = None) -> None:
    """Show the link to this exact view, with a copy button."""
    where = container or st
    where.caption(_("Link to this view (widget values are in the URL):"))
    where.code(current_link(), language=None)


def _selection(runs: Sequence[int] | RunFilter) -> RunFilter:
    """The runs a panel works on: a filter as it is, a list of run ids as a filter of those ids."""
    return runs if isinstance(runs, RunFilter) else RunFilter(ids=tuple(int(i) for i in runs))


def download_buttons(runs: Sequence[int] | RunFilter, stem: str = "overfit-lab-runs", container: Any = None) -> None:
    """One download button per export format for the given runs (ids or a filter; full configs, JSON adds histories).

    Each file is written when its button is clicked (a callable), a chunk of runs at a time: a page never builds an
    export of thousands of runs it may not be asked for."""
    where = container or st
    selection = _selection(runs)
    if selection.ids is not None and not selection.ids:
        where.caption(_("No runs to download."))
        return
    store = get_store()

    def export(fmt: str):
        def data() -> bytes:
            buf = io.BytesIO()
            write_runs(store, selection, fmt, buf, with_history=fmt == "json")
            return buf.getvalue()
        return data

    cols = where.columns(len(FORMATS))
    for col, fmt in zip(cols, FORMATS):
        col.download_button(fmt, export(fmt), icon=":material/download:", file_name=f"{stem}.{SUFFIX[fmt]}", mime=MIME[fmt],
                            key=f"download.{stem}.{fmt}", on_click="ignore")


def import_box(container: Any = None) -> list[int]:
    """An uploader that imports an exported table into the store; returns the ids added (empty if refused)."""
    where = container or st
    upload = where.file_uploader(_("Import runs (csv, json, parquet or md from an Overfit Lab export)"),
                                 type=["csv", "json", "parquet", "md"], key="import.file")
    if upload is None:
        return []
    done_key = f"import.done.{upload.file_id}"
    if done_key in st.session_state:  # the same upload survives reruns: import it once
        where.success(st.session_state[done_key][1])
        return st.session_state[done_key][0]
    try:
        report = import_bytes(get_store().require_writable(), upload.getvalue(), upload.name)
    except (ImportRefused, StoreError) as exc:
        where.error(_("Import refused, nothing was stored: {problem}").format(problem=error_text(exc)))
        return []
    message = _("Imported {n} runs from {file}").format(n=len(report.added), file=upload.name) + (
        _(" ({n} were already stored)").format(n=report.skipped) if report.skipped else "")
    st.session_state[done_key] = (report.added, message)
    where.success(message)
    return report.added


def stored_runs(store: Store, container: Any = None) -> pd.DataFrame:
    """Every readable stored run as the runs table; rows that cannot be read are left out, with a warning saying why."""
    return read_or_stop(store, lambda skipped: store.runs(skipped=skipped), container)


def read_or_stop(store: Store, read: Any, container: Any = None) -> Any:
    """`read(skipped)` from the store: a store that cannot be read is one error line and the page stops there; rows
    that cannot be read are left out, with a warning saying why."""
    skipped: list[str] = []
    try:
        out = read(skipped)
    except StoreError as exc:
        (container or st).error(error_text(exc), icon=":material/database:")
        st.stop()
    if skipped:
        more = _(" (and {n} more)").format(n=len(skipped) - 1) if len(skipped) > 1 else ""
        (container or st).warning(_("{n} stored run(s) in {path} cannot be read and are left out: {first}{more}").format(
            n=len(skipped), path=store.path, first=error_text(skipped[0]), more=more), icon=":material/database:")
    return out


def link_to(page: str, label: str, icon: str | None = None, query_params: dict[str, str] | None = None) -> None:
    """A link to another page; outside the dashboard's router (a page run on its own) a plain URL link."""
    from streamlit.errors import StreamlitAPIException

    try:
        st.page_link(page, label=label, icon=icon, query_params=query_params)
    except StreamlitAPIException:
        from ui.navigation import PAGES

        url = next((p.url_path for p in PAGES if p.path == page), page)
        st.markdown(f"[{label}](/{url}{'?' + urlencode(query_params) if query_params else ''})")


def summary_panel(runs: Sequence[int] | RunFilter, key: str, stem: str) -> None:
    """The summary table of these runs (ids or a filter; one study): shown, with copyable Markdown and LaTeX and a
    download per format. Only the selected runs are read, once."""
    store = get_store()
    selection = _selection(runs)
    runs = store.runs(filter=selection)
    if runs.empty:
        st.info(_("No runs to summarise."))
        return
    available, default = summary_tables.metric_choices(runs)
    study = str(runs["study"].iloc[0])
    # the key names the study: each study has its own metrics, and a URL keeps the choice for each
    metrics = st.multiselect(_("summary metrics"), available, default=default, placeholder=_("Choose options"), key=f"{key}.{study}.metrics", bind="query-params",
                             help=_("Columns of the summary table; by default the study's headline metrics."))
    if available and not metrics:
        st.info(_("Pick one or more metrics for the summary table."))
        return
    try:  # no metric at all (every run diverged): the table still shows the settings and what was left out
        [summary] = summary_tables.summaries(store, metrics=metrics or None, runs=runs)
    except ValueError as exc:
        st.error(_("No summary: {problem}").format(problem=error_text(exc)))
        return
    text = {fmt: summary_tables.render(summary, fmt) for fmt in summary_tables.FORMATS}
    st.markdown(text["markdown"])
    left, right = st.columns(2)
    left.caption(_("Markdown, to paste into an issue (copy button at the top right):"))
    left.code(text["markdown"], language="markdown")
    right.caption(_("LaTeX, with booktabs:"))
    right.code(text["latex"], language="latex")
    for col, fmt in zip(st.columns(len(text)), text):
        col.download_button(_("summary ({format})").format(format=fmt), text[fmt], icon=":material/download:", file_name=f"{stem}-summary.{summary_tables.SUFFIX[fmt]}",
                            mime=summary_tables.MIME[fmt], key=f"{key}.download.{fmt}", on_click="ignore")
