"""The data strategies page (AppTest): learning curve, augmentation, validation set, K-fold, early stopping."""

from __future__ import annotations

from conftest import load_page
from conftest import metric_values as metrics

PAGE = "pages/data_strategies.py"


def load(query: dict[str, str] | None = None):
    return load_page(PAGE, query)


def pct(text: str) -> float:
    return float(text.split("%")[0])


def test_defaults_show_a_learning_curve_whose_gap_closes():
    at = load()
    assert not at.exception and not at.error
    gaps = {label: pct(v) for label, v in metrics(at).items() if label.startswith("gap with")}
    assert len(gaps) == 2
    (small_label, small), (large_label, large) = sorted(gaps.items(), key=lambda kv: int(kv[0].split()[2]))
    assert small > large + 10  # few examples: a large train/validation gap; more data closes it
    assert metrics(at)[small_label.replace("gap", "training accuracy")] == "100.0%"  # the small set is fitted
    assert len(at.get("vega_lite_chart")) == 2
    assert any("fits them all" in m.value and "More data closes the gap" in m.value for m in at.markdown)
    # the x axis ends at the data: no rounding out to the next power of ten
    spec = at.get("vega_lite_chart")[0].proto.spec
    assert '"nice": false' in spec


def chart_data(at, index: int):
    """The rows behind a page's chart (Streamlit ships them as Arrow datasets)."""
    from streamlit import dataframe_util

    proto = at.get("vega_lite_chart")[index].proto
    return [dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data) for d in proto.datasets]


def test_fewer_sizes_and_another_model_change_the_curve():
    at = load({"lc.epochs": "5", "lc.hidden": "20"})
    sizes = set(chart_data(at, 0)[0]["train_examples"])
    assert len(sizes) == 6
    before = metrics(at)
    at.slider(key="lc.n_sizes").set_value(3).run()
    assert not at.exception
    assert len(set(chart_data(at, 0)[0]["train_examples"])) == 3
    at.selectbox(key="lc.model").set_value("softmax").run()
    assert not at.exception
    after = metrics(at)
    assert after.keys() == before.keys() and after != before


def test_validation_set_picks_a_degree_and_reports_its_test_loss_once():
    at = load({"data.tab": "Validation set"})
    assert not at.exception and not at.error
    m = metrics(at)
    assert m["degree chosen by validation"] == "3"
    assert float(m["its test MSE (test set used once)"]) < 0.5
    at.select_slider(key="val.n_train").set_value(100).run()
    assert not at.exception
    assert "validated it" in at.caption[0].value and at.caption[0].value.startswith("70 examples")


def test_kfold_picks_the_polynomial_degree_beside_the_spread_over_folds():
    at = load({"data.tab": "K-fold"})
    assert not at.exception and not at.error
    m = metrics(at)
    assert m["degree chosen by 5-fold"] == "3"
    mean, std = (float(part) for part in m["its validation MSE, mean ± std"].split("±"))
    assert 0 < mean < 1 and std > 0
    assert len(at.get("vega_lite_chart")) == 2
    folds = chart_data(at, 1)[0]
    assert sorted(folds["fold"].unique()) == [0, 1, 2, 3, 4] and len(folds) == 5 * 9  # every fold at every degree
    assert any(t.value.startswith("K-fold picks degree 3") for t in at.markdown)
    at.slider(key="kfold.folds").set_value(3).run()
    assert not at.exception
    assert "degree chosen by 3-fold" in metrics(at)


def test_early_stopping_marks_the_epochs_and_restores_the_best():
    at = load({"data.tab": "Early stopping", "es.epochs": "40"})
    assert not at.exception and not at.error
    m = metrics(at)
    stopped, best = int(m["stopped at epoch"]), int(m["best epoch (restored)"])
    assert best < stopped < 40
    assert "Restored, not merely stopped" in at.caption[0].value
    explained = [t.value for t in at.markdown if "Why the training loss" in t.value]
    assert explained and "20% of which were replaced" in explained[0]
    # both marks are labelled on the chart
    spec = at.get("vega_lite_chart")[0].proto.spec
    assert f"best epoch {best}" in str(chart_data(at, 0)) and '"text"' in spec
    assert f"stopped at {stopped}" in str(chart_data(at, 0))
    at.slider(key="es.patience").set_value(2).run()
    assert int(metrics(at)["stopped at epoch"]) < stopped


def test_augmentation_default_raises_test_accuracy_and_says_so():
    at = load({"data.tab": "Augmentation"})
    assert not at.exception and not at.error
    m = metrics(at)
    assert pct(m["test accuracy with"]) > pct(m["test accuracy without"])
    assert any(t.value.startswith("Here augmentation raised") for t in at.markdown)
    assert any("random rotation of up to ±15°" in t.value for t in at.markdown)
    at.select_slider(key="aug.train_size").set_value(0.05).run()
    assert not at.exception
    verdict = [t.value for t in at.markdown if t.value.startswith("Here augmentation")]
    m = metrics(at)
    raised = pct(m["test accuracy with"]) > pct(m["test accuracy without"])
    assert verdict and ("raised" in verdict[0]) == raised  # the sentence follows the numbers, whichever way they go
