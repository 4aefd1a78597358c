"""Hostile URLs: every URL-bound widget of every page ignores or clamps a value it cannot hold (AppTest).

The pages' training is replaced by validation only (`ui.runner.run` checks the config it is given and shows
what is wrong, without training), so each page loads in a fraction of a second; what is tested is the widgets
and the configs they would hand to a study.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from conftest import load_page
from streamlit.testing.v1 import AppTest

import ui.runner
from core.store import Store
from core.studies import get_study, run_study
from ui.widgets import MAX_URL_VALUE, url_value_holdable

ROOT = Path(__file__).resolve().parents[1]
TABS = {
    "pages/basics.py": ("basics.tab", ["Activations", "Vanishing gradients", "Forward and backward", "Why nonlinearity"]),
    "pages/regression.py": ("regression.tab", ["One input", "Several inputs", "Polynomial"]),
    "pages/classification.py": (None, [None]),
    "pages/capacity.py": ("capacity.tab", ["Under- and overfitting", "Width vs depth", "Universal approximation"]),
    "pages/data_strategies.py": ("data.tab", ["Learning curve", "Augmentation", "Validation set", "K-fold", "Early stopping"]),
    "pages/regularization.py": ("reg.tab", ["L2, L1 and weight decay", "Dropout", "Inverted dropout"]),
    "pages/sweeps.py": (None, [None]),
    "pages/runs.py": (None, [None]),
    "pages/frontier.py": ("frontier.tab", ["Double descent", "Memorisation", "Bias–variance", "Label noise"]),
    "pages/reproductions.py": (None, [None]),
}
CASES = [(page, tab) for page, (_, tabs) in TABS.items() for tab in tabs]
# numbers no widget holds, numbers out of every range, garbage, an empty value, a huge text
EXTREMES = ["1e309", "inf", "-inf", "nan", "9" * 30, "-" + "9" * 25, "-1", "1e9", "garbage", "", "x" * 100_000, "0.5"]
KINDS = ("slider", "select_slider", "number_input", "selectbox", "multiselect", "button_group", "toggle", "text_input")


@pytest.fixture(autouse=True)
def validate_only(monkeypatch):
    """Pages validate the configs they would train (a bad one is shown as an error) but train nothing."""
    configs: list[tuple[str, dict]] = []

    def run(study_id, values, *, folds=None, fold=None, **_):
        configs.append((study_id, dict(values)))
        ui.runner.validate(study_id, values, folds, fold)
        return None

    monkeypatch.setattr(ui.runner, "run", run)
    monkeypatch.setattr(ui.runner, "run_each", lambda study_id, pairs, *, folds=None, fold=None, **_: [
        run(study_id, v, folds=folds, fold=fold) for v, _label in pairs] and None)
    monkeypatch.setattr(ui.runner, "prefetch", lambda *a, **k: None)
    return configs


@pytest.fixture
def stored(isolated_store):
    """A few stored runs, so the Runs page draws all its widgets."""
    store = Store(isolated_store)
    run_study(get_study("polynomial"), {"epochs": 2, "degree": 2}, folds=2, store=store)
    run_study(get_study("weight-decay"), {"epochs": 2}, store=store)
    return store


def bound_widgets(at) -> dict[str, object]:
    """Every widget on the page that is bound to a URL query parameter, by key."""
    return {w.key: w for kind in KINDS for w in at.get(kind) if getattr(w.proto, "query_param_key", "")}


def holds(w) -> bool:
    """Whether the widget's value is one it can hold: inside its range, one of its options, finite."""
    kind, value = type(w).__name__, w.value
    values = value if isinstance(value, (tuple, list)) else (value,)
    if kind == "Slider":
        return all(math.isfinite(v) and w.proto.min <= v <= w.proto.max for v in values)
    if kind == "NumberInput":
        return value is not None and math.isfinite(value) and w.min <= value <= w.max
    if kind == "SelectSlider":
        return all(w.format_func(v) in w.options for v in values)
    if kind == "Selectbox":
        return w.index is not None
    if kind in ("Multiselect", "ButtonGroup"):
        return all(0 <= i < len(w.options) for i in w.indices)
    if kind == "Toggle":
        return isinstance(value, bool)
    return isinstance(value, str) and len(value) <= MAX_URL_VALUE


def query(page: str, tab: str | None, values: dict[str, str]) -> dict[str, str]:
    tab_key = TABS[page][0]
    return {**values, **({tab_key: tab} if tab_key else {}), **({"sweep.linear-regression.params": "lr"} if page == "pages/sweeps.py" else {})}


def url_keys(page: str) -> list[str]:
    """Every widget key the page's source names (a sweep axis's keys for lr): the URL parameters it may bind."""
    text = (ROOT / page).read_text()
    return sorted({key.replace("{name}", "lr") for key in re.findall(r'key=f?"([^"]+)"', text)})


@pytest.mark.parametrize("page,tab", CASES, ids=[f"{p.split('/')[1][:-3]}-{t}" for p, t in CASES])
def test_every_bound_widget_ignores_or_clamps_url_values_it_cannot_hold(request, validate_only, page, tab):
    if page == "pages/runs.py":
        request.getfixturevalue("stored")
    # the keys the source names, and those helpers bind under the page's prefix (e.g. the summary panel's metrics)
    keys = sorted(set(url_keys(page)) | set(bound_widgets(load_page(page, query(page, tab, {})))))
    # each key gets another extreme (the rotation differs per tab, so every kind of widget meets many of them)
    shift = CASES.index((page, tab))
    hostile = {key: EXTREMES[(i + shift) % len(EXTREMES)] for i, key in enumerate(keys)}
    at = load_page(page, query(page, tab, hostile))
    assert not at.exception, [e.value for e in at.exception]
    widgets = bound_widgets(at)
    assert widgets and set(widgets) <= set(keys), "every bound widget got a hostile value"
    for key, w in widgets.items():
        assert holds(w), (key, hostile[key][:20], w.value)
    # a value no widget can hold never reaches a study: every config the page would train is valid
    assert not [e.value for e in at.error if "Cannot run" in e.value]
    assert all("\n" not in e.value for e in at.error)


WIDGETS = '''
import streamlit as st
from ui.boot import require_router

require_router()
st.number_input("int", 1, 50, 5, key="n", bind="query-params")
st.number_input("float", 0.0, 1.0, 0.5, key="f", bind="query-params")
st.slider("int slider", 1, 20, 3, key="s", bind="query-params")
st.slider("range", 0.0, 2.0, (0.5, 1.0), key="r", bind="query-params")
st.select_slider("stops", options=[1, 10, 100], value=10, key="ss", bind="query-params")
st.select_slider("stop range", options=[0.1, 1.0, 10.0], value=(0.1, 1.0), key="sr", bind="query-params")
st.selectbox("choice", ["a", "b"], key="sb", bind="query-params")
st.multiselect("several", [1, 2, 3], default=[1], key="ms", bind="query-params", max_selections=2)
st.segmented_control("segments", ["x", "y"], default="x", key="sc", bind="query-params")
st.toggle("toggle", key="t", bind="query-params")
st.text_input("text", "hi", key="ti", bind="query-params")
'''
DEFAULTS = {"n": 5, "f": 0.5, "s": 3, "r": (0.5, 1.0), "ss": 10, "sr": (0.1, 1.0), "sb": "a", "ms": [1], "sc": "x", "t": False}


@pytest.mark.parametrize("value", EXTREMES, ids=lambda v: v[:12] or "empty")
def test_every_kind_of_bound_widget_ignores_an_extreme_value(value):
    at = AppTest.from_string(WIDGETS, default_timeout=60)
    for key in [*DEFAULTS, "ti"]:
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    widgets = bound_widgets(at)
    assert all(holds(w) for w in widgets.values())
    numbers = {k: widgets[k].value for k in ("n", "f", "s", "r", "ss", "sr")}
    if value != "0.5":  # the one value some of these widgets can hold
        assert numbers == {k: DEFAULTS[k] for k in numbers}
    expected_text = value if url_value_holdable(value) else "hi"
    assert widgets["ti"].value == expected_text  # a text input holds any text, but not a huge one or an infinite number


@pytest.mark.parametrize("query_values", [
    # the issue's URLs, with the form's keys as they are now (each study's form has its own keys)
    {"sweep.study": "polynomial", "sweep.polynomial.params": "lr", "sweep.polynomial.lr.spacing": "log",
     "sweep.polynomial.lr.steps": "1e309"},
    {"sweep.study": "polynomial", "sweep.polynomial.params": "lr", "sweep.polynomial.lr.spacing": "log",
     "sweep.polynomial.lr.steps": "inf"},
    {"sweep.study": "polynomial", "sweep.polynomial.params": "lr", "sweep.polynomial.lr.spacing": "log",
     "sweep.polynomial.lr.steps": "-inf"},
    {"sweep.study": "polynomial", "sweep.polynomial.params": ["lr", "epochs"], "sweep.polynomial.lr.spacing": "log",
     "sweep.polynomial.lr.steps": ["3", "1e309"], "sweep.polynomial.lr.range": ["5", "0.001", "1"]},
], ids=["1e309", "inf", "-inf", "repeated"])
def test_the_issue_s_sweep_urls_load(query_values):
    at = load_page("pages/sweeps.py", query_values)
    assert not at.exception and not at.error
    assert at.number_input(key="sweep.polynomial.lr.steps").value == 5  # the default: the URL value was dropped


def test_the_issue_s_inverted_dropout_url_loads():
    at = load_page("pages/regularization.py", {"reg.tab": "Inverted dropout", "math.seed": "inf"})
    assert not at.exception and at.number_input(key="math.seed").value == 0
    assert "math.seed" not in at.query_params  # dropped from the address too, so a copied link does not carry it on


def test_an_empty_value_for_a_required_choice_keeps_its_default(stored):
    at = load_page("pages/runs.py", {"runs.y": "", "runs.view": ""})
    assert not at.exception and at.get("vega_lite_chart")  # the loss curves, overlaid: the defaults
