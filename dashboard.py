"""Overfit Lab: the entry point. `streamlit run dashboard.py`

Declares the pages (files in pages/) and draws the home page: what each page teaches and the
latest stored runs.
"""

from __future__ import annotations

import os

import streamlit as st
import torch

from ui.navigation import PAGES

# The models here are tiny: one thread per training run beats two fighting over small matrices, and leaves
# the other core to concurrent sessions and sweep workers. OVERFIT_LAB_THREADS overrides it.
torch.set_num_threads(int(os.environ.get("OVERFIT_LAB_THREADS", "1")))

st.set_page_config(page_title="Overfit Lab", page_icon=":material/trending_down:", layout="wide")


def home() -> None:
    from ui.home import render

    render()


navigation = st.navigation(
    [st.Page(home, title="Home", icon=":material/home:", default=True)]
    + [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path) for p in PAGES]
)
navigation.run()
