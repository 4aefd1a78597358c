"""Overfit Lab: the entry point. `streamlit run dashboard.py`

Declares the pages (files in pages/) and draws the home page: what each page teaches and the
latest stored runs.
"""

from __future__ import annotations

import streamlit as st
import torch

from core.cli import torch_threads
from core.i18n import _
from ui import language
from ui.navigation import PAGES

st.set_page_config(page_title="Overfit Lab", page_icon=":material/trending_down:", layout="wide")
language.switch()  # before anything is written: every text below, the page titles included, is in its language

# The models here are tiny: one thread per training run beats two fighting over small matrices, and leaves
# the other core to concurrent sessions and sweep workers. OVERFIT_LAB_THREADS overrides it.
try:
    torch.set_num_threads(torch_threads())
except ValueError as exc:
    st.warning(_("{problem}; using 1 thread.").format(problem=exc), icon=":material/settings:")
    torch.set_num_threads(1)


def home() -> None:
    from ui.home import render

    render()


navigation = st.navigation(
    [st.Page(home, title=_("Home"), icon=":material/home:", default=True)]
    + [st.Page(p.path, title=_(p.title), icon=p.icon, url_path=p.url_path) for p in PAGES]
)
if navigation.url_path != "playground":
    from ui.playground import leave

    leave()  # another page is shown: this session's live training pauses, its state kept
navigation.run()
