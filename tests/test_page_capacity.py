"""The capacity page (AppTest): degree panels and sweep, width against depth, universal approximation."""

from __future__ import annotations

import json

from conftest import load_page
from conftest import metric_values as metrics

PAGE = "pages/capacity.py"


def load(query: dict[str, str] | None = None):
    return load_page(PAGE, query)


def chart_titles(at) -> list[str]:
    titles = []
    for chart in at.get("vega_lite_chart"):
        title = json.loads(chart.proto.spec).get("title")
        titles.append(title["text"] if isinstance(title, dict) else title)
    return titles


def test_defaults_show_under_right_and_overfitting():
    at = load()
    assert not at.exception and not at.error
    m = metrics(at)
    low, right, high = (float(m[f"{name}: test MSE (least squares)"]) for name in ("low", "right", "high"))
    assert right < low / 10  # degree 1 underfits badly
    assert right < high / 100  # degree 20 overfits the 20 points
    verdicts = [md.value.split("**")[1] for md in at.markdown if md.value.startswith("**")]
    assert verdicts == ["Underfitting", "A good fit", "Overfitting"]
    assert chart_titles(at) == ["low: degree 1", "right: degree 3", "high: degree 20", "Train and test MSE against degree (log scale)"]
    caption = next(c.value for c in at.caption if "training error" in c.value)
    assert "training error falls" in caption and "lowest at degree 3" in caption


def test_changing_the_high_degree_changes_the_panels_and_numbers():
    at = load()
    before = metrics(at)["high: test MSE (least squares)"]
    at.slider(key="fit.high").set_value(2).run()
    assert not at.exception
    assert "high: degree 2" in chart_titles(at)
    assert metrics(at)["high: test MSE (least squares)"] != before


def test_universal_approximation_tab_improves_with_width():
    at = load({"capacity.tab": "Universal approximation", "ua.hidden": "8", "ua.function": "abs"})
    assert not at.exception and not at.error
    text = at.caption[0].value
    assert "N = 1" in text and "N = 8" in text and "N = 16" not in text
    first, last = (float(part.split(" with")[0]) for part in text.split("falls from ")[1].split(" to ")[:2])
    assert last < first / 10
    callout = " ".join(md.value for md in at.markdown if "Measured here" in md.value)
    assert "ReLU included" in callout and "8 relu units" in callout


def test_width_vs_depth_tab_matches_the_budget_and_names_the_winner():
    at = load({"capacity.tab": "Width vs depth", "wd.budget": "100", "wd.epochs": "100"})
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["depth"]) == [1, 2, 3, 4]
    assert table["parameters"].between(70, 130).all()  # every depth near the budget of 100
    assert table["width"].is_monotonic_decreasing  # deeper means narrower at the same budget
    winner = int(table.loc[table["test MSE"].idxmin(), "depth"])
    callout = next(md.value for md in at.markdown if "Measured here" in md.value)
    assert f"depth {winner} reaches" in callout  # the verdict names the depth the table shows winning
