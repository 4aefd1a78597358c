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


def test_the_loss_shows_the_overfitting_the_accuracy_hides(classification_runs):
    from core.captions import loss_sees_it_first

    run = classification_runs["default"]
    turn = loss_turn(run.history)
    acc = run.history[run.history["split"] == "test"].set_index("epoch")["acc"]
    assert turn.ratio >= 3 and abs(acc[turn.last_epoch] - acc[turn.best_epoch]) < 0.05  # accuracy moves little
    assert "the loss shows overfitting that the accuracy nearly hides" in loss_sees_it_first(run.history).lower()
    flat = [0.8, 0.8, 0.8, 0.8]
    assert "moved only from 80.0% to 80.0%" in loss_sees_it_first(history([0.5, 0.3, 0.4, 0.6], test_acc=flat))
    moved = loss_sees_it_first(history([0.5, 0.3, 0.4, 0.6], test_acc=[0.7, 0.9, 0.85, 0.8]))
    assert "from 90.0% to 80.0% (-10.0%)" in moved and "hides" not in moved
    assert loss_sees_it_first(history([0.5, 0.4, 0.35, 0.37], test_acc=flat)) is None  # no turn, nothing to say


# --- Data strategies --------------------------------------------------------------------------------

def test_learning_curve_fits_small_sets_and_the_gap_shrinks_with_size():
    from core.captions import learning_curve_caption
    from core.sweeps import sweep_frame

    study = get_study("learning-curve")
    frame = sweep_frame(train(study, expand(study, [lessons.LEARNING_CURVE])))
    small, large = frame.iloc[0], frame.iloc[-1]
    assert small["train_examples"] < large["train_examples"] / 10
    assert small["epochs"] >= 10 * large["epochs"]  # the same examples seen: the small set gets many more epochs
    assert small["train_acc"] == 1.0 and small["train_loss"] < 0.05  # "fits them all" holds
    gaps = (frame["val_loss"] - frame["train_loss"]).to_numpy()
    assert gaps[0] > 5 * gaps[-1] and gaps[-1] < min(gaps[:3])
    text = learning_curve_caption(frame)
    assert "fits them all" in text and "More data closes the gap" in text


def test_learning_curve_caption_says_when_the_trend_fails():
    from core.captions import learning_curve_caption

    runs = pd.DataFrame({"train_examples": [50, 1000], "epochs": [400, 20], "train_loss": [0.9, 0.1],
                         "val_loss": [1.0, 0.5], "train_acc": [0.7, 0.97], "val_acc": [0.6, 0.9]})
    text = learning_curve_caption(runs)
    assert "does not fit them all" in text and "did not close the gap" in text


def test_augmentation_raises_test_accuracy_at_the_study_default():
    from core.captions import augmentation_caption

    study = get_study("augmentation")
    without, with_ = train(study, expand(study, [{"augment": False}, {}]))
    assert study.config().augment and study.config().dataset == "digits"
    assert with_.metrics["test_acc"] >= without.metrics["test_acc"] + 0.02
    assert augmentation_caption(without.metrics, with_.metrics, 27).startswith("Here augmentation raised")
    assert "lowered" in augmentation_caption(with_.metrics, without.metrics, 27)


def test_kfold_picks_degree_3_at_the_page_default():
    from core.captions import kfold_caption
    from core.sweeps import sweep_frame

    study = get_study("polynomial")
    configs = [{**lessons.SELECTION, "degree": d} for d in lessons.SELECTION_DEGREES]
    frame = sweep_frame(train(study, expand(study, configs, folds=lessons.KFOLD_FOLDS)))
    assert len(frame) == len(lessons.SELECTION_DEGREES) * lessons.KFOLD_FOLDS
    means = frame.groupby("degree")["val_loss"].mean()
    assert means.idxmin() == 3 and means.drop(3).min() > 2 * means[3]  # with a margin
    assert means[1] > 20 * means[3]  # too simple is far worse
    chosen, text = kfold_caption(frame)
    assert chosen == 3 and text.startswith("K-fold picks degree 3")


def test_kfold_caption_names_the_settings_the_folds_cannot_separate():
    from core.captions import kfold_caption

    runs = pd.DataFrame({"degree": [1, 1, 3, 3, 5, 5], "fold": [0, 1] * 3, "val_loss": [5.0, 7.0, 1.0, 2.0, 1.4, 1.8]})
    chosen, text = kfold_caption(runs)
    assert chosen == 3 and "5 lie within one standard deviation" in text and "1 lie" not in text


def test_early_stopping_default_validation_loss_turns_up_and_the_best_epoch_is_restored():
    from core.captions import early_stopping_caption
    from core.selection import value_at

    study = get_study("early-stopping")
    values = lessons.EARLY_STOPPING
    stopped, full = train(study, expand(study, [values, {**values, "patience": 0}]))
    turn = loss_turn(full.history, "val")
    assert turn.last >= 1.1 * turn.best and turn.last_epoch > turn.best_epoch  # ≥ 10% above its minimum after it
    after = full.history[(full.history["split"] == "val") & (full.history["epoch"] > turn.best_epoch)]["loss"]
    assert after.max() >= 1.2 * turn.best
    best, ran = stopped.metrics["best_epoch"], stopped.metrics["epochs_run"]
    assert stopped.metrics["stopped_early"] and best < ran < values["epochs"]
    assert stopped.metrics["val_loss"] == pytest.approx(value_at(stopped.history, best), rel=1e-5)
    assert value_at(stopped.history, ran) > stopped.metrics["val_loss"]  # not the last epoch's weights
    assert stopped.metrics["test_acc"] > full.metrics["test_acc"]
    text = early_stopping_caption(full.history, values["label_noise"])
    assert f"lowest at epoch {turn.best_epoch}" in text and "sits above" in text and "from epoch" in text
    # the training loss really starts above the validation loss (noisy training labels, clean validation labels)
    h = full.history
    assert value_at(h, 1, "train") > value_at(h, 1, "val")


def test_early_stopping_caption_without_a_turn_or_label_noise():
    from core.captions import early_stopping_caption

    h = history([0.5, 0.4, 0.35, 0.36]).replace({"split": {"test": "val"}})
    text = early_stopping_caption(h, 0.0)
    assert "within 10%" in text and "wrong class" not in text


# --- Regularization ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dropout_runs():
    """The Dropout tab's default pair (no dropout, dropout 0.5, 20% wrong labels), and the same without label noise."""
    study = get_study("dropout")
    values = dict(lessons.DROPOUT)
    clean = {**values, "label_noise": 0.0}
    runs = train(study, expand(study, [{**values, "dropout": 0.0}, values, {**clean, "dropout": 0.0}, clean]))
    return dict(zip(["plain", "dropout", "plain_clean", "dropout_clean"], runs))


def test_dropout_narrows_the_gap_at_the_page_default(dropout_runs):
    from core.captions import dropout_caption

    plain, dropped = dropout_runs["plain"], dropout_runs["dropout"]
    assert gap(dropped) <= gap(plain) - 0.05
    assert dropped.metrics["test_acc"] > plain.metrics["test_acc"]
    assert dropout_caption(plain.metrics, dropped.metrics, 0.5).startswith("Dropout 0.5 narrowed")
    assert dropout_caption(dropped.metrics, plain.metrics, 0.5).startswith("Here dropout 0.5 did not narrow")
    # a negative gap (test above train: the training labels are partly wrong) is said to be one
    assert ("negative gap" in dropout_caption(plain.metrics, dropped.metrics, 0.5)) == (gap(dropped) < 0)
    assert "negative gap" not in dropout_caption(plain.metrics, {"train_acc": 0.9, "test_acc": 0.85}, 0.5)


def test_label_noise_widens_the_dropout_tabs_gap(dropout_runs):
    assert gap(dropout_runs["plain"]) >= gap(dropout_runs["plain_clean"]) + 0.05


def test_dropout_zeroes_activations_not_weights_and_eval_stops_no_update(dropout_runs):
    from core.pipeline import config_data
    from core.regularization import dropout_facts

    run = dropout_runs["dropout"]
    data = config_data(get_study("dropout"), run.config)
    facts = dropout_facts(run.model, data.train.X, data.train.y)
    assert abs(facts.zeroed_units - 0.5) < 0.03 and facts.zeroed_weights == 0
    assert facts.eval_changed == 0 and facts.step_changed > facts.n_weights / 2
    assert facts.eval_mode_loss == pytest.approx(run.metrics["train_loss"], rel=1e-4)  # the page's eval-mode loss
    assert facts.train_mode_loss > facts.eval_mode_loss  # dropout on costs training fit


def test_penalty_sweep_and_weight_decay_captions_follow_the_numbers():
    from core.captions import penalty_sweep_caption, same_update_caption

    runs = pd.DataFrame({"l2": [0.03, 0.3, 3.0, 30.0], "train_loss": [1e-6, 1e-5, 1e-4, 6e-3],
                         "test_loss": [0.1, 0.08, 0.016, 0.016]})
    none = {"train_loss": 1e-11, "test_loss": 0.35}
    text = penalty_sweep_caption(runs, "l2", none)
    assert "rises every step" in text and "lowest at l2 = 3 (0.016" in text and "keeps the test MSE" in text
    worse = runs.assign(train_loss=[1e-6, 1e-7, 1e-4, 6e-3], test_loss=[0.1, 0.08, 0.016, 0.5])
    text = penalty_sweep_caption(worse, "l2", none)
    assert "not steadily" in text and "back above the unpenalised model's" in text
    assert "the same test MSE" in same_update_caption({"test_loss": 0.0157}, {"test_loss": 0.0157}, "sgd", 3)
    assert "differ" in same_update_caption({"test_loss": 0.02}, {"test_loss": 0.0157}, "adamw", 3)


def test_the_penalty_tab_default_shows_its_trend():
    from core.captions import penalty_sweep_caption
    from core.regularization import penalty_values, strength_grid
    from core.sweeps import sweep_frame

    study = get_study("weight-decay")
    base = {"optimizer": "sgd", "batch_size": 20, "lr": 0.01}  # the page's settings
    runs = train(study, expand(study, [base] + [{**base, **penalty_values("weight decay", lam)} for lam in strength_grid(3.0)]))
    none, swept = runs[0].metrics, sweep_frame(runs[1:])
    text = penalty_sweep_caption(swept, "weight_decay", none)
    assert "rises every step" in text and "keeps the test MSE" in text
    assert swept["test_loss"].min() < none["test_loss"] / 5
