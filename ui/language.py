"""The dashboard's language: a sidebar switch (English / 简体中文) kept in the URL as `?lang=zh`.

The switch is a select box drawn by dashboard.py on every run, before the pages are declared (their titles are
translated); it writes `lang` into the URL. An English view has no `lang` in its URL and a Chinese one always
has `lang=zh`: a shared Chinese link opens in Chinese. A first visit
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

KEY = "lang"  # the URL query parameter
WIDGET = "lang.switch"  # the switch's key (its value is in session state)


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
    chosen = st.session_state.get(WIDGET)
    return chosen if chosen in LANGUAGES else _url_language()


set_resolver(_session_language)


def apply() -> str:
    """Set and return this run's language: the switch's value, else `?lang=`, else the browser's, else English."""
    code = st.session_state.get(WIDGET)
    if code not in LANGUAGES:
        code = _url_language() or st.session_state.get(f"{KEY}.browser") or from_browser()
        st.session_state[f"{KEY}.browser"] = code  # a session asks the browser once
    set_language(code)
    return code


def switch() -> str:
    """Draw the sidebar language switch (once per run, before the pages), keep it in the URL, set this run's language.

    The select box is not bound to the URL itself: a bound widget's URL value is its label ("简体中文"), and the
    URL should say `lang=zh`. So the URL is written here: `lang=<code>` for any language but English. A URL whose
    `lang` differs from the one last written (a pasted link, the browser's back button) wins over the switch; a
    page change that drops the query string does not lose the language, since it is written back.
    """
    state = st.session_state
    given = st.query_params.get(KEY)
    warning = None
    if given is not None and given not in LANGUAGES:
        warning, given = given, None
        del st.query_params[KEY]
    if WIDGET not in state:  # first run of this session: the URL's language, else an unknown one's English, else the browser's
        state[WIDGET] = given or (DEFAULT_LANGUAGE if warning is not None else from_browser())
    elif given is not None and given != state.get(f"{KEY}.url"):
        state[WIDGET] = given
    code = st.sidebar.selectbox("Language / 语言", list(LANGUAGES), format_func=LANGUAGES.get, key=WIDGET)
    wanted = None if code == DEFAULT_LANGUAGE else code
    if st.query_params.get(KEY) != wanted:
        if wanted is None:
            del st.query_params[KEY]
        else:
            st.query_params[KEY] = wanted
    state[f"{KEY}.url"] = wanted
    set_language(code)
    if warning is not None:
        st.warning(f"lang={warning[:20]!r}: " + _unknown(code), icon=":material/translate:")
    return code


def _unknown(code: str) -> str:
    from core.i18n import _

    return _("unknown language; showing English. Known: {codes}").format(codes=", ".join(LANGUAGES))


def column_labels(columns) -> dict:
    """Column headers in this run's language for a table of runs or of `core.compare.summary_by`
    (`st.dataframe(column_config=...)`): the data and its exports keep the English column names."""
    from core.i18n import _
    from core.metrics import label

    stats = {"mean": _("mean"), "std": _("std")}

    def header(column: str) -> str:
        name, _sep, stat = str(column).rpartition(" ")
        if name and stat in stats:  # summary_by's "test_loss mean"
            return f"{label(name)} {stats[stat]}"
        return _("runs") if column == "runs" else label(str(column))

    return {c: st.column_config.Column(header(c)) for c in columns}
