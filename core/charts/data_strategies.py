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
        x=alt.X("epoch:Q", title=_("epoch")),
        y=alt.Y(f"{y}:Q", title=label(y), scale=alt.Scale(zero=False)),
        color=alt.Color(f"{fold}:N", title=fold),
        strokeDash=alt.StrokeDash("split:N", title=_("split"), sort=["val", "train"],
                                  scale=alt.Scale(domain=["val", "train"], range=[[1, 0], [4, 3]])),
        detail="split:N",
        tooltip=[f"{fold}:N", "split:N", "epoch:Q", alt.Tooltip(f"{y}:Q", format=".4g")],
    ).properties(title=title or _("{y} by epoch, one line per fold").format(y=label(y)), height=height)


def fold_scores(runs: pd.DataFrame, metric: str, *, fold: str = "fold", title: str | None = None, height: int = 280) -> alt.LayerChart:
    """The metric of each fold as a point, with the mean (line) and mean ± std (band) across folds."""
    data = runs[[fold, metric]].dropna()
    mean, std = float(data[metric].mean()), float(data[metric].std(ddof=1)) if len(data) > 1 else 0.0
    stats = pd.DataFrame({"mean": [mean], "lower": [mean - std], "upper": [mean + std],
                          "what": [_("mean {mean} ± std {std}").format(mean=f"{mean:.4g}", std=f"{std:.2g}")]})
    y = alt.Y(f"{metric}:Q", title=label(metric), scale=alt.Scale(zero=False))
    band = alt.Chart(stats).mark_rect(opacity=0.15, color="black").encode(y=alt.Y("lower:Q", scale=alt.Scale(zero=False)),
                                                                           y2="upper:Q", tooltip=["what:N"])
    rule = alt.Chart(stats).mark_rule(color="black", strokeWidth=2).encode(y="mean:Q", tooltip=["what:N"])
    dots = alt.Chart(data).mark_circle(size=120, opacity=0.9).encode(
        x=alt.X(f"{fold}:O", title=fold, axis=alt.Axis(labelAngle=0)), y=y, color=alt.Color(f"{fold}:N", legend=None),
        tooltip=[f"{fold}:O", alt.Tooltip(f"{metric}:Q", format=".4g")],
    )
    return alt.layer(band, rule, dots).properties(title=title or _("{metric} per fold: mean ± std").format(metric=label(metric)), height=height)



def early_stopping_curves(history: pd.DataFrame, best_epoch: int | None, stop_epoch: int | None, *, y: str = "loss",
                          title: str = "Early stopping", log_y: bool = False, height: int = 280) -> alt.LayerChart:
    """Training curves with the best epoch (dashed) and the epoch training stopped at (solid red) marked."""
    chart = training_curves(history, y, log_y=log_y, mark_epoch=best_epoch, title=title, height=height)
    if stop_epoch is not None:
        stop = alt.Chart(pd.DataFrame({"epoch": [stop_epoch], "what": [_("stopped")]})).mark_rule(color="#d62728", strokeWidth=2).encode(
            x="epoch:Q", tooltip=["what:N", "epoch:Q"]
        )
        chart = alt.layer(chart, stop).properties(title=title)
    return chart
