"""Comparing runs: labels, smoothing, grouping over folds and seeds — DataFrame in, DataFrame out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pandas as pd

from .i18n import _
from .metrics import METRICS, label, value_text

# columns of the runs table that describe a run but are not study parameters
RUN_FIELDS = ("id", "study", "status", "seed", "fold", "sweep_id", "created_at", "source", "folds")


def config_columns(runs: pd.DataFrame) -> list[str]:
    """Study parameters present in a runs table (not run fields, not metrics)."""
    return [c for c in runs.columns if c not in RUN_FIELDS and c not in METRICS]


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """Metrics present in a runs table with at least one value, in the registry's order."""
    return [m for m in METRICS if m in runs.columns and runs[m].notna().any()]


def numeric_column(values: pd.Series) -> bool:
    """Whether every value present is a number (booleans and text are categories): a parameter to draw a curve over."""
    values = values.dropna()
    return len(values) > 0 and bool(values.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)).all())


def varying_columns(runs: pd.DataFrame) -> list[str]:
    """Parameters whose value differs between the given runs: what tells them apart."""
    out = []
    for c in config_columns(runs):
        values = runs[c].dropna().astype(str)
        if values.nunique() > 1 or (0 < len(values) < len(runs)):
            out.append(c)
    return out


def run_labels(runs: pd.DataFrame, columns: Sequence[str] | None = None, max_columns: int = 3) -> pd.Series:
    """A short label per run, 'id · name=value …' from the parameters that differ (indexed by id)."""
    columns = list(columns) if columns is not None else varying_columns(runs)[:max_columns]
    def one(row) -> str:
        parts = [f"#{row['id']}", row["study"]] if runs["study"].nunique() > 1 else [f"#{row['id']}"]
        parts += [f"{c}={_fmt(row[c])}" for c in columns if c in row and pd.notna(row[c])]
        if "fold" in row and pd.notna(row["fold"]):
            parts.append(f"fold {row['fold']}")
        return " ".join(parts)
    return pd.Series([one(r) for _i, r in runs.iterrows()], index=runs["id"].astype(int).to_numpy(), dtype=object)


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def with_labels(history: pd.DataFrame, labels: pd.Series, name: str = "run") -> pd.DataFrame:
    """History rows with each run's label in column `name`."""
    return history.assign(**{name: history["run_id"].map(labels)})


def smooth(history: pd.DataFrame, window: int, columns: Sequence[str] = ("loss", "acc")) -> pd.DataFrame:
    """Rolling mean over `window` epochs within each run and split (window 1 returns the data unchanged)."""
    if window <= 1 or history.empty:
        return history
    out = history.sort_values(["run_id", "split", "epoch"]).copy()
    for col in columns:
        if col in out:
            out[col] = out.groupby(["run_id", "split"])[col].transform(lambda s: s.rolling(window, min_periods=1).mean())
    return out


def one_study(runs: pd.DataFrame, what: str) -> None:
    """ValueError unless every run is of one study: runs of different studies measure different things (an MSE and a
    cross-entropy are not one loss), so grouping or averaging them pools what does not pool."""
    studies = sorted(runs["study"].dropna().unique()) if "study" in runs.columns else []
    if len(studies) > 1:
        raise ValueError(_("{what}: these runs come from {n} studies ({studies}); pick one study").format(
            what=what, n=len(studies), studies=", ".join(studies)))


def latest_study(runs: pd.DataFrame) -> str:
    """The study of the most recent run (the highest id)."""
    return str(runs.loc[runs["id"].astype(int).idxmax(), "study"])


def default_comparison(runs: pd.DataFrame, n: int = 3) -> list[int]:
    """The runs to compare first: the latest `n` runs of the latest run's study, newest first (never mixed studies)."""
    if runs.empty:
        return []
    same = runs[runs["study"] == latest_study(runs)]
    return same["id"].astype(int).sort_values(ascending=False).head(n).tolist()


def group_history(history: pd.DataFrame, runs: pd.DataFrame, by: str, y: str = "loss") -> pd.DataFrame:
    """Mean, std and count of `y` per value of config column `by` × split × epoch (over folds and seeds of one study)."""
    if by not in runs.columns:
        raise ValueError(f"group by: {by!r} is not a column of the runs table")
    one_study(runs, _("group by"))
    keyed = history.merge(runs[["id", by]].rename(columns={"id": "run_id"}), on="run_id")
    keyed = keyed.dropna(subset=[y])
    grouped = keyed.groupby([by, "split", "epoch"])[y].agg(["mean", "std", "count"]).reset_index()
    grouped["std"] = grouped["std"].fillna(0.0)
    grouped["lower"] = grouped["mean"] - grouped["std"]
    grouped["upper"] = grouped["mean"] + grouped["std"]
    return grouped


def spread(values: Sequence, n: int) -> list:
    """At most `n` of these sorted values, evenly spread by rank from the first to the last (all of them when fewer)."""
    values = list(values)
    if len(values) <= n:
        return values
    if n <= 1:
        return values[:n]
    return [values[round(i * (len(values) - 1) / (n - 1))] for i in range(n)]


def summary_by(runs: pd.DataFrame, by: str | Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Mean ± std of metrics per value of `by` (one column or several; folds and seeds pooled), with the number of runs."""
    by = [by] if isinstance(by, str) else list(by)
    one_study(runs, _("group by"))
    metrics = [m for m in metrics if m in runs.columns and m not in by]
    table = runs.groupby(by)[metrics].agg(["mean", "std"])
    table.columns = [f"{m} {stat}" for m, stat in table.columns]
    table.insert(0, "runs", runs.groupby(by).size())
    return table.reset_index()


@dataclass(frozen=True)
class Turn:
    """Where a validation curve (a metric's mean over runs, against one parameter) is best, and its two ends."""

    x: str
    metric: str
    best_x: float
    best: float
    low_x: float
    low: float
    high_x: float
    high: float
    points: int

    @property
    def lower_is_better(self) -> bool:
        return METRICS[self.metric].better != "higher"

    def worse(self, value: float) -> bool:
        """Whether `value` is worse than the best (strictly)."""
        return value > self.best if self.lower_is_better else value < self.best

    @property
    def turns(self) -> bool:
        """Best strictly inside the range, with both ends worse: the curve turns."""
        return self.points >= 3 and self.best_x not in (self.low_x, self.high_x) and self.worse(self.low) and self.worse(self.high)


def curve_turn(frame: pd.DataFrame, x: str, metric: str) -> Turn | None:
    """The turn of `metric` (mean over the runs at each value of numeric `x`), or None where there is nothing to say
    (no values, or a metric without a better direction)."""
    info = METRICS.get(metric)
    if info is None or info.better is None or x not in frame or metric not in frame:
        return None
    means = frame[[x, metric]].dropna().groupby(x)[metric].mean().sort_index()
    if means.empty:
        return None
    at = means.idxmin() if info.better == "lower" else means.idxmax()
    return Turn(x, metric, at, float(means[at]), means.index[0], float(means.iloc[0]), means.index[-1], float(means.iloc[-1]), len(means))


def turn_caption(turn: Turn, so_far: bool = False) -> str:
    """One sentence on the validation curve drawn, computed from its numbers: where it is best, and whether it turns.
    `so_far`: the sweep is still running, so an edge is only where the curve stands now."""
    word = _("lowest") if turn.lower_is_better else _("highest")
    values = dict(metric=label(turn.metric), x=label(turn.x), word=word, best=_num3(turn.best), best_x=_num3(turn.best_x),
                  low=_num3(turn.low), low_x=_num3(turn.low_x), high=_num3(turn.high), high_x=_num3(turn.high_x))
    prefix = _("So far: ") if so_far else ""
    if turn.points < 3:
        return prefix + _("The {metric} is {word} at {x} = {best_x} ({best}); three or more values are needed to see a "
                          "turn.").format(**values)
    if turn.turns:
        return prefix + _("The {metric} turns: {word} at {x} = {best_x} ({best}), worse on both sides — {low} at {x} = "
                          "{low_x} and {high} at {x} = {high_x}.").format(**values)
    if turn.best_x in (turn.low_x, turn.high_x):
        end = _("lowest") if turn.best_x == turn.low_x else _("highest")
        if so_far:
            return prefix + _("The {metric} is {word} at the {end} {x} finished ({best_x}: {best}); no turn yet.").format(
                end=end, **values)
        return _("The {metric} is {word} at the {end} {x} swept ({best_x}: {best}), so this range shows no turn; "
                 "extend it past {best_x} to see where it turns.").format(end=end, **values)
    return prefix + _("The {metric} is {word} at {x} = {best_x} ({best}); it is {low} at {x} = {low_x} and {high} at "
                      "{x} = {high_x}.").format(**values)


def focus_floor(frame: pd.DataFrame, x: str, metric: str, others: Sequence[str], factor: float = 10.0,
                trigger: float = 100.0) -> tuple[float | None, str]:
    """Where a log y axis should start so that `metric`'s curve keeps its height when `others` (a train loss of 1e-10)
    fall more than `trigger` times below its lowest mean: `factor` below that lowest mean, else None; and the sentence
    saying what runs off the chart's lower edge."""
    means = frame.groupby(x)[[metric, *others]].mean(numeric_only=True)
    shown = means[metric][means[metric] > 0]
    if shown.empty:
        return None, ""
    floor = float(shown.min()) / factor
    for other in others:
        if other in means and (means[other] < float(shown.min()) / trigger).any():
            at = means[other].idxmin()
            return floor, _("The {other} falls below the chart's lower edge ({floor}), down to {value} at {x} = {at}.").format(
                other=label(other), floor=_num3(floor), value=_num3(float(means[other].min())), x=label(x), at=_num3(at))
    return None, ""


def _num3(v) -> str:
    return value_text(v, 3)
