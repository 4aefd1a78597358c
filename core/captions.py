"""Captions that state a trend, computed from the numbers drawn beside them.

A page that says "the test loss turns up" or "more data closes the gap" must say it only when its own runs show
it. Each function here takes the runs' numbers (metrics, histories, run tables) and returns the sentence that is
true for them — the trend when it holds, what was measured instead when it does not — so the tests can feed
them the pages' default runs and check both. Text is wrapped in `_()` with named placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd

from .i18n import _

RISE = 1.1  # a loss "turns up" when it ends at least 10% above its minimum
GAP = 0.05  # train accuracy at least 5 points above test accuracy is a gap worth naming


@dataclass(frozen=True)
class Turn:
    """Where a loss curve was lowest, and where it ended."""

    best_epoch: int
    best: float
    last_epoch: int
    last: float

    @property
    def ratio(self) -> float:
        """Last over lowest value (1 when the curve ended at its minimum)."""
        return self.last / self.best if self.best > 0 else float("inf")

    @property
    def turned_up(self) -> bool:
        """Whether the curve ended at least RISE × its minimum, after the minimum."""
        return self.ratio >= RISE and self.last_epoch > self.best_epoch


def loss_turn(history: pd.DataFrame, split: str = "test", y: str = "loss") -> Turn | None:
    """The lowest and the last value of `y` on `split` (None when the split was not recorded)."""
    rows = history[history["split"] == split].dropna(subset=[y]).sort_values("epoch")
    if rows.empty:
        return None
    low = rows.loc[rows[y].idxmin()]
    return Turn(int(low["epoch"]), float(low[y]), int(rows["epoch"].iloc[-1]), float(rows[y].iloc[-1]))


def overfitting_caption(metrics: Mapping[str, Any], history: pd.DataFrame, n_train: int) -> tuple[str, str]:
    """What one classification run's curves show, as (verdict, sentence): 'overfitting' (the test loss turned up
    while the training loss fell below its best, with an accuracy gap), 'underfitting' (low training accuracy),
    'overconfident' (the test loss turned up without an accuracy gap) or 'fine'."""
    turn = loss_turn(history, "test")
    train_acc, test_acc, train_loss = metrics["train_acc"], metrics["test_acc"], metrics["train_loss"]
    values = dict(n=n_train, train_acc=train_acc, test_acc=test_acc, train_loss=train_loss)
    if turn is not None and turn.turned_up and train_acc - test_acc >= GAP and train_loss < turn.best:
        return "overfitting", _(
            "**Overfitting.** The test loss was lowest at epoch {best_epoch} ({best:.3f}) and ended {ratio:.1f}× higher "
            "({last:.3f}), while the training loss kept falling, to {train_loss:.3f}: the network fits its {n:,} training "
            "examples ({train_acc:.0%} right) better than new ones ({test_acc:.0%})."
        ).format(best_epoch=turn.best_epoch, best=turn.best, ratio=turn.ratio, last=turn.last, **values)
    if train_acc < 0.8:
        return "underfitting", _(
            "**Underfitting.** Even the training examples are only {train_acc:.0%} right (test: {test_acc:.0%}): the "
            "model is too small, or was trained too briefly or with too small a learning rate."
        ).format(**values)
    if turn is not None and turn.turned_up:
        return "overconfident", _(
            "The test loss was lowest at epoch {best_epoch} ({best:.3f}) and ended {ratio:.1f}× higher ({last:.3f}), but "
            "training ({train_acc:.0%}) and test accuracy ({test_acc:.0%}) stay close: the model grows over-confident "
            "before it misclassifies."
        ).format(best_epoch=turn.best_epoch, best=turn.best, ratio=turn.ratio, last=turn.last, **values)
    last = turn.last if turn is not None else float("nan")
    return "fine", _(
        "No sign of overfitting here: the test loss ended within 10% of its lowest value ({last:.3f}), and accuracy is "
        "{train_acc:.0%} on the {n:,} training examples against {test_acc:.0%} on the test set."
    ).format(last=last, **values)


def learning_curve_caption(runs: pd.DataFrame) -> str:
    """What a learning curve's runs (a row per training-set size: train_examples, epochs, train/val loss and acc)
    show at its two ends: whether the smallest set was fitted, and whether more data closed the gap."""
    rows = runs.sort_values("train_examples")
    small, large = rows.iloc[0], rows.iloc[-1]
    values = dict(n_small=int(small["train_examples"]), n_large=int(large["train_examples"]),
                  epochs_small=int(small["epochs"]), epochs_large=int(large["epochs"]),
                  train_acc=small["train_acc"], train_loss=small["train_loss"],
                  gap_small=small["val_loss"] - small["train_loss"], gap_large=large["val_loss"] - large["train_loss"])
    budget = _("Every size had the same budget of examples seen: {epochs_large} epochs of the {n_large:,} examples, "
               "{epochs_small} epochs of the {n_small}.").format(**values)
    if small["train_acc"] >= 0.99:
        fit = _("With {n_small} examples the network fits them all (training accuracy {train_acc:.0%}, loss "
                "{train_loss:.3f}); its validation loss is {val_loss:.3f}.").format(val_loss=small["val_loss"], **values)
    else:
        fit = _("With {n_small} examples the network does not fit them all: training accuracy {train_acc:.0%}, loss "
                "{train_loss:.3f}.").format(**values)
    if values["gap_large"] < values["gap_small"]:
        gap = _("More data closes the gap: validation minus training loss falls from {gap_small:.3f} with {n_small} "
                "examples to {gap_large:.3f} with {n_large:,}.").format(**values)
    else:
        gap = _("Here more data did not close the gap: validation minus training loss is {gap_small:.3f} with {n_small} "
                "examples and {gap_large:.3f} with {n_large:,}.").format(**values)
    return " ".join([fit, gap, budget])


def augmentation_caption(without: Mapping[str, Any], with_: Mapping[str, Any], n_train: int) -> str:
    """Whether augmentation raised test accuracy, for two runs' metrics (without and with it)."""
    values = dict(a=without["test_acc"], b=with_["test_acc"], d=with_["test_acc"] - without["test_acc"], n=n_train)
    if values["d"] > 0:
        return _("Here augmentation raised test accuracy from {a:.1%} to {b:.1%} ({d:+.1%}) with {n} training images: "
                 "the transformed copies acted as more data.").format(**values)
    if values["d"] < 0:
        return _("Here augmentation lowered test accuracy, from {a:.1%} to {b:.1%} ({d:+.1%}) with {n} training images: "
                 "these transforms change the images more than new examples would, so they cost more than they add."
                 ).format(**values)
    return _("Here augmentation left test accuracy unchanged at {a:.1%} with {n} training images.").format(**values)


def kfold_caption(runs: pd.DataFrame, by: str = "degree", metric: str = "val_loss") -> tuple[Any, str]:
    """The setting K-fold cross-validation picks (the lowest mean of `metric` over folds) and the sentence saying
    so, naming the settings within one standard deviation of it (which the folds cannot tell apart)."""
    stats = runs.groupby(by)[metric].agg(["mean", "std", "count"])
    best = stats["mean"].idxmin()
    mean, std, k = float(stats.loc[best, "mean"]), float(stats.loc[best, "std"]), int(stats.loc[best, "count"])
    close = [v for v in stats.index if v != best and stats.loc[v, "mean"] <= mean + std]
    text = _("K-fold picks {by} {best}: the lowest mean validation loss over the {k} folds, {mean:.3g} ± {std:.2g} "
             "(± one standard deviation across folds).").format(by=by, best=best, k=k, mean=mean, std=std)
    if close:
        text += " " + _("{by} {close} lie within one standard deviation of it: the folds cannot tell them apart, and "
                        "the simplest of them is a fair choice too.").format(by=by, close=", ".join(str(v) for v in close))
    else:
        text += " " + _("Every other {by} is more than one standard deviation worse.").format(by=by)
    return best, text


def early_stopping_caption(history: pd.DataFrame, label_noise: float) -> str:
    """For a run trained to the end with a validation set and `label_noise` of its training labels wrong: how the
    validation loss turned, and why the training loss starts above it."""
    turn = loss_turn(history, "val")
    train = history[history["split"] == "train"].set_index("epoch")["loss"]
    val = history[history["split"] == "val"].set_index("epoch")["loss"]
    parts = []
    if turn is not None and turn.turned_up:
        parts.append(_("Without early stopping the validation loss is lowest at epoch {best_epoch} ({best:.3f}) and ends "
                       "{ratio:.2f}× that ({last:.3f}) after {last_epoch} epochs: the network memorises.").format(
            best_epoch=turn.best_epoch, best=turn.best, ratio=turn.ratio, last=turn.last, last_epoch=turn.last_epoch))
    elif turn is not None:
        parts.append(_("Here the validation loss ends within 10% of its lowest value ({best:.3f} at epoch {best_epoch}): "
                       "training longer would not have hurt much.").format(best=turn.best, best_epoch=turn.best_epoch))
    if label_noise > 0 and len(train) and len(val):
        below = train[train < val.reindex(train.index)]
        first = _("from epoch {epoch} on").format(epoch=int(below.index[0])) if len(below) else _("never, in these epochs")
        above = bool(train.iloc[0] > val.iloc[0])
        parts.append(_("Why the training loss {where} the validation loss at first: it is measured against the training "
                       "labels, {noise:.0%} of which were replaced by a wrong class, while the validation (and test) "
                       "labels are clean — a network that predicts the true class pays for every wrong label. It drops "
                       "below once the network memorises the wrong labels: {first}.").format(
            where=_("sits above") if above else _("is close to"), noise=label_noise, first=first))
    return " ".join(parts)


def dropout_caption(without: Mapping[str, Any], with_: Mapping[str, Any], rate: float) -> str:
    """Whether dropout narrowed the train–test accuracy gap, for two runs' metrics (without and with it)."""
    values = dict(p=rate, gap_a=without["train_acc"] - without["test_acc"], gap_b=with_["train_acc"] - with_["test_acc"],
                  test_a=without["test_acc"], test_b=with_["test_acc"])
    if values["gap_b"] < values["gap_a"]:
        text = _("Dropout {p:g} narrowed the train–test accuracy gap from {gap_a:.1%} to {gap_b:.1%}").format(**values)
    else:
        text = _("Here dropout {p:g} did not narrow the train–test accuracy gap ({gap_a:.1%} without, {gap_b:.1%} with)"
                 ).format(**values)
    text += _("; test accuracy {test_a:.1%} without, {test_b:.1%} with.").format(**values)
    if values["gap_b"] < 0:
        text += " " + _("A negative gap means the test accuracy is above the training accuracy: the training labels "
                        "include wrong ones, which a network that does not memorise gets \"wrong\".")
    return text


def penalty_sweep_caption(runs: pd.DataFrame, param: str, none: Mapping[str, Any]) -> str:
    """What a sweep of a penalty's strength shows (a row per strength: `param`, train_loss, test_loss), against the
    run without a penalty: where the test loss is lowest, and which way the training loss goes as λ grows."""
    rows = runs.sort_values(param)
    best = rows.loc[rows["test_loss"].idxmin()]
    first, last = rows.iloc[0], rows.iloc[-1]
    values = dict(param=param, lo=first[param], hi=last[param], best=best[param], best_test=best["test_loss"],
                  none_test=none["test_loss"], none_train=none["train_loss"], train_lo=first["train_loss"],
                  train_hi=last["train_loss"], test_hi=last["test_loss"])
    parts = [_("Without a penalty the model memorises: train MSE {none_train:.2g}, test MSE {none_test:.3g}.").format(**values)]
    if rows["train_loss"].is_monotonic_increasing:
        parts.append(_("As {param} grows from {lo:g} to {hi:g} the train MSE rises every step, from {train_lo:.2g} to "
                       "{train_hi:.2g}: the penalty trades training fit for smaller weights.").format(**values))
    else:
        parts.append(_("As {param} grows from {lo:g} to {hi:g} the train MSE goes from {train_lo:.2g} to {train_hi:.2g}, "
                       "not steadily.").format(**values))
    parts.append(_("The test MSE is lowest at {param} = {best:g} ({best_test:.3g}, against {none_test:.3g} without a "
                   "penalty).").format(**values))
    if last["test_loss"] < none["test_loss"]:
        parts.append(_("Even the strongest, {param} = {hi:g}, keeps the test MSE ({test_hi:.3g}) below the unpenalised "
                       "model's: on this data the true weights are tiny (0.01), so shrinking too much costs little, "
                       "while memorising costs a lot.").format(**values))
    else:
        parts.append(_("At {param} = {hi:g} the test MSE ({test_hi:.3g}) is back above the unpenalised model's: too "
                       "strong a penalty underfits.").format(**values))
    return " ".join(parts)


def same_update_caption(weight_decay: Mapping[str, Any], l2: Mapping[str, Any], optimizer: str, strength: float) -> str:
    """Whether weight decay and the L2 penalty of the same λ gave the same run (they do unless the optimizer
    decouples the decay, as adamw does), for their metrics."""
    a, b = weight_decay["test_loss"], l2["test_loss"]
    same = abs(a - b) <= 1e-4 * max(abs(a), abs(b), 1e-12)
    values = dict(opt=optimizer, lam=strength, a=a, b=b)
    if same:
        return _("With {opt}, weight decay λ = {lam:g} and the L2 penalty λ = {lam:g} end at the same test MSE "
                 "({a:.4g} and {b:.4g}): adding λ·w to the gradient is exactly the gradient of λ/2·‖w‖².").format(**values)
    return _("With {opt}, weight decay λ = {lam:g} and the L2 penalty λ = {lam:g} differ (test MSE {a:.4g} against "
             "{b:.4g}): {opt} applies the decay to the weights directly, outside its adaptive scaling of the gradient "
             "(decoupled weight decay).").format(**values)


def loss_sees_it_first(history: pd.DataFrame) -> str | None:
    """For a classification run whose test loss turned up: how far the test accuracy moved over the same epochs,
    so a page can say the loss shows overfitting the accuracy hides (None when the test loss did not turn up)."""
    turn = loss_turn(history, "test")
    if turn is None or not turn.turned_up:
        return None
    acc = history[history["split"] == "test"].dropna(subset=["acc"]).set_index("epoch")["acc"]
    if turn.best_epoch not in acc.index or turn.last_epoch not in acc.index:
        return None
    values = dict(best_epoch=turn.best_epoch, ratio=turn.ratio, last_epoch=turn.last_epoch,
                  acc_best=float(acc[turn.best_epoch]), acc_last=float(acc[turn.last_epoch]))
    values["d"] = values["acc_last"] - values["acc_best"]
    if abs(values["d"]) < GAP:
        return _("from epoch {best_epoch} to epoch {last_epoch} the test loss grew {ratio:.1f}× while the test accuracy "
                 "moved only from {acc_best:.1%} to {acc_last:.1%} ({d:+.1%}): the network grew more confident, and each "
                 "confident wrong answer costs a lot of loss. The loss shows overfitting that the accuracy nearly hides, "
                 "so watch the loss.").format(**values)
    return _("from epoch {best_epoch} to epoch {last_epoch} the test loss grew {ratio:.1f}× and the test accuracy went "
             "from {acc_best:.1%} to {acc_last:.1%} ({d:+.1%})."
             ).format(**values)
