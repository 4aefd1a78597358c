"""Make every page run inside the dashboard's router (dashboard.py and its st.navigation).

Streamlit still has its old multipage mode: when a folder named pages/ sits beside the entry script, the
first request after the server starts is served by running the pages/ file directly, without dashboard.py
(no page config, no navigation, no thread setting), if that request is for a page's URL rather than the
home page. Streamlit leaves that mode once st.navigation is called. A page that finds itself run that way
switches it off and reruns, so the router serves the same URL.
"""

from __future__ import annotations

import streamlit as st


def require_router() -> None:
    """Call first in every page: rerun through dashboard.py if Streamlit ran this page directly, drop
    URL values that no widget can hold (`ui.widgets.sanitise_url`) before any widget reads the URL, and set
    this run's language (`ui.language.apply`)."""
    from streamlit.runtime.pages_manager import PagesManager

    from ui import language
    from ui.widgets import sanitise_url

    sanitise_url()
    language.apply()  # a page run on its own (AppTest, the old multipage mode) follows ?lang= too
    if PagesManager.uses_pages_directory and st.runtime.exists():
        PagesManager.uses_pages_directory = False  # what st.navigation itself does on its first call
        st.rerun()
