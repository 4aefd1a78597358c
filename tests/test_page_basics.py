"""The neural-network basics page, run headless with Streamlit's AppTest."""

from __future__ import annotations

from core.lessons import num

PAGE = "pages/basics.py"


def metric(at, label: str, nth: int = 0) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert len(values) > nth, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return values[nth]


def gradient_table(at):
    tables = [d.value for d in at.dataframe if "first-layer gradient norm" in d.value.columns]
    assert len(tables) == 1
    return tables[0].set_index("activation")


TABS = {"grad": {"basics.tab": "Vanishing gradients"}, "pass": {"basics.tab": "Forward and backward"},
        "nonlin": {"basics.tab": "Why nonlinearity"}}


def test_defaults_show_every_section(app_test):
    at = app_test(PAGE)  # the first tab: activations and softmax
    assert not at.exception and not at.error
    assert len(at.get("vega_lite_chart")) == 4
    assert not [m for m in at.metric if m.label == "test accuracy"]  # other tabs do not compute until opened
    # the hand-written chain rule agrees with autograd
    at = app_test(PAGE, TABS["pass"])
    assert not at.exception and float(metric(at, "max |by hand − autograd|")) < 1e-12
    # vanishing gradient at the default depth: sigmoid collapses, relu does not
    grads = gradient_table(app_test(PAGE, TABS["grad"]))
    assert grads.loc["sigmoid", "ratio to depth 1"] < 1e-3 < 0.1 < grads.loc["relu", "ratio to depth 1"]
    # xor: the linear model is near chance, the one-hidden-layer MLP is not
    at = app_test(PAGE, TABS["nonlin"])
    linear_acc = float(metric(at, "test accuracy", 0).rstrip("%"))
    mlp_acc = float(metric(at, "test accuracy", 1).rstrip("%"))
    assert linear_acc < 65 and mlp_acc > 80
    assert len(at.get("vega_lite_chart")) == 2


def test_depth_slider_changes_gradient_table(app_test):
    at = app_test(PAGE, TABS["grad"])
    before = gradient_table(at)
    at.slider(key="grad.depth").set_value(3).run()
    assert not at.exception
    after = gradient_table(at)
    assert set(before["depth"]) == {10} and set(after["depth"]) == {3}
    # a shallower network passes far more gradient back to its first sigmoid layer
    assert after.loc["sigmoid", "first-layer gradient norm"] > 100 * before.loc["sigmoid", "first-layer gradient norm"]
    # and the caption reports the ratios of the table now drawn, not the default's
    caption = next(c.value for c in at.caption if c.value.startswith("Measured at depth"))
    assert caption.startswith("Measured at depth 3")
    assert f"sigmoid {num(after.loc['sigmoid', 'ratio to depth 1'])}" in caption


def test_temperature_and_bad_logits(app_test):
    at = app_test(PAGE)
    assert float(metric(at, "largest probability")) < 0.9
    at.select_slider(key="softmax.temperature").set_value(0.1).run()
    assert float(metric(at, "largest probability")) > 0.99
    at.text_input(key="softmax.logits").input("1, two, 3").run()
    assert not at.exception
    assert any("logits" in e.value for e in at.error)


def test_circles_need_the_hidden_layer(app_test):
    at = app_test(PAGE, TABS["nonlin"])
    at.selectbox(key="nonlin.dataset").set_value("circles").run()
    assert not at.exception
    linear_acc = float(metric(at, "test accuracy", 0).rstrip("%"))
    mlp_acc = float(metric(at, "test accuracy", 1).rstrip("%"))
    assert linear_acc < 65 and mlp_acc > 85
