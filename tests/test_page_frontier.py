"""The Beyond-the-textbook and Reproductions pages (AppTest): what each tab measures, and re-running a reproduction."""

from __future__ import annotations

import json

from conftest import load_page
from conftest import metric_values as metrics

PAGE = "pages/frontier.py"


def chart_titles(at) -> list[str]:
    titles = []
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("title") or next((layer.get("title") for layer in spec.get("layer", []) if layer.get("title")), None)
        titles.append(title["text"] if isinstance(title, dict) else title)
    return titles


def percent(text: str) -> float:
    return float(text.rstrip("%")) / 100


def test_double_descent_tab_shows_the_peak_at_p_equals_n():
    at = load_page(PAGE)
    assert not at.exception and not at.error
    m = metrics(at)
    at_n, quarter, eight = (percent(m[f"test error at P = {what}"]) for what in ("n = 200", "n/4 = 50", "8n = 1600"))
    assert at_n > quarter + 0.15 and at_n > eight + 0.15
    assert "peaks at P = 200 — at the threshold (n = 200)" in at.caption[0].value
    assert len(at.get("vega_lite_chart")) == 2


def test_ridge_slider_flattens_the_peak_on_the_page():
    at = load_page(PAGE, {"dd.l2": "0.001"})
    assert not at.exception and not at.error
    caption = at.caption[0].value
    with_ridge, without = (float(part.split("%")[0]) for part in caption.split("the peak at P = n is ")[1].split(" instead of "))
    assert with_ridge < without / 3


def test_epoch_wise_view_says_what_it_measured():
    at = load_page(PAGE, {"dd.view": "epoch-wise", "dd.epochs_mlp": "50"})
    assert not at.exception and not at.error
    caption = at.caption[0].value
    assert "50 epochs" in caption
    assert "a second descent." in caption or "No second descent at these sizes" in caption


def test_bias_variance_tab_adds_up_and_draws_the_fan():
    at = load_page(PAGE, {"frontier.tab": "Bias–variance", "bv.resamples": "20"})
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["degree"]) == list(range(1, 11))
    assert ((table["bias2 + variance + noise"] - table["test_loss"]).abs() <= 0.05 * table["test_loss"]).all()
    assert table["bias2"].iloc[0] > 100 * table["bias2"].iloc[3] and table["variance"].iloc[-1] > table["variance"].iloc[3]
    assert any(t and t.startswith("20 fits at degree = 4") for t in chart_titles(at))
    assert "lowest at degree = " in at.caption[0].value


def test_memorisation_tab_fits_random_labels_and_compares_regularization():
    at = load_page(PAGE, {"frontier.tab": "Memorisation", "mem.hidden": "256", "mem.epochs": "30", "mem.weight_decay": "0.001"})
    assert not at.exception and not at.error
    m = metrics(at)
    assert "train accuracy, all labels random" in m and "all random, without regularization" in m
    assert at.caption[0].value.startswith("Epochs to 99% training accuracy with 0%, 25%, 50%, 75%, 100% random labels: ")
    assert len(at.caption[0].value.split(": ")[1].split(", ")) == 5
    assert "With weight decay 0.001 and dropout 0, fitting all-random labels took" in at.caption[1].value


def test_label_noise_tab_compares_early_stopping():
    at = load_page(PAGE, {"frontier.tab": "Label noise", "ln.epochs": "30", "ln.hidden": "64"})
    assert not at.exception and not at.error
    assert "With 40% wrong labels the gap is" in at.caption[0].value
    assert len(at.get("vega_lite_chart")) == 2


def test_reproductions_page_reruns_a_row_and_links_its_runs(isolated_store):
    at = load_page("pages/reproductions.py")
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert (table["holds"] == "not run").all() and len(table) == 8
    at.button(key="repro.run.belkin-double-descent").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    row = table[table["reproduction"] == "belkin-double-descent"].iloc[0]
    assert row["holds"] == "yes" and row["runs"] == 5
    assert any("holds: **yes**" in m.value for m in at.markdown)
    assert {b.label for b in at.download_button} >= {"table (CSV)", "table (Markdown)"}
    from core.store import Store

    sweeps = Store(isolated_store).sweeps()
    assert sweeps["settings"].map(lambda s: s.get("reproduction")).tolist() == ["belkin-double-descent"]
