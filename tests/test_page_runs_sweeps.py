"""AppTest for the home, Runs and Sweeps pages: they read the store, compare and share runs, and run sweeps."""

from __future__ import annotations

import time

import pytest

from core.store import Store
from core.studies import get_study, run_study
from core.sweeps import Axis, SweepSpec, run_sweep


@pytest.fixture
def store(isolated_store):
    s = Store(isolated_store)
    for degree in (1, 3):
        run_study(get_study("polynomial"), {"epochs": 4, "degree": degree}, folds=2, store=s)
    run_study(get_study("weight-decay"), {"epochs": 3}, store=s)
    return s


def texts(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "info", "warning", "error", "success") for e in getattr(at, kind))


def test_runs_page_empty_store_says_what_to_do(app_test):
    at = app_test("pages/runs.py")
    assert not at.exception
    assert "No runs stored yet" in texts(at)


def test_runs_page_filters_groups_and_compares(store, app_test):
    at = app_test("pages/runs.py")
    assert not at.exception and not at.error
    assert len(at.dataframe[0].value) == 5
    at.multiselect(key="runs.study").set_value(["polynomial"]).run()
    table = at.dataframe[0].value
    assert len(table) == 4 and set(table["degree"]) == {1, 3}
    chosen = at.multiselect(key="runs.ids").value
    assert chosen and set(chosen) <= set(table["id"])  # only runs that pass the filter stay selected
    assert at.selectbox(key="runs.group").value == "degree"
    summary = at.dataframe[1].value
    assert list(summary["degree"]) == [1, 3] and list(summary["runs"]) == [2, 2]
    # the cubic fits far better than a line: the grouped validation loss says so
    assert summary.loc[summary["degree"] == 3, "val_loss mean"].item() < summary.loc[summary["degree"] == 1, "val_loss mean"].item()

    at.multiselect(key="runs.study").set_value(["weight-decay"]).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 1


def test_runs_page_side_by_side_limits_and_rerun(store, app_test):
    at = app_test("pages/runs.py")
    at.segmented_control(key="runs.view").set_value("side by side").run()
    assert not at.exception and not at.warning
    before = store.count()
    at.button(key="runs.rerun_button").click().run()
    assert not at.exception
    assert store.count() == before + 1  # the re-run lands in the store
    new, old = store.records()[-1], store.records([at.selectbox(key="runs.rerun").value])[0]
    assert new["config"] == old["config"]
    assert new["metrics"]["test_loss"] == old["metrics"]["test_loss"]  # same config and seed, same numbers

    fold_run = store.runs(study="polynomial").iloc[-1]  # fold 1 of 2: re-running it trains that fold only
    at.selectbox(key="runs.rerun").set_value(int(fold_run["id"])).run()
    assert any("--folds 2 --fold 1" in c.value for c in at.code)
    at.button(key="runs.rerun_button").click().run()
    assert store.count() == before + 2
    again = store.records()[-1]
    # the stored folds trained together (stacked); the one fold trains alone: equal to float rounding
    assert again["config"]["fold"] == 1 and again["metrics"]["val_loss"] == pytest.approx(fold_run["val_loss"], rel=1e-5)


def test_sweeps_page_runs_a_sweep_in_the_background(app_test, isolated_store):
    at = app_test("pages/sweeps.py")
    assert not at.exception and not at.error
    at.selectbox(key="sweep.study").set_value("polynomial").run()
    at.multiselect(key="sweep.params").set_value(["degree"]).run()
    at.slider(key="sweep.epochs").set_value(3).run()
    at.slider(key="sweep.folds").set_value(2).run()
    assert any("degree (" in c.value and "2 folds" in c.value for c in at.caption)
    at.button(key="sweep.start").click().run()
    sweep_id = at.query_params["sweep.id"]
    store = Store(isolated_store)
    spec = SweepSpec.from_dict(store.sweeps().set_index("id").loc[sweep_id, "settings"])
    deadline = time.time() + 60
    while len(store.runs(sweep_id=sweep_id)) < spec.n_runs and time.time() < deadline:
        time.sleep(0.5)
    assert len(store.runs(sweep_id=sweep_id)) == spec.n_runs
    time.sleep(0.5)
    at.run()
    assert not at.exception
    assert any(f"All {spec.n_runs} runs stored" in s.value for s in at.success)
    table = summary_table(at)  # the summary: a row per degree, its 2 folds pooled
    assert len(table) == len(spec.axes[0].values) and all(row[1] == "2" for row in table)


def test_sweeps_page_refuses_bad_settings(app_test):
    at = app_test("pages/sweeps.py")
    at.multiselect(key="sweep.params").set_value([]).run()
    assert not at.exception
    assert any("Pick at least one parameter" in w.value for w in at.warning)


def test_sweeps_page_reopens_a_stored_sweep(isolated_store, app_test):
    """A refresh (a new session with the id in the URL) finds everything that finished."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    store = Store(isolated_store)
    result = run_sweep(SweepSpec("polynomial", {"epochs": 3}, (Axis("degree", (1, 2, 3)),)), store=store, backend="serial")
    at = AppTest.from_file(str(ROOT / "pages/sweeps.py"), default_timeout=60)
    at.query_params["sweep.id"] = result.sweep_id
    at.run()
    assert not at.exception
    assert any("All 3 runs stored" in s.value for s in at.success)


def test_home_lists_pages_and_latest_runs(store):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    assert "Overfit Lab" in at.title[0].value
    assert len(at.dataframe[0].value) == 5


def test_sweeps_page_dask_scheduler_setting_is_checked(app_test):
    at = app_test("pages/sweeps.py")
    at.selectbox(key="sweep.backend").set_value("dask").run()
    assert at.text_input(key="sweep.scheduler").value == ""  # empty: a local cluster
    at.text_input(key="sweep.scheduler").input("not an address").run()
    assert not at.exception
    assert any("not an address like tcp://host:8786" in e.value for e in at.error)
    assert not at.button  # nothing can start with a bad address


def summary_markdown(at) -> str:
    """The summary table a page shows (the Markdown element that starts with a table row)."""
    return next(m.value for m in at.markdown if m.value.startswith("| "))


def summary_table(at) -> list[list[str]]:
    """The summary's body rows as cells."""
    lines = [line for line in summary_markdown(at).splitlines()[2:] if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines]


def test_runs_page_summary_one_study_at_a_time(isolated_store, app_test):
    from core.summary import render, summaries
    from core.tables import import_file
    from tests.test_summary import FIXTURE

    store = Store(isolated_store)
    import_file(store, FIXTURE)  # no training: real runs of two studies
    at = app_test("pages/runs.py")
    assert not at.exception and not at.error
    picker = at.selectbox(key="runs.summary.study")
    assert picker.options == ["classification", "polynomial"]
    assert summary_markdown(at).startswith("| dropout | n | test_acc | test_loss | gap |")
    picker.set_value("polynomial").run()
    assert not at.exception
    [summary] = summaries(store, study="polynomial")
    assert summary_markdown(at).strip() == render(summary, "markdown").strip()
    assert [c.value.strip() for c in at.code if c.language in ("markdown", "latex")] == [
        render(summary, f).strip() for f in ("markdown", "latex")]
    assert [b.label for b in at.download_button if b.label.startswith("summary")] == [
        "summary (markdown)", "summary (latex)", "summary (csv)", "summary (html)"]

    at.multiselect(key="runs.summary.polynomial.metrics").set_value(["test_loss", "coef_error"]).run()
    assert summary_markdown(at).startswith("| degree | lr | n | test_loss | coef_error |")
    at.multiselect(key="runs.study").set_value(["polynomial"]).run()  # one study shown: no picker
    assert not at.exception and not [s for s in at.selectbox if s.key == "runs.summary.study"]
    assert summary_markdown(at).startswith("| degree | lr | n |")


def test_sweeps_page_summary_of_the_sweep_shown(isolated_store, app_test):
    from tests.test_summary import store_as_trained

    _, sweep_ids = store_as_trained(isolated_store)
    at = app_test("pages/sweeps.py", {"sweep.id": sweep_ids["polynomial"]})
    assert not at.exception and not at.error
    assert [row[:2] for row in summary_table(at)] == [["1", "4"], ["3", "4"], ["9", "4"]]  # only this sweep's runs
    text = summary_markdown(at)
    assert text.rstrip().endswith("`python -m core sweep polynomial --set epochs=20 --grid degree=1,3,9 --folds 2 --seeds 2`")
    assert {c.language for c in at.code} >= {"markdown", "latex"}
    assert len([b for b in at.download_button if b.label.startswith("summary")]) == 4
