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
    assert len(at.get("vega_lite_chart")) == 2


def chart_data(at, index: int):
    """The rows behind a page's chart (Streamlit ships them as Arrow datasets)."""
    from streamlit import dataframe_util

    proto = at.get("vega_lite_chart")[index].proto
    return [dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data) for d in proto.datasets]


def test_fewer_sizes_and_another_model_change_the_curve():
    at = load({"lc.epochs": "10"})
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


def test_kfold_reports_mean_and_std_over_folds():
    at = load({"data.tab": "K-fold", "kfold.folds": "3", "kfold.epochs": "3", "kfold.model": "softmax"})
    assert not at.exception and not at.error
    text = metrics(at)["validation accuracy"]
    assert "±" in text
    mean, std = (pct(part) for part in text.split("±"))
    assert 30 < mean <= 100 and 0 < std < 20
    assert len(at.get("vega_lite_chart")) == 2
    at.slider(key="kfold.folds").set_value(4).run()
    assert metrics(at)["validation accuracy"] != text


def test_early_stopping_marks_the_epochs_and_restores_the_best():
    at = load({"data.tab": "Early stopping", "es.epochs": "40"})
    assert not at.exception and not at.error
    m = metrics(at)
    stopped, best = int(m["stopped at epoch"]), int(m["best epoch (restored)"])
    assert best < stopped < 40
    assert "Restored, not merely stopped" in at.caption[0].value
    at.slider(key="es.patience").set_value(2).run()
    assert int(metrics(at)["stopped at epoch"]) < stopped


def test_augmentation_on_digits_runs_both_and_warns_about_small_images():
    at = load({"data.tab": "Augmentation", "aug.dataset": "digits", "aug.epochs": "5"})
    assert not at.exception and not at.error
    m = metrics(at)
    assert "test accuracy without" in m and "test accuracy with" in m
    assert any("8×8 digits" in i.value for i in at.info)
