"""The regression page in AppTest: from-scratch vs nn.Linear vs closed form, gradient clearing, polynomial degree."""

from __future__ import annotations

PAGE = "pages/regression.py"


def metric(at, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, f"no metric {label!r}; have {[m.label for m in at.metric]}"
    return values[0]


def pair(text: str) -> tuple[float, float]:
    w, b = text.split(",")
    return float(w), float(b)


def test_three_ways_agree_and_find_the_true_line(app_test):
    at = app_test(PAGE)
    assert not at.exception and not at.error
    scratch, linear, closed = (pair(metric(at, k)) for k in ("from scratch: w, b", "nn.Linear: w, b", "closed form: w, b"))
    for w, b in (scratch, linear, closed):
        assert abs(w - 2.0) < 0.2 and abs(b - 4.2) < 0.2  # y = 2x + 4.2 + noise
    assert abs(scratch[0] - closed[0]) < 0.02


def test_not_clearing_gradients_goes_wrong(app_test):
    at = app_test(PAGE)
    cleared = pair(metric(at, "from scratch: w, b"))
    # the guide's claim is checked against this page's own run even while gradients are cleared
    assert any("Measured here" in m.value and "oscillates" in m.value for m in at.markdown)
    at.toggle(key="uni.clear_grad").set_value(False).run()
    assert not at.exception
    accumulated = metric(at, "from scratch: w, b")
    assert any("not** cleared" in i.value for i in at.info)
    # accumulated gradients overshoot: the fit ends far from the true line (or diverges)
    assert accumulated == "diverged" or abs(pair(accumulated)[1] - 4.2) > 5 * abs(cleared[1] - 4.2) + 0.5


def test_a_huge_step_without_clearing_is_cut_and_said(app_test):
    at = app_test(PAGE, {"uni.lr": "1", "uni.clear_grad": "false"})
    assert not at.exception and not at.error
    w, b = metric(at, "from scratch: w, b").split(", ")
    assert "e+" in w and len(w) <= 9  # 1e14 is written short, not truncated
    assert any("cuts it at its edges" in c.value for c in at.caption)
    assert any("Measured here" in m.value and "grows from" in m.value for m in at.markdown)


def test_multivariate_recovers_the_weights(app_test):
    at = app_test(PAGE, {"regression.tab": "Several inputs"})
    assert not at.exception
    assert any("‖w − w_true‖" in c.value for c in at.caption)
    error = float(next(c.value for c in at.caption if "‖w − w_true‖" in c.value).split("=")[1].split(";")[0])
    assert error < 0.05


def test_polynomial_tab_overfits_by_default_and_the_degree_slider_moves_the_gap(app_test):
    at = app_test(PAGE, {"regression.tab": "Polynomial"})
    assert not at.exception and not at.error
    train, test = float(metric(at, "least squares: train MSE")), float(metric(at, "least squares: test MSE"))
    assert test > 100 * train  # degree 20 on 20 points: the default shows overfitting
    assert any(m.value.startswith("**Overfitting**") for m in at.markdown)
    at.slider(key="poly.degree").set_value(3).run()
    right = float(metric(at, "least squares: test MSE"))
    assert any(m.value.startswith("**A good fit**") for m in at.markdown)
    at.slider(key="poly.degree").set_value(1).run()
    assert not at.exception
    assert float(metric(at, "least squares: test MSE")) > 10 * right  # a straight line cannot follow the cubic
    assert any(m.value.startswith("**Underfitting**") for m in at.markdown)
