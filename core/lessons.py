"""What the teaching pages say about their runs: the settings of each first view, and every sentence that states a
trend, computed from the numbers drawn beside it.

A view teaches only what it shows. So a page's defaults are chosen here to show its phenomenon, and a caption that
says "falls", "is lowest at" or "wins" is built here from the runs on screen, saying only what holds for them.
The tests run the pages' defaults through these same functions (tests/test_lessons.py, tests/test_teaching_*.py),
so a default that stops showing its phenomenon fails a test instead of misleading a student.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .i18n import _

# --- the first view of each tab --------------------------------------------------------------------

# Regression → Polynomial: a high degree on few noisy points, so overfitting shows before any slider moves
POLYNOMIAL_VIEW = {"degree": 20, "n_train": 20, "noise": 0.3, "epochs": 300}
# Capacity → Under- and overfitting: three panels on the same few points, and the degrees of the sweep below them
DEGREE_PANELS = {"low": 1, "right": 3, "high": 20}
DEGREE_DATA = {"n_train": 20, "noise": 0.3}
SWEEP_DEGREES = (0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20)
# Capacity → Width vs depth and Universal approximation
DEPTHS = (1, 2, 3, 4)
DEPTH_VIEW = {"budget": 60, "function": "sin", "activation": "relu", "epochs": 200}
WIDTHS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
WIDTH_VIEW = {"function": "sin", "activation": "relu", "hidden": 32, "noise": 0.0}


# --- Classification page ---------------------------------------------------------------------------
# A 2-D set: two wide layers trained long (one step an epoch) on 60 noisy points memorise them; the test loss
# turns up and the boundary bends around single points.
CLASSIFICATION_POINTS = {"dataset": "moons", "noise": 0.3, "n_train": 60, "epochs": 300, "lr": 0.01, "hidden": 128,
                         "depth": 2, "batch_size": 64}
# Images: an epoch is many steps, so fewer epochs and a smaller network answer in seconds.
CLASSIFICATION_IMAGES = {"epochs": 20, "lr": 0.003, "hidden": 64, "depth": 1, "batch_size": 64}
# The cure the page suggests for the 2-D default.
CURE_WEIGHT_DECAY = 0.01

# --- Data strategies page ---------------------------------------------------------------------------
# Learning curve: digits MLP at 6 sizes; `epochs` are those of the largest set (smaller sets see as many examples).
LEARNING_CURVE = {"epochs": 20, "n_sizes": 6}
# Choosing the polynomial degree: few noisy points, full-batch Adam; by a validation split or by K folds.
SELECTION = {"n_train": 30, "noise": 0.3, "batch_size": 30, "epochs": 100, "optimizer": "adam", "lr": 1.0}
SELECTION_DEGREES = (0, 1, 2, 3, 4, 5, 6, 8, 12)
VAL_FRACTION = 0.3
KFOLD_FOLDS = 5
# Early stopping: 20% wrong training labels; the early-stopping study's lr lets the network memorise them
# within the epochs, so the validation loss turns up clearly.
EARLY_STOPPING = {"patience": 5, "label_noise": 0.2, "epochs": 60}
# Augmentation: the augmentation study's own defaults (2% of digits, rotations) — the page starts from them.

# --- Regularization page ----------------------------------------------------------------------------
# Dropout: a wide two-layer MLP on 20% of digits with 20% wrong labels, without and with dropout 0.5.
DROPOUT = {"label_noise": 0.2, "epochs": 40, "train_size": 0.2, "dropout": 0.5}


def degree_config(degree: int, n_train: int, noise: float) -> dict[str, Any]:
    """A Capacity-tab polynomial run: full-batch Adam (lr 1, 100 epochs) beside the study's least-squares fit."""
    return {"degree": degree, "n_train": n_train, "noise": noise, "batch_size": n_train, "epochs": 100, "optimizer": "adam",
            "lr": 1.0}


def depth_config(depth: int, budget: int, function: str, activation: str, epochs: int) -> dict[str, Any]:
    """A Width-vs-depth run: an MLP of this depth sized to the budget, on 100 noisy samples, full-batch Adam."""
    return {"depth": depth, "budget": budget, "function": function, "activation": activation, "epochs": epochs,
            "n_train": 100, "batch_size": 100, "lr": 0.05, "noise": 0.05}


def width_config(hidden: int, function: str, activation: str, noise: float) -> dict[str, Any]:
    """A Universal-approximation run: one hidden layer of `hidden` units on 100 samples, full-batch Adam."""
    return {"hidden": hidden, "depth": 1, "function": function, "activation": activation, "noise": noise,
            "n_train": 100, "batch_size": 100, "lr": 0.05, "epochs": 200}


def num(value: float) -> str:
    """A number short enough for a caption or a metric: 3 significant digits, powers of ten when large or tiny."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.2e}"
    return f"{value:.3g}"


# --- polynomial degree -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DegreeTrend:
    """Train and test error against degree, and what they show."""

    degrees: list[int]
    train: list[float]
    test: list[float]
    train_falls: bool  # never rises from one degree to the next by more than the tolerance
    best_degree: int  # lowest test error
    best_test: float
    test_rises: bool  # past the best degree the test error climbs to at least RISE × its lowest


RISE = 2.0


def degree_trend(runs: pd.DataFrame, train: str = "closed_form_train_loss", test: str = "closed_form_test_loss",
                 tol: float = 0.01) -> DegreeTrend | None:
    """Read a degree sweep (a row per degree with `train` and `test` columns): does training error keep falling,
    where is test error lowest, and does it rise again past that? None when fewer than two degrees have both."""
    if not {train, test} <= set(runs.columns):
        return None
    frame = runs.groupby("degree")[[train, test]].mean().dropna().sort_index()
    if len(frame) < 2:
        return None
    degrees = [int(d) for d in frame.index]
    tr, te = frame[train].tolist(), frame[test].tolist()
    falls = all(b <= a * (1 + tol) + 1e-12 for a, b in zip(tr, tr[1:]))
    best = int(frame[test].idxmin())
    after = frame.loc[frame.index > best, test]
    return DegreeTrend(degrees, tr, te, falls, best, float(frame.loc[best, test]),
                       bool(len(after)) and float(after.max()) >= RISE * float(frame.loc[best, test]))


def degree_caption(t: DegreeTrend) -> str:
    """The sentences under the degree sweep, each one true for the numbers drawn (or left out)."""
    lo, hi = t.degrees[0], t.degrees[-1]
    parts = []
    if t.train_falls:
        parts.append(_("The training error falls as the degree grows, from {first} at degree {lo} to {last} at degree {hi}: "
                       "a higher degree can fit everything a lower one can, and more.").format(
            first=num(t.train[0]), lo=lo, last=num(t.train[-1]), hi=hi))
    else:
        i = next(i for i, (a, b) in enumerate(zip(t.train, t.train[1:])) if b > a * 1.01 + 1e-12)
        parts.append(_("The training error does not fall steadily here: it rises from {a} at degree {d1} to {b} at degree {d2}.").format(
            a=num(t.train[i]), d1=t.degrees[i], b=num(t.train[i + 1]), d2=t.degrees[i + 1]))
    if t.best_degree == hi:
        parts.append(_("The test error is lowest at the highest degree shown, {hi} ({best}): no overfitting in this range.").format(
            hi=hi, best=num(t.best_test)))
    elif t.test_rises:
        parts.append(_("The test error is lowest at degree {k} ({best}) and climbs to {worst} past it: the extra "
                       "coefficients fit the noise of the training points.").format(
            k=t.best_degree, best=num(t.best_test), worst=num(max(t.test[t.degrees.index(t.best_degree) + 1:]))))
    else:
        parts.append(_("The test error is lowest at degree {k} ({best}) and stays within {rise}× of that up to degree {hi}.").format(
            k=t.best_degree, best=num(t.best_test), rise=f"{RISE:g}", hi=hi))
    return " ".join(parts)


def fit_verdict(train: float, test: float, noise: float) -> str:
    """Under-, over- or a good fit, judged against the noise level σ²: the test MSE a perfect model would get."""
    floor = max(noise**2, 1e-6)
    values = dict(train=num(train), test=num(test), floor=num(noise**2))
    if train > 3 * floor:
        return _("**Underfitting**: even the best polynomial of this degree misses the training points (train MSE {train}, "
                 "far above the noise level σ² = {floor}); test MSE {test}.").format(**values)
    if test > 3 * max(train, floor):
        return _("**Overfitting**: train MSE {train} (the noise level is σ² = {floor}), but test MSE {test} — "
                 "{ratio}× larger: the curve follows the noise of the training points and swings away between and "
                 "beyond them.").format(ratio=num(test / max(train, 1e-300)), **values)
    return _("**A good fit**: train MSE {train} and test MSE {test} are both near the noise level σ² = {floor}.").format(**values)


def line_leaves(fit: pd.DataFrame, points: pd.DataFrame, line: str = "trained", column: str = "line") -> bool:
    """Whether a fitted line runs outside the y range a fit chart shows (the data's, see `charts.regression.y_window`)."""
    from .charts.regression import y_window

    lo, hi = y_window(points, fit.rename(columns={column: "curve"}))
    y = fit.loc[fit[column] == line, "y"]
    return bool(len(y)) and bool(((y < lo) | (y > hi)).any())


def coefficient_note(coefficients: pd.DataFrame, column: str = "closed form") -> str:
    """Why the coefficient chart is on a symmetric log scale, with the largest coefficient when it is huge."""
    text = _("A symmetric log scale, so that coefficients of very different sizes all show.")
    largest = coefficients[column].abs().max()
    if largest > 100:
        text += " " + _("The largest least-squares coefficient here is {value}: an overfitted polynomial needs huge "
                        "coefficients of opposite signs that nearly cancel at the training points.").format(value=num(largest))
    return text


# --- networks: depth and width -------------------------------------------------------------------------


@dataclass(frozen=True)
class DepthVerdict:
    """Test error of networks of several depths at one parameter budget."""

    depths: list[int]
    test: list[float]
    best_depth: int
    best_test: float

    @property
    def shallow(self) -> float:
        return self.test[0]

    @property
    def deep(self) -> float:
        return self.test[-1]


def depth_verdict(runs: pd.DataFrame, metric: str = "test_loss") -> DepthVerdict:
    """Which depth reaches the lowest `metric` (a row per depth)."""
    frame = runs.groupby("depth")[metric].mean().sort_index()
    best = int(frame.idxmin())
    return DepthVerdict([int(d) for d in frame.index], frame.tolist(), best, float(frame[best]))


def depth_caption(v: DepthVerdict, budget: int) -> str:
    """Which depth wins at this budget, as measured: the page's answer to "is deeper better?"."""
    values = dict(budget=budget, best=v.best_depth, best_loss=num(v.best_test), shallow=num(v.shallow),
                  deepest=v.depths[-1], deep=num(v.deep), first=v.depths[0])
    if v.best_depth == v.depths[0]:
        return _("At a matched budget of about {budget} parameters the shallowest network wins: depth {first} reaches test "
                 "MSE {shallow}, depth {deepest} {deep}. Deeper is not better here.").format(**values)
    if v.best_depth == v.depths[-1]:
        return _("At a matched budget of about {budget} parameters the deepest network wins here: depth {deepest} reaches "
                 "test MSE {deep}, depth {first} {shallow}.").format(**values)
    return _("At a matched budget of about {budget} parameters neither extreme wins: depth {best} reaches test MSE "
             "{best_loss}, depth {first} {shallow} and depth {deepest} {deep}.").format(**values)


def approximation_caption(runs: pd.DataFrame, x: str = "hidden", metric: str = "test_loss") -> str:
    """How the test error moves from the narrowest to the widest hidden layer, as measured."""
    frame = runs.groupby(x)[metric].mean().sort_index()
    (n0, first), (n1, last) = next(frame.items()), list(frame.items())[-1]
    best = frame.idxmin()
    values = dict(first=num(first), last=num(last), n0=int(n0), n1=int(n1), best=num(frame[best]), nb=int(best))
    if last < 0.8 * first:
        text = _("Test MSE falls from {first} with N = {n0} to {last} with N = {n1}.").format(**values)
        if best != n1:
            text += " " + _("(It is lowest, {best}, at N = {nb}.)").format(**values)
        return text
    if last > 1.25 * first:
        return _("Test MSE rises from {first} with N = {n0} to {last} with N = {n1}.").format(**values)
    return _("Test MSE stays about the same: {first} with N = {n0}, {last} with N = {n1}.").format(**values)


# --- training dynamics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LossSwings:
    """The shape of one loss curve: where it starts and ends, its range, and how often it turns."""

    first: float
    last: float
    low: float
    high: float
    rises: int
    falls: int
    epochs: int

    @property
    def explodes(self) -> bool:
        return not math.isfinite(self.last) or self.last >= 100 * self.first

    @property
    def oscillates(self) -> bool:
        return not self.explodes and self.rises >= 2 and self.falls >= 2


def loss_swings(history: pd.DataFrame, split: str = "train", y: str = "loss") -> LossSwings | None:
    """Read one run's loss curve on `split` (None when it recorded no epoch)."""
    values = history[history["split"] == split].sort_values("epoch")[y].astype(float).tolist()
    if not values:
        return None
    steps = list(zip(values, values[1:]))
    return LossSwings(values[0], values[-1], min(values), max(values), sum(b > a for a, b in steps),
                      sum(b < a for a, b in steps), len(values))


def accumulation_text(s: LossSwings, lr: float) -> str:
    """What not clearing the gradient did to the training loss in this run."""
    values = dict(lr=f"{lr:g}", first=num(s.first), last=num(s.last), low=num(s.low), high=num(s.high), rises=s.rises,
                  falls=s.falls, epochs=s.epochs)
    if s.explodes:
        return _("with learning rate {lr} the training loss grows from {first} to {last} in {epochs} epochs: at this step "
                 "size each overshoot is larger than the last, so the loss does blow up.").format(**values)
    if s.oscillates:
        return _("with learning rate {lr} the training loss oscillates: over {epochs} epochs it rises {rises} times and "
                 "falls {falls} times, between {low} and {high}, and ends at {last}. It swings; it does not explode.").format(**values)
    return _("with learning rate {lr} the training loss goes from {first} to {last} in {epochs} epochs without "
             "oscillating (it rises {rises} times).").format(**values)


def gradient_caption(table: pd.DataFrame) -> str:
    """The first layer's gradient at the chosen depth relative to depth 1, per activation (from `gradient_table`)."""
    rows = table.set_index("activation")["ratio to depth 1"]
    depth = int(table["depth"].iloc[0])
    parts = [_("{activation} {ratio}").format(activation=a, ratio=num(float(r))) for a, r in rows.items()]
    return _("Measured at depth {depth}, the first layer's gradient is this fraction of its size at depth 1: {ratios}.").format(
        depth=depth, ratios=", ".join(parts))
