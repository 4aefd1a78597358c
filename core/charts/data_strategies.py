"""Charts for data strategies: per-fold curves and scores, early stopping with its epochs marked, runs side by side."""

from __future__ import annotations

import altair as alt
import pandas as pd

from ..i18n import _
from ..metrics import label
from .curves import training_curves


def fold_curves(history: pd.DataFrame, y: str = "acc", *, fold: str = "fold", splits: tuple[str, ...] = ("train", "val"),
                title: str | None = None, height: int = 280) -> alt.Chart:
    """One line per fold (colour) and split (solid validation, dashed train) of `y` against epoch."""
    data = history[history["split"].isin(splits)].dropna(subset=[y])
    return alt.Chart(data).mark_line().encode(
        x=alt.X("epoch:Q", title="epoch"),
        y=alt.Y(f"{y}:Q", title=label(y), scale=alt.Scale(zero=False)),
        color=alt.Color(f"{fold}:N", title=fold),
        strokeDash=alt.StrokeDash("split:N", title="split", sort=["val", "train"],
                                  scale=alt.Scale(domain=["val", "train"], range=[[1, 0], [4, 3]])),
        detail="split:N",
        tooltip=[f"{fold}:N", "split:N", "epoch:Q", alt.Tooltip(f"{y}:Q", format=".4g")],
    ).properties(title=title or f"{label(y)} by epoch, one line per fold", height=height)


def fold_scores(runs: pd.DataFrame, metric: str, *, fold: str = "fold", title: str | None = None, height: int = 280) -> alt.LayerChart:
    """The metric of each fold as a point, with the mean (line) and mean ± std (band) across folds."""
    data = runs[[fold, metric]].dropna()
    mean, std = float(data[metric].mean()), float(data[metric].std(ddof=1)) if len(data) > 1 else 0.0
    stats = pd.DataFrame({"mean": [mean], "lower": [mean - std], "upper": [mean + std],
                          "what": [f"mean {mean:.4g} ± std {std:.2g}"]})
    y = alt.Y(f"{metric}:Q", title=label(metric), scale=alt.Scale(zero=False))
    band = alt.Chart(stats).mark_rect(opacity=0.15, color="black").encode(y=alt.Y("lower:Q", scale=alt.Scale(zero=False)),
                                                                           y2="upper:Q", tooltip=["what:N"])
    rule = alt.Chart(stats).mark_rule(color="black", strokeWidth=2).encode(y="mean:Q", tooltip=["what:N"])
    dots = alt.Chart(data).mark_circle(size=120, opacity=0.9).encode(
        x=alt.X(f"{fold}:O", title=fold, axis=alt.Axis(labelAngle=0)), y=y, color=alt.Color(f"{fold}:N", legend=None),
        tooltip=[f"{fold}:O", alt.Tooltip(f"{metric}:Q", format=".4g")],
    )
    return alt.layer(band, rule, dots).properties(title=title or f"{label(metric)} per fold: mean ± std", height=height)



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
