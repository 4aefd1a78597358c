"""Charts for data strategies: early stopping with its epochs marked and labelled, every fold's loss against a setting."""

from __future__ import annotations

import altair as alt
import pandas as pd

from ..i18n import _
from ..metrics import label
from .curves import training_curves


def early_stopping_curves(history: pd.DataFrame, best_epoch: int | None, stop_epoch: int | None, *, y: str = "loss",
                          title: str | None = None, best_label: str | None = None, log_y: bool = False,
                          height: int = 280) -> alt.LayerChart:
    """Training curves with the best epoch (dashed, labelled) and the epoch training stopped at (solid red, labelled)."""
    chart = training_curves(history, y, log_y=log_y, title=title or _("Early stopping"), height=height)
    layers = [chart]
    marks = []
    if best_epoch is not None:
        marks.append((best_epoch, (best_label or _("best epoch {epoch}")).format(epoch=best_epoch), "black", [4, 4], 0))
    if stop_epoch is not None:
        marks.append((stop_epoch, _("stopped at {epoch}").format(epoch=stop_epoch), "#d62728", [1, 0], 14))
    for epoch, text, color, dash, dy in marks:
        mark = pd.DataFrame({"epoch": [epoch], "what": [text]})
        layers.append(alt.Chart(mark).mark_rule(color=color, strokeDash=dash, strokeWidth=1.5).encode(
            x="epoch:Q", tooltip=[alt.Tooltip("what:N"), alt.Tooltip("epoch:Q")]))
        # the label at the top of the plot, beside its line (right of it, or left when the line is far right)
        far_right = epoch > 0.7 * float(history["epoch"].max())
        layers.append(alt.Chart(mark).mark_text(align="right" if far_right else "left", dx=-4 if far_right else 4, dy=dy,
                                                baseline="top", color=color, fontSize=11).encode(
            x="epoch:Q", y=alt.value(2), text="what:N"))
    return alt.layer(*layers).properties(title=title or _("Early stopping"), height=height)


def fold_lines(runs: pd.DataFrame, x: str, metric: str, *, fold: str = "fold", log_y: bool = True,
               title: str | None = None, height: int = 280) -> alt.Chart:
    """`metric` of every fold against `x` (e.g. the validation loss of each fold at each degree): one line per fold,
    so the spread across folds is seen at every x."""
    data = runs[[x, fold, metric]].dropna()
    return alt.Chart(data).mark_line(point=True, opacity=0.8).encode(
        x=alt.X(f"{x}:Q", title=label(x), axis=alt.Axis(tickMinStep=1)),
        y=alt.Y(f"{metric}:Q", title=label(metric), scale=alt.Scale(type="log") if log_y else alt.Scale(zero=False)),
        color=alt.Color(f"{fold}:N", title=_("fold")),
        tooltip=[alt.Tooltip(f"{fold}:N"), alt.Tooltip(f"{x}:Q"), alt.Tooltip(f"{metric}:Q", format=".4g")],
    ).properties(title=title or _("{metric} of each fold against {x}").format(metric=label(metric), x=label(x)), height=height)
