"""The classification page (AppTest) and the checkpoint path its upload uses."""

from __future__ import annotations

import pytest

from core.checkpoint import CheckpointError, evaluate_saved, to_bytes
from core.studies import get_study, run_study

PAGE = "pages/classification.py"


def metric(at, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return values[0]


def percent(text: str) -> float:
    return float(text.rstrip("%"))


@pytest.fixture(scope="module")
def saved_softmax():
    """A small trained digits model as the bytes the page's download button serves, and its test scores."""
    study = get_study("classification")
    result = run_study(study, {"model": "softmax", "epochs": 2})[0]
    blob = to_bytes(result.model, study.id, result.config, {"dataset": "digits"})
    return blob, result


def chart_frames(at, index: int):
    """The rows behind a page's chart, by data set name."""
    from streamlit import dataframe_util

    proto = at.get("vega_lite_chart")[index].proto
    return {d.name: dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data) for d in proto.datasets}


def test_defaults_overfit_a_2d_set_visibly_and_name_the_cure(app_test):
    at = app_test(PAGE)
    assert not at.exception and not at.error
    assert percent(metric(at, "train accuracy")) == 100
    assert percent(metric(at, "test accuracy")) < 92
    charts = at.get("vega_lite_chart")
    assert len(charts) == 3  # loss, accuracy, decision boundary
    field, points = chart_frames(at, 2).values()
    assert len(field) == 50 * 50 and {"p_class1", "x1_lo", "x2_hi"} <= set(field.columns)
    assert points["split"].value_counts().to_dict() == {"test": 400, "train": 60}
    loss = chart_frames(at, 0)["frame_0"]
    assert loss["epoch"].max() == 300
    lesson = [m.value for m in at.markdown if m.value.startswith("**Overfitting.**")]
    assert lesson and "× higher" in lesson[0]
    assert any("weight decay to 0.01" in i.value for i in at.info)
    assert not at.image  # no sample images for a 2-D set
    guide = [m.value for m in at.markdown if "过拟合" in m.value]
    measured = [m.value for m in at.markdown if "Measured here" in m.value and "The test loss tells more" in m.value]
    assert guide and measured and f"training accuracy is {percent(metric(at, 'train accuracy')):.1f}%" in measured[0]


def test_the_suggested_weight_decay_ends_the_overfitting(app_test):
    at = app_test(PAGE)
    before = float(metric(at, "test loss"))
    at.select_slider(key="clf.weight_decay").set_value(0.01).run()
    assert not at.exception and not at.error
    assert float(metric(at, "test loss")) < before / 2
    assert not [m for m in at.markdown if m.value.startswith("**Overfitting.**")]
    assert not at.info


def test_every_regularization_control_and_2d_set_is_offered(app_test):
    at = app_test(PAGE, {"clf.dataset": "circles", "clf.toy.epochs": "20", "clf.dropout": "0.2", "clf.l2": "0.001",
                         "clf.l1": "0.0001", "clf.label_noise": "0.1", "clf.toy.n_train": "100"})
    assert not at.exception and not at.error
    assert at.selectbox(key="clf.dataset").options == ["moons", "circles", "xor", "spiral", "gaussians", "digits", "mnist"]
    for key in ("clf.dropout", "clf.weight_decay", "clf.l1", "clf.l2", "clf.label_noise", "clf.toy.noise",
                "clf.toy.n_train", "clf.toy.n_test"):
        assert any(w.key == key for w in list(at.slider) + list(at.select_slider)), key
    field, points = chart_frames(at, 2).values()
    assert points["split"].value_counts().to_dict() == {"test": 400, "train": 100}
    assert chart_frames(at, 0)["frame_0"]["epoch"].max() == 20


def test_digits_show_images_confusion_matrix_and_mistakes(app_test):
    at = app_test(PAGE, {"clf.dataset": "digits"})
    assert not at.exception
    assert not at.error
    assert percent(metric(at, "test accuracy")) > 90
    images = at.image
    assert len(images) == 2
    assert len(images[0].captions) == 20 and images[0].captions[0] == "label 0"  # two examples of each digit
    assert all("→" in c for c in images[1].captions)  # misclassified: true → predicted
    assert len(at.get("vega_lite_chart")) == 3  # loss, accuracy, confusion matrix
    assert [b.label for b in at.get("download_button")] == ["Download the trained model (.safetensors)"]
    assert at.slider(key="clf.epochs").value == 20  # images keep their own, shorter defaults


def test_switching_to_softmax_changes_accuracy(app_test):
    at = app_test(PAGE, {"clf.dataset": "digits"})
    mlp_acc = metric(at, "test accuracy")
    mlp_params = metric(at, "parameters")
    at.selectbox(key="clf.model").set_value("softmax").run()
    assert not at.exception
    assert metric(at, "test accuracy") != mlp_acc
    assert metric(at, "parameters") == "650" != mlp_params  # 64 pixels × 10 classes + 10 biases
    assert at.slider(key="clf.depth").disabled


def test_checkpoint_round_trip_through_the_upload(app_test, saved_softmax):
    blob, result = saved_softmax
    at = app_test(PAGE, {"clf.toy.epochs": "5"})
    at.file_uploader(key="clf.upload").set_value(("model.safetensors", blob, "application/octet-stream")).run()
    assert not at.exception and not at.error
    assert metric(at, "uploaded model: test accuracy") == f"{result.metrics['test_acc']:.2%}"
    assert metric(at, "uploaded model: test loss") == f"{result.metrics['test_loss']:.4f}"

    at.file_uploader(key="clf.upload").set_value(("junk.safetensors", b"definitely not a model", "application/octet-stream")).run()
    assert not at.exception
    assert any("not an Overfit Lab model file" in e.value for e in at.error)
    assert not [m for m in at.metric if m.label.startswith("uploaded model")]


def test_evaluate_saved_is_the_trained_model(saved_softmax):
    blob, result = saved_softmax
    scores, study_id, config = evaluate_saved(blob)
    assert study_id == "classification" and config["model"] == "softmax"
    assert scores["acc"] == pytest.approx(result.metrics["test_acc"])
    assert scores["loss"] == pytest.approx(result.metrics["test_loss"], rel=1e-6)
    for junk in (b"", b"hello", blob[:200]):
        with pytest.raises(CheckpointError):
            evaluate_saved(junk)


def test_missing_mnist_shows_the_data_message(app_test, tmp_path, monkeypatch):
    monkeypatch.setenv("OVERFIT_LAB_DATA", str(tmp_path))
    at = app_test(PAGE, {"clf.toy.epochs": "5"})
    at.selectbox(key="clf.dataset").set_value("mnist").run()
    assert not at.exception
    assert any("MNIST is not in" in e.value and "dataset=digits" in e.value for e in at.error)
    assert not at.metric  # nothing trained


def test_mnist_trains_when_present(app_test, mnist_dir, monkeypatch):
    monkeypatch.setenv("OVERFIT_LAB_DATA", str(mnist_dir))
    at = app_test(PAGE, {"clf.dataset": "mnist", "clf.model": "softmax", "clf.epochs": "1"})
    assert not at.exception and not at.error
    assert percent(metric(at, "test accuracy")) > 80
    assert "8,000 training and 2,000 test images of 28×28" in at.caption[0].value
