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
    assert at.multiselect(key="sweep.polynomial.params").value == ["degree"]
    at.select_slider(key="sweep.polynomial.degree.range").set_value((1, 5)).run()
    at.number_input(key="sweep.polynomial.degree.steps").set_value(5).run()
    at.slider(key="sweep.polynomial.set.epochs").set_value(3).run()
    at.slider(key="sweep.folds").set_value(2).run()
    assert any(c.value == "degree = 1, 2, 3, 4, 5" for c in at.caption)  # the exact grid, before it runs
    assert any("degree (5)" in c.value and "2 folds" in c.value for c in at.caption)
    at.button(key="sweep.start").click().run()
    sweep_id = at.query_params["sweep.id"]
    store = Store(isolated_store)
    spec = SweepSpec.from_dict(store.sweeps().set_index("id").loc[sweep_id, "settings"])
    assert spec.base["n_train"] == 20 and spec.base["epochs"] == 3  # the default sweep's fixed values, as shown
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
    at.multiselect(key="sweep.linear-regression.params").set_value([]).run()
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
    picker = at.selectbox(key="runs.group.study")
    assert picker.options == ["classification", "polynomial"]
    latest = store.runs().sort_values("id")["study"].iloc[-1]
    assert picker.value == latest  # the latest run's study first
    picker.set_value("classification").run()
    assert summary_markdown(at).startswith("| dropout | n | test_acc | test_loss | gap |")
    at.selectbox(key="runs.group.study").set_value("polynomial").run()
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
    assert not at.exception and not [s for s in at.selectbox if s.key == "runs.group.study"]
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


# --- the Sweeps form: each study's default sweep, reset on a study change, exact integer grids -------------------


def test_sweeps_page_form_starts_from_each_studys_default_sweep(app_test):
    from core.studies import STUDIES
    from core.sweeps import axis_text, default_spec, describe

    at = app_test("pages/sweeps.py")
    for study_id, study in STUDIES.items():
        at.selectbox(key="sweep.study").set_value(study_id).run()
        assert not at.exception and not at.error, study_id
        spec = default_spec(study)
        assert at.multiselect(key=f"sweep.{study_id}.params").value == [a.name for a in spec.axes]
        captions = [c.value for c in at.caption]
        assert describe(spec) in captions, study_id  # the same sweep as the CLI's default, before it runs
        for axis in spec.axes:
            assert axis_text(axis) in captions
            if study.param(axis.name).kind is int:
                assert "." not in axis_text(axis).split("=", 1)[1]  # whole numbers only
        for name, value in spec.base.items():  # what the sweep holds fixed is on screen, each with its widget
            widget = next(w for w in at.main if getattr(w, "key", None) == f"sweep.{study_id}.set.{name}")
            assert widget.value == value
        assert at.button(key="sweep.start")


def test_sweeps_page_study_change_resets_the_form(app_test):
    at = app_test("pages/sweeps.py")
    at.selectbox(key="sweep.study").set_value("polynomial").run()
    at.multiselect(key="sweep.polynomial.params").set_value(["lr"]).run()
    at.selectbox(key="sweep.study").set_value("weight-decay").run()
    assert at.multiselect(key="sweep.weight-decay.params").value == ["weight_decay"]  # not the old lr
    assert at.select_slider(key="sweep.weight-decay.weight_decay.range").value == (0.0001, 100)
    at.selectbox(key="sweep.study").set_value("polynomial").run()
    assert at.multiselect(key="sweep.polynomial.params").value == ["degree"]


def test_sweeps_page_integer_grid_is_exact_before_it_runs(app_test):
    at = app_test("pages/sweeps.py", {"sweep.study": "polynomial"})
    at.number_input(key="sweep.polynomial.degree.steps").set_value(5).run()
    assert not at.exception
    assert any("1..15 in 5 steps is not a whole-number grid" in e.value and "use 2, 3, 8 or 15 steps" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "sweep.start"]
    at.number_input(key="sweep.polynomial.degree.steps").set_value(8).run()
    assert not at.error and any(c.value == "degree = 1, 3, 5, 7, 9, 11, 13, 15" for c in at.caption)
    at.segmented_control(key="sweep.polynomial.degree.spacing").set_value("list").run()
    at.text_input(key="sweep.polynomial.degree.list").input("2, 4, 20").run()
    assert not at.error and any(c.value == "degree = 2, 4, 20" for c in at.caption)
    at.text_input(key="sweep.polynomial.degree.list").input("2, 4.5").run()
    assert any("degree: '4.5' is not allowed" in e.value for e in at.error)
    at.multiselect(key="sweep.polynomial.params").set_value(["epochs"]).run()  # an integer without a preset range
    assert not at.error and any(c.value == "epochs = 97, 98, 99, 100, 101, 102, 103" for c in at.caption)


def chart_specs(at) -> list[dict]:
    """Each chart's Vega-Lite spec, its data sets (sent apart from the spec) as DataFrames under "datasets"."""
    import json

    import pyarrow as pa

    out = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        spec["datasets"] = {d.name: pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets}
        out.append(spec)
    return out


def test_sweeps_page_draws_the_finished_runs_while_the_sweep_runs(isolated_store, app_test):
    """Partial results: 3 of 5 runs stored and the job still running — the curve of those 3, one consistent count."""
    from core.studies import get_study
    from ui import jobs

    store = Store(isolated_store)
    spec = SweepSpec("polynomial", {"epochs": 30, "n_train": 20}, (Axis("degree", (1, 2, 3, 8, 15)),))
    sweep_id = store.create_sweep("polynomial", {**spec.to_dict(), "backend": "serial"})
    job = jobs.Job(sweep_id, spec, "serial", spec.n_runs, fraction=0.5, text="3/5 runs, training: epoch 12")
    jobs._jobs()[sweep_id] = job  # as jobs.start registers it: the page finds the sweep still running
    at = app_test("pages/sweeps.py", {"sweep.id": sweep_id})
    assert not at.exception
    assert "No run has finished yet" in texts(at) and not chart_specs(at)
    assert at.get("progress")[0].proto.text.startswith("0/5 runs stored")

    for degree in (1, 2, 3):
        run_study(get_study("polynomial"), {"epochs": 30, "n_train": 20, "degree": degree}, store=store, sweep_id=sweep_id)
    at.run()
    assert not at.exception
    progress = at.get("progress")[0].proto.text
    assert progress.startswith("3/5 runs stored") and "(training: epoch 12)" in progress  # one count, from the store
    assert "No run has finished yet" not in texts(at)
    [chart] = chart_specs(at)
    assert chart["title"] == "test loss against degree"
    drawn = {d for frame in chart["datasets"].values() if {"degree", "mean"} <= set(frame) for d in frame["degree"]}
    assert drawn == {1, 2, 3}
    # computed from the 3 runs drawn, and said to be so far: the lowest degree finished yet is no range to extend
    assert "So far: The test loss is lowest at the highest degree finished (3: " in texts(at)
    assert "The summary table and downloads appear when the sweep has finished." in texts(at)
    assert not [m for m in at.markdown if m.value.startswith("| ")]

    for degree in (8, 15):
        run_study(get_study("polynomial"), {"epochs": 30, "n_train": 20, "degree": degree}, store=store, sweep_id=sweep_id)
    job.finished = time.time()
    at.run()
    assert not at.exception
    assert any("All 5 runs stored" in s.value for s in at.success)
    assert len(summary_table(at)) == 5


# --- the Runs page: one study per comparison and grouping, categorical axes -----------------------------------


@pytest.fixture
def mixed_store(isolated_store):
    """Polynomial runs, then classification runs on two 2-D sets with two activations (the latest study)."""
    s = Store(isolated_store)
    for degree in (1, 3):
        run_study(get_study("polynomial"), {"epochs": 3, "degree": degree}, store=s)
    small = {"epochs": 2, "n_train": 40, "n_test": 40, "hidden": 8}
    for dataset, activation in (("moons", "relu"), ("circles", "tanh"), ("moons", "tanh")):
        run_study(get_study("classification"), {**small, "dataset": dataset, "activation": activation}, store=s)
    return s


def test_runs_page_default_comparison_stays_within_one_study(mixed_store, app_test):
    at = app_test("pages/runs.py")
    assert not at.exception and not at.error
    assert at.multiselect(key="runs.ids").value == [5, 4, 3]  # the latest runs, all of the latest run's study
    [chart] = chart_specs(at)[:1]
    assert "runs overlaid" in chart["title"]
    assert "come from 2 studies" not in texts(at)
    at.multiselect(key="runs.ids").set_value([5, 1]).run()  # a student picks runs of two studies: one chart each
    assert not at.exception
    assert "These runs come from 2 studies" in texts(at)
    titles = [c["title"] for c in chart_specs(at)]
    assert titles[:2] == [get_study("classification").title, get_study("polynomial").title]


def test_runs_page_grouping_never_pools_two_studies(mixed_store, app_test):
    at = app_test("pages/runs.py")
    picker = at.selectbox(key="runs.group.study")
    assert picker.options == ["classification", "polynomial"] and picker.value == "classification"
    assert at.selectbox(key="runs.group").options == ["dataset", "activation"]  # what varies within classification
    grouped = at.dataframe[1].value
    assert grouped["runs"].sum() == 3  # the 3 classification runs, none of the polynomial ones
    picker.set_value("polynomial").run()
    assert not at.exception
    assert at.selectbox(key="runs.group").options == ["degree"]
    assert list(at.dataframe[1].value["runs"]) == [1, 1]
    assert summary_table(at)[0][0] == "1"  # the summary follows the same study


def test_runs_page_parallel_coordinates_show_categorical_axes(mixed_store, app_test):
    at = app_test("pages/runs.py")
    assert not at.exception
    [parallel] = [c for c in chart_specs(at) if str(c.get("title", "")).startswith("Parameters and metrics")]
    frames = list(parallel["datasets"].values())
    lines = next(f for f in frames if {"axis", "position", "id"} <= set(f))
    ticks = next(f for f in frames if "tick" in f)
    assert set(lines["axis"]) == {"dataset", "activation", "test loss"}
    dataset = lines[lines["axis"] == "dataset"]
    assert len(dataset) == 3 and dataset["position"].notna().all()  # every run drawn on the categorical axis
    assert {"circles", "moons", "relu", "tanh"} <= set(ticks["tick"])  # each category labelled at its position
