"""The home page: what each page teaches and the latest stored runs."""

from __future__ import annotations

import streamlit as st

from core.i18n import _
from core.metrics import METRICS
from ui.language import column_labels
from ui.navigation import PAGES
from ui.runner import get_store
from ui.share import read_or_stop

LATEST = 10


def render() -> None:
    st.title(_("Overfit Lab"))
    st.markdown(
        _("Study **overfitting, underfitting and regularization** with real PyTorch training: move a slider, "
        "watch train and test curves move, compare runs side by side and share the result table. "
        "Every number comes from a model trained on this machine, and every run is stored.")
    )
    st.subheader(_("What each page teaches"))
    cols = st.columns(2)
    for i, page in enumerate(PAGES):
        with cols[i % 2].container(border=True):
            st.page_link(page.path, label=_(page.title), icon=page.icon)
            st.caption(_(page.teaches))
    st.subheader(_("Latest runs"))
    store = get_store()
    latest = read_or_stop(store, lambda skipped: store.page(limit=LATEST, skipped=skipped))  # newest first, read alone
    if latest.empty:
        st.info(_("No runs stored yet. Open a page and move a slider: each training run lands here."))
        return
    metrics = [c for c in METRICS if c in latest.columns and latest[c].notna().any()]
    st.dataframe(latest[["id", "study", "status", "created_at", *metrics]], hide_index=True,
                 column_config=column_labels(["id", "study", "status", "created_at", *metrics]))
    st.caption(_("{n} runs stored in `{path}`. See them all on the Runs page.").format(n=store.count(), path=store.path))
