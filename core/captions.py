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
