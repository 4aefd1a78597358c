"""The dashboard's language: a sidebar switch (English / 简体中文) kept in the URL as `?lang=zh`.

The switch is a select box bound to the URL key `lang`, drawn by dashboard.py on every run, before the pages
are declared (their titles are translated). English is its default, so an English view has no `lang` in its
URL and a Chinese one always has `lang=zh`: a shared link opens in the sender's language. A first visit
without `lang` follows the browser's language (`st.context.locale`, else the Accept-Language header). An
unknown value (`?lang=fr`) gives English and one warning line.

`apply()` sets the language of this run's thread (`core.i18n.set_language`); pages call it through
`ui.boot.require_router`, so a page run on its own (AppTest) follows `?lang=` too. A thread that never set it
(a fragment's rerun runs in a new thread) asks `_session_language`, installed as the resolver of `core.i18n`.
Threads the pages start (prefetch, sweeps) compute data shared by every session, so they stay English.
"""

from __future__ import annotations

import streamlit as st

from core.i18n import DEFAULT_LANGUAGE, LANGUAGES, set_language, set_resolver

KEY = "lang"  # the widget's key, its session-state entry and its URL query parameter


def from_browser() -> str:
    """The language the browser asks for (navigator.language, else the Accept-Language header), if we have it."""
    tags: list[str] = []
    try:
        locale = st.context.locale
    except Exception:  # noqa: BLE001 - no browser context (a bare script run)
        locale = None
    if locale:
        tags.append(str(locale))
    try:
        header = st.context.headers.get("Accept-Language") or ""
    except Exception:  # noqa: BLE001
        header = ""
    # "zh-CN,zh;q=0.9,en;q=0.8": the tags in the order of their weights
    weighted = []
    for i, part in enumerate(header.split(",")):
        tag, _sep, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if tag:
            weighted.append((-weight, i, tag))
    tags += [tag for _w, _i, tag in sorted(weighted)]
    for tag in tags:
        code = tag.split("-")[0].split("_")[0].lower()
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def _url_language() -> str | None:
    value = st.query_params.get(KEY)
    return value if value in LANGUAGES else None


def _session_language() -> str | None:
    """This session's language, for threads that did not set one (None outside a session)."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    chosen = st.session_state.get(KEY)
    return chosen if chosen in LANGUAGES else _url_language()


set_resolver(_session_language)


def apply() -> str:
    """Set and return this run's language: the switch's value, else `?lang=`, else the browser's, else English."""
    code = st.session_state.get(KEY)
    if code not in LANGUAGES:
        code = _url_language() or st.session_state.get(f"{KEY}.browser") or from_browser()
        st.session_state[f"{KEY}.browser"] = code  # a session asks the browser once
    set_language(code)
    return code


def switch() -> str:
    """Draw the sidebar language switch (once per run, before the pages) and set this run's language."""
    from streamlit.runtime.state.session_state_proxy import get_session_state

    warning = None
    with get_session_state().query_params() as qp:
        initial = getattr(qp, "_initial_query_params", None)  # what bound widgets are seeded from (Streamlit 1.67)
        values = initial.get(KEY) if isinstance(initial, dict) else None
        if values and values[-1] not in LANGUAGES:
            warning = values[-1]
            del initial[KEY]
            qp.remove_param(KEY)
    if KEY not in st.session_state and (warning is not None or not values):
        # first visit: an unknown ?lang= gives English; none, the browser's language (written to the URL if not English)
        st.session_state[KEY] = DEFAULT_LANGUAGE if warning is not None else from_browser()
    code = st.sidebar.selectbox("Language / 语言", list(LANGUAGES), format_func=LANGUAGES.get, key=KEY, bind="query-params")
    set_language(code)
    if warning is not None:
        st.warning(f"lang={warning[:20]!r}: " + _unknown(code), icon=":material/translate:")
    return code


def _unknown(code: str) -> str:
    from core.i18n import _

    return _("unknown language; showing English. Known: {codes}").format(codes=", ".join(LANGUAGES))


def column_labels(columns) -> dict:
    """Column headers in this run's language for a table of runs (`st.dataframe(column_config=...)`): the data and
    its exports keep the English column names."""
    from core.metrics import label

    return {c: st.column_config.Column(label(c)) for c in columns}
