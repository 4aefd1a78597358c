"""The regularization page (AppTest): penalties on the high-dimensional regression, dropout, inverted dropout."""

from __future__ import annotations

import pytest
from conftest import load_page
from conftest import metric_values as metrics

PAGE = "pages/regularization.py"


def load(query: dict[str, str] | None = None):
    return load_page(PAGE, query)


def pct(text: str) -> float:
    return float(text.split("%")[0])


def penalty_table(at):
    return at.dataframe[0].value.set_index("method")


def test_defaults_compare_penalties_with_exact_zeros_only_for_proximal_l1():
    at = load()
    assert not at.exception and not at.error
    table = penalty_table(at)
    assert list(table.index) == ["no penalty", "weight decay λ=3", "L2 penalty λ=3", "L1 penalty (proximal) λ=0.1",
                                 "L1 penalty (subgradient) λ=0.1"]
    none = table.loc["no penalty"]
    assert none["train_loss"] < 1e-6  # 200 weights memorise 20 examples
    for method in table.index[1:]:
        assert table.loc[method, "test_loss"] < none["test_loss"] / 5
    # with sgd, weight decay and the L2 penalty are the same update
    assert table.loc["weight decay λ=3", "test_loss"] == pytest.approx(table.loc["L2 penalty λ=3", "test_loss"], rel=1e-5)
    assert table.loc["L1 penalty (proximal) λ=0.1", "zero_weights"] > 100
    assert table.loc["L2 penalty λ=3", "zero_weights"] == 0
    assert table.loc["L1 penalty (subgradient) λ=0.1", "zero_weights"] < 10
    assert len(at.get("vega_lite_chart")) == 6  # bars ×2, histogram, curves, sweep ×2
    bars = at.get("vega_lite_chart")[0].proto.spec
    assert '"labelLimit": 0' in bars and '"text"' in bars  # full method names, every bar labelled with its value
    sweep = at.get("vega_lite_chart")[4].proto.spec
    assert "no penalty" in sweep and "strokeDash" in sweep  # the dashed baseline is named in a legend
    captions = [m.value for m in at.markdown]
    assert any(c.startswith("Without a penalty the model memorises") and "rises every step" in c for c in captions)
    assert any("end at the same test MSE" in c for c in captions)  # sgd: weight decay = L2, measured


def test_a_stronger_l1_zeroes_more_weights():
    at = load()
    zeros = penalty_table(at).loc["L1 penalty (proximal) λ=0.1", "zero_weights"]
    at.select_slider(key="pen.l1").set_value(0.01).run()
    assert not at.exception
    table = penalty_table(at)
    assert "L1 penalty (proximal) λ=0.01" in table.index
    assert table.loc["L1 penalty (proximal) λ=0.01", "zero_weights"] < zeros


def test_adamw_separates_weight_decay_from_l2():
    at = load({"pen.optimizer": "adamw", "pen.method": "L1 penalty (proximal)"})
    assert not at.exception and not at.error
    table = penalty_table(at)
    assert table.loc["weight decay λ=3", "test_loss"] != table.loc["L2 penalty λ=3", "test_loss"]
    assert any("With adamw, weight decay λ = 3 and the L2 penalty λ = 3 differ" in m.value for m in at.markdown)


def test_dropout_tab_narrows_the_gap():
    at = load({"reg.tab": "Dropout", "drop.epochs": "20"})
    assert not at.exception and not at.error
    m = metrics(at)
    gap_without, gap_with = pct(m["train − test gap, no dropout"]), pct(m["train − test gap, dropout 0.5"])
    assert gap_with < gap_without
    assert any(m.value.startswith("Dropout 0.5 narrowed the train–test accuracy gap") for m in at.markdown)
    text = " ".join(m.value for m in at.markdown)
    assert "20% of its training labels replaced" in text
    assert "of the non-zero hidden activations were set to zero (p = 0.5) and 0 of its" in text  # units, not weights
    assert "it changed 0 weights" in text and "then changed" in text  # eval() stops nothing; a step still updates
    at.slider(key="drop.dropout").set_value(0.2).run()
    assert not at.exception
    assert "train − test gap, dropout 0.2" in metrics(at)
    at.slider(key="drop.label_noise").set_value(0.0).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "with clean labels" in text and "replaced by wrong ones" not in text


def test_inverted_and_classic_dropout_agree_in_expectation():
    at = load({"reg.tab": "Inverted dropout"})
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert set(table["scheme"]) == {"inverted (PyTorch)", "classic"}
    assert (table["mean − test"].abs() < 5 * table["standard error"]).all()
    worst = float(metrics(at)["largest |mean over masks − test-time output|"])
    at.select_slider(key="math.n_masks").set_value(100_000).run()
    assert not at.exception
    assert float(metrics(at)["largest |mean over masks − test-time output|"]) < worst


def test_the_methods_trained_together_give_the_numbers_of_one_by_one_runs():
    """The page trains its five methods and the strength sweep in one stacked call; each equals its run alone."""
    from core.regularization import penalty_values
    from core.studies import get_study, run_study

    at = load({"pen.method": "L1 penalty (subgradient)"})
    assert not at.exception and not at.error
    table = penalty_table(at)
    base = {"optimizer": "sgd", "batch_size": 20, "lr": 0.01}  # the page's settings
    methods = {"no penalty": {}, "weight decay λ=3": penalty_values("weight decay", 3.0),
               "L2 penalty λ=3": penalty_values("L2 penalty", 3.0),
               "L1 penalty (proximal) λ=0.1": penalty_values("L1 penalty (proximal)", 0.1),
               "L1 penalty (subgradient) λ=0.1": penalty_values("L1 penalty (subgradient)", 0.1)}
    for label, values in methods.items():
        alone = run_study(get_study("weight-decay"), {**base, **values}, engine="module")[0].metrics
        for key in ("train_loss", "test_loss", "weight_norm"):
            assert table.loc[label, key] == pytest.approx(alone[key], rel=1e-4, abs=1e-7), (label, key)
        assert table.loc[label, "zero_weights"] == alone["zero_weights"]
