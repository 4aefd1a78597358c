"""Teaching tests (core, no UI): the Classification, Data strategies and Regularization pages' defaults show their
phenomenon, with a margin, and every caption that states a trend says what the numbers show."""

from __future__ import annotations

import pandas as pd
import pytest

from core import lessons
from core.captions import loss_turn, overfitting_caption
from core.pipeline import expand, train
from core.studies import get_study


def history(test_loss, train_loss=None, test_acc=None, train_acc=None) -> pd.DataFrame:
    """A tidy history from per-epoch lists (train defaults to a falling loss)."""
    n = len(test_loss)
    train_loss = train_loss or [1.0 / (e + 1) for e in range(n)]
    rows = []
    for e in range(n):
        rows.append({"epoch": e + 1, "split": "train", "loss": train_loss[e], "acc": (train_acc or [0.9] * n)[e]})
        rows.append({"epoch": e + 1, "split": "test", "loss": test_loss[e], "acc": (test_acc or [0.8] * n)[e]})
    return pd.DataFrame(rows)


# --- Classification ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def classification_runs():
    """The page's 2-D default, with the cure the page suggests, and with label noise: trained together."""
    study = get_study("classification")
    base = dict(lessons.CLASSIFICATION_POINTS)
    configs = [base, {**base, "weight_decay": lessons.CURE_WEIGHT_DECAY}, {**base, "label_noise": 0.2}]
    return dict(zip(["default", "cured", "noisy"], train(study, expand(study, configs))))


def gap(run) -> float:
    return run.metrics["train_acc"] - run.metrics["test_acc"]


def test_the_classification_default_overfits_visibly(classification_runs):
    run = classification_runs["default"]
    turn = loss_turn(run.history)
    assert turn.ratio >= 2.0 and turn.best_epoch < turn.last_epoch / 3  # the test loss turns up early, and far
    assert run.metrics["train_acc"] == 1.0 and gap(run) >= 0.08
    verdict, text = overfitting_caption(run.metrics, run.history, int(run.metrics["train_examples"]))
    assert verdict == "overfitting"
    assert f"epoch {turn.best_epoch} ({turn.best:.3f})" in text and f"{turn.ratio:.1f}× higher" in text


def test_the_suggested_weight_decay_cures_it(classification_runs):
    default, cured = classification_runs["default"], classification_runs["cured"]
    assert cured.metrics["test_loss"] <= 0.5 * default.metrics["test_loss"]
    assert loss_turn(cured.history).ratio < 1.5  # the test loss no longer climbs far from its minimum
    assert gap(cured) < gap(default) and cured.metrics["test_acc"] >= default.metrics["test_acc"]


def test_label_noise_widens_the_gap(classification_runs):
    assert gap(classification_runs["noisy"]) >= gap(classification_runs["default"]) + 0.05


def test_overfitting_caption_names_what_the_numbers_show():
    rising = history([0.5, 0.3, 0.4, 0.6], train_loss=[0.6, 0.2, 0.05, 0.01])
    verdict, text = overfitting_caption({"train_acc": 1.0, "test_acc": 0.8, "train_loss": 0.01}, rising, 50)
    assert verdict == "overfitting" and "epoch 2 (0.300)" in text and "2.0× higher (0.600)" in text
    # the same curves without an accuracy gap: over-confidence, not overfitting
    verdict, _ = overfitting_caption({"train_acc": 0.9, "test_acc": 0.88, "train_loss": 0.01}, rising, 50)
    assert verdict == "overconfident"
    # a test loss that ends at its minimum (or within 10% of it) is not called overfitting
    falling = history([0.5, 0.4, 0.35, 0.37])
    verdict, text = overfitting_caption({"train_acc": 0.95, "test_acc": 0.85, "train_loss": 0.2}, falling, 50)
    assert verdict == "fine" and "within 10%" in text
    verdict, _ = overfitting_caption({"train_acc": 0.6, "test_acc": 0.55, "train_loss": 1.0}, falling, 50)
    assert verdict == "underfitting"
