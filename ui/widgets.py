"""Widgets built from study parameters, their state kept in the URL.

A slider's range, default and help come from the `Param` a study declared, so the page, the
CLI and `python -m core studies` never disagree. Every widget is bound to a URL query parameter
of the same name (`bind="query-params"`), so a copied link reproduces the view. A bound widget's URL value is the label
it shows, so tabs and choices shown translated keep an identifier in the URL themselves (`url_tabs`, `url_choice`),
the same in every language.

A URL is untrusted input. Streamlit 1.67 seeds a bound widget from the query string of the run's
start (`QueryParams._initial_query_params`): it parses the text for the widget's value type, then
the widget's deserializer clamps or rejects it, and drops what raises ValueError, TypeError or
IndexError. A number input of integers turns `inf` or `1e309` into an OverflowError instead, which
escapes as a traceback. `sanitise_url` (called first on every page, by `ui.boot.require_router`)
removes such values before any widget reads them, for every widget, including those a page makes
with `st.*` directly; out-of-range values, unknown options and garbage text are left to the
widgets, which ignore them. One more gap: a required segmented control takes an empty value
(`?key=`) as None, so pages make those with `segmented`.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import streamlit as st

from core.i18n import LANGUAGES, _, translate
from core.params import Param
from core.studies import Study, get_study


MAX_URL_VALUE = 500  # characters: the longest value a widget here holds is a short list of logits
MAX_URL_VALUES = 50  # repeated values of one key (a multiselect here holds at most 12)
LARGEST_URL_NUMBER = 2.0**53  # past this a browser's number is inexact, and no widget here holds one


def url_value_holdable(value: str) -> bool:
    """Whether some widget could hold this URL value: not a non-finite or huge number, not a huge text."""
    if len(value) > MAX_URL_VALUE:
        return False
    try:
        number = float(value)
    except ValueError:
        return True  # text: an option list or a text input judges it
    return math.isfinite(number) and abs(number) <= LARGEST_URL_NUMBER


def sanitise_url() -> list[str]:
    """Drop URL query values no widget can hold, before any widget reads them; returns the keys dropped."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    if get_script_run_ctx(suppress_warning=True) is None:
        return []  # not inside a page run (a bare import, a test of a helper)
    from streamlit.runtime.state.session_state_proxy import get_session_state

    with get_session_state().query_params() as qp:
        initial = getattr(qp, "_initial_query_params", None)  # what bound widgets are seeded from (Streamlit 1.67)
        if not isinstance(initial, dict):
            return []
        bad = [k for k, values in initial.items()
               if len(values) > MAX_URL_VALUES or not all(url_value_holdable(v) for v in values)]
        for key in bad:
            del initial[key]
            qp.remove_param(key)  # and from the address bar, so a copied link does not carry it on
    return bad


def segmented(where: Any, label: str, options: Sequence[Any], default: Any, *, key: str, **kwargs: Any) -> Any:
    """A segmented control that always has a value, bound to the URL.

    `required=True` alone does not promise that: Streamlit 1.67 takes an empty URL value (`?key=`) for it and returns None.
    Options shown translated (a `format_func`) keep the option itself in the URL (`url_choice`).
    """
    if "format_func" in kwargs:
        return url_choice(where.segmented_control, label, options, default, key=key, required=True, **kwargs)
    value = where.segmented_control(label, options, default=default, key=key, bind="query-params", required=True, **kwargs)
    return default if value is None else value


def url_choice(widget: Any, label: str, options: Sequence[Any], default: Any, *, key: str, format_func: Any,
               **kwargs: Any) -> Any:
    """A choice widget (`st.selectbox`, `st.segmented_control`) showing its options translated (`format_func`) whose URL
    value is the option itself (`?runs.view=overlaid`), the same in every language.

    A bound widget (`bind="query-params"`) puts the label it shows in the URL, so a link kept the choice only in the
    language it was made in. A URL value that is an option's label in this language (an older link) is taken too and
    rewritten; one that names no option leaves the URL, and the default is shown.
    """
    by_text = {str(format_func(o)): o for o in options}
    by_text.update({str(o): o for o in options})  # the option itself first
    given = st.query_params.get(key)
    chosen = by_text.get(given, default) if given is not None else default
    if given is not None and (given != str(chosen) or chosen == default):
        _set_url(key, chosen, default)
    st.session_state[key] = chosen  # the URL decides; a change has already written it (below)
    value = widget(label, options, key=key, format_func=format_func, on_change=_choice_changed, args=(key, default), **kwargs)
    return default if value is None else value


def _choice_changed(key: str, default: Any) -> None:
    _set_url(key, st.session_state.get(key), default)


def _set_url(key: str, value: Any, default: Any) -> None:
    """`?key=value`; the default leaves the key out of the URL (a clean link), as a bound widget at its default does."""
    if value is None or value == default:
        if key in st.query_params:
            del st.query_params[key]
    else:
        st.query_params[key] = str(value)


def url_tabs(key: str, tabs: Mapping[str, str]) -> Sequence[Any]:
    """`st.tabs` whose open tab is in the URL as `?key=<slug>`, the same in every language, while each tab shows its
    translated label. `tabs`: slug (an English identifier) → label (a message id). Only the open tab runs (`.open`).

    A tab bound with `bind="query-params"` puts its label in the URL, so a link kept its tab only in the language it
    was made in. Here the URL holds the slug; a label in any language (links made before slugs) opens its tab too and
    is rewritten to the slug, and a value that names no tab is dropped, as Streamlit drops one for a bound widget.
    """
    slugs = list(tabs)
    labels = [_(tabs[s]) for s in slugs]
    given = st.query_params.get(key)
    slug = tab_slug(given, tabs) or slugs[0]
    if given is not None and (given != slug or slug == slugs[0]):
        _set_url(key, slug, slugs[0])
    st.session_state[key] = labels[slugs.index(slug)]  # the URL decides; a click has already written it (below)
    return st.tabs(labels, key=key, on_change=_tab_clicked, args=(key, dict(zip(labels, slugs)), slugs[0]))


def tab_slug(value: str | None, tabs: Mapping[str, str]) -> str | None:
    """The slug of the tab a URL value names: the slug itself, or its label in any language; None for no tab."""
    if value is None or value in tabs:
        return value
    for slug, label in tabs.items():
        if value in {translate(label, code) for code in LANGUAGES}:
            return slug
    return None


def _tab_clicked(key: str, slug_of: dict[str, str], first: str) -> None:
    _set_url(key, slug_of.get(st.session_state.get(key), first), first)


def log_options(low: float, high: float, per_decade: int = 3, integer: bool = False, with_zero: bool = False) -> list:
    """Values evenly spaced on a log scale from low to high (1, 2, 5 per decade by default), optionally 0 first."""
    mantissas = {1: [1], 2: [1, 3], 3: [1, 2, 5], 4: [1, 2, 3, 5]}.get(per_decade, [1, 2, 5])
    values = []
    for exp in range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1):
        for m in mantissas:
            v = m * 10.0**exp
            if low - 1e-12 <= v <= high + 1e-12:
                values.append(int(round(v)) if integer else float(f"{v:.6g}"))
    values = sorted(set(values))
    return ([0 if integer else 0.0] if with_zero else []) + values


def param_input(
    param: Param | str,
    *,
    study: Study | str | None = None,
    low: float | None = None,
    high: float | None = None,
    options: Sequence[Any] | None = None,
    default: Any = None,
    key: str | None = None,
    label: str | None = None,
    help: str | None = None,
    step: float | None = None,
    container: Any = None,
    disabled: bool = False,
) -> Any:
    """One widget for a parameter: a checkbox, a select box, a log or linear slider.

    `low`/`high` narrow the declared range for the page; `options` gives explicit slider stops. The label (by default
    the parameter's name) and help are shown in the session's language.
    The widget's key (default: the parameter name) is also its URL query parameter.
    """
    if isinstance(param, str):
        if study is None:
            raise ValueError("param_input: give a Param, or a name with its study")
        param = (get_study(study) if isinstance(study, str) else study).param(param)
    where = container or st
    key = key or param.name
    label = label or _(param.name.replace("_", " "))  # the catalogs hold every declared name's label
    help = help or _(param.help)
    value = param.default if default is None else default
    common = dict(key=key, help=help, disabled=disabled, bind="query-params")
    if param.kind is bool:
        return where.toggle(label, value=bool(value), **common)
    if param.choices is not None:
        choices = list(options or param.choices)
        return where.selectbox(label, choices, index=choices.index(value) if value in choices else 0, **common)
    lo = param.low if low is None else max(low, param.low)
    hi = param.high if high is None else min(high, param.high)
    if options is None and param.log:
        options = log_options(max(lo, 10.0 ** np.floor(np.log10(hi)) * 1e-4) if lo <= 0 else lo, hi,
                              integer=param.kind is int, with_zero=lo <= 0)
    if options is not None:
        options = list(options)
        if value not in options:
            options = sorted(set(options) | {value})
        return where.select_slider(label, options=options, value=value, format_func=_fmt, **common)
    if param.kind is int:
        return where.slider(label, int(lo), int(hi), int(value), step=int(step or 1), **common)
    return where.slider(label, float(lo), float(hi), float(value), step=float(step or (hi - lo) / 100), format="%g", **common)


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)
