"""Canonical published results, re-run in the lab: each beside the figure its source printed, and whether it holds.

A `Reproduction` names its source (a textbook chapter or a paper), that source's setup and published figure (kept
here, with the source, because nothing is downloaded at run time), the study and sweep that re-create the setup in
the lab (full settings, and small ones that CI runs on every commit), and the one check that decides whether the
published claim holds on the lab's runs. The same check serves the Reproductions page, `python -m core reproduce`
and the tests.

`reproduce(rep, size, store)` runs the sweep, stores its runs as a sweep tagged with the reproduction (so the
Runs page can show them: `?runs.sweep=ID`) and judges them; `latest(store, rep)` judges the newest stored sweep of
a reproduction without training; `table(outcomes)` is the table to show and export.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from .i18n import N_, _
from .metrics import value_text
from .sweeps import SweepSpec, parse_axis

SIZES = ("small", "full")
DIGITS_TEST = 450  # digits' test images: the chance level of 10% is within ±5 points for ~95% of random predictors


@dataclass(frozen=True)
class Setting:
    """One size of a reproduction: the values held fixed and the --grid texts swept (as `python -m core sweep` takes them)."""

    base: dict[str, Any]
    grid: tuple[str, ...]
    folds: int | None = None
    seeds: int = 1


@dataclass(frozen=True)
class Verdict:
    """The lab's figure in words, whether the published claim holds on it, and the numbers behind it."""

    lab: str
    holds: bool | None  # None: could not be judged (no finished run)
    numbers: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Reproduction:
    """A published result, its setup and figure, and how the lab re-creates and judges it."""

    id: str
    source: str
    setup: str
    published: str
    study: str
    small: Setting
    full: Setting
    judge: Callable[[pd.DataFrame, pd.DataFrame], Verdict]  # runs table, histories → verdict
    lab_setup: str = ""  # where the lab's setup differs from the source's
    different_setup: bool = False  # the lab cannot run the source's setup: the row compares a neighbour
    needs_mnist: bool = False

    def spec(self, size: str = "small") -> SweepSpec:
        """The sweep that re-creates the setup at this size."""
        if size not in SIZES:
            raise ValueError(f"size: {size!r} is not allowed; expected one of {'|'.join(SIZES)}")
        from .studies import get_study

        setting = self.small if size == "small" else self.full
        study = get_study(self.study)
        axes = tuple(parse_axis(study, g) for g in setting.grid)
        return SweepSpec(self.study, dict(setting.base), axes, setting.folds, setting.seeds)


@dataclass(frozen=True)
class Outcome:
    """A reproduction judged on one stored sweep (or not run yet: sweep_id None)."""

    rep: Reproduction
    verdict: Verdict | None
    sweep_id: str | None = None
    size: str | None = None
    runs: int = 0
    skipped: str = ""  # why it did not run (e.g. MNIST missing)


# --- judging helpers ---------------------------------------------------------------------------------


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "ok"] if "status" in runs.columns else runs


def _by(runs: pd.DataFrame, column: str, metric: str, how: str = "mean") -> dict[Any, float]:
    """The mean (or std) of a metric per value of a parameter, over folds and seeds."""
    grouped = _ok(runs).groupby(column)[metric]
    values = grouped.mean() if how == "mean" else grouped.std()
    return {k: float(v) for k, v in values.items()}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _none(what: str) -> Verdict:
    return Verdict(_("no finished run of {what}").format(what=what), None)


# --- the reproductions ---------------------------------------------------------------------------------


D2L_COEF = (5.0, 1.2, -3.4, 5.6)
COEF_TOLERANCE = 0.1


def judge_d2l_polynomial(runs: pd.DataFrame, history: pd.DataFrame) -> Verdict:
    """Degree 3 recovers each coefficient within 0.1; degree 1 underfits (train and test loss ≥ 10× degree 3's); the
    highest degree overfits (a wider train–test gap and a higher test loss than degree 3's)."""
    ok = _ok(runs)
    degrees = sorted(ok["degree"].unique())
    if 3 not in degrees or len(degrees) < 3:
        return _none("degrees 1, 3 and a high one")
    low, high = degrees[0], degrees[-1]
    row = {d: ok[ok["degree"] == d].iloc[0] for d in (low, 3, high)}
    coefs = [float(row[3][f"coef_{i}"]) for i in range(4)]
    recovered = all(abs(c - t) <= COEF_TOLERANCE for c, t in zip(coefs, D2L_COEF))
    gap = {d: float(row[d]["test_loss"] - row[d]["train_loss"]) for d in row}
    underfits = row[low]["train_loss"] >= 10 * row[3]["train_loss"] and row[low]["test_loss"] >= 10 * row[3]["test_loss"]
    overfits = gap[high] > gap[3] and row[high]["test_loss"] > row[3]["test_loss"]
    lab = _("degree 3 learned {coefs}; degree {low}: train/test MSE {ltr} / {lte} (underfits); degree {high}: "
            "{htr} / {hte} against degree 3's {tr} / {te}").format(
        coefs=", ".join(f"{c:.3f}" for c in coefs), low=low, high=high,
        ltr=value_text(row[low]["train_loss"], 3), lte=value_text(row[low]["test_loss"], 3),
        htr=value_text(row[high]["train_loss"], 3), hte=value_text(row[high]["test_loss"], 3),
        tr=value_text(row[3]["train_loss"], 3), te=value_text(row[3]["test_loss"], 3))
    numbers = {f"coef_{i}": c for i, c in enumerate(coefs)} | {f"gap_{d}": g for d, g in gap.items()}
    return Verdict(lab, bool(recovered and underfits and overfits), numbers)


def judge_d2l_weight_decay(runs: pd.DataFrame, history: pd.DataFrame) -> Verdict:
    """λ = 3 against λ = 0: a higher training loss, a test loss at least 2× lower, a smaller weight norm."""
    ok = _ok(runs)
    if not {0.0, 3.0} <= set(ok["l2"]):
        return _none("l2 = 0 and l2 = 3")
    none, decay = (ok[ok["l2"] == v].iloc[0] for v in (0.0, 3.0))
    holds = (decay["train_loss"] > none["train_loss"] and decay["test_loss"] * 2 <= none["test_loss"]
             and decay["weight_norm"] < none["weight_norm"])
    lab = _("λ = 0: train MSE {a}, test MSE {b}, ‖w‖ {c}; λ = 3: train {d}, test {e}, ‖w‖ {f}").format(
        a=value_text(none["train_loss"], 3), b=value_text(none["test_loss"], 3), c=value_text(none["weight_norm"], 3),
        d=value_text(decay["train_loss"], 3), e=value_text(decay["test_loss"], 3), f=value_text(decay["weight_norm"], 3))
    return Verdict(lab, bool(holds), {"test_loss_0": float(none["test_loss"]), "test_loss_3": float(decay["test_loss"])})


def _dropout_gap(runs: pd.DataFrame) -> tuple[dict[float, float], dict[float, float], dict[float, float]] | None:
    ok = _ok(runs)
    if 0.0 not in set(ok["dropout"]) or ok["dropout"].nunique() < 2:
        return None
    train, test = _by(ok, "dropout", "train_acc"), _by(ok, "dropout", "test_acc")
    return train, test, {p: train[p] - test[p] for p in train}


def judge_dropout_gap(runs: pd.DataFrame, history: pd.DataFrame) -> Verdict:
    """Every dropout rate's train–test accuracy gap is narrower than the gap without dropout."""
    found = _dropout_gap(runs)
    if found is None:
        return _none("dropout 0 and a dropout rate")
    train, test, gap = found
    rates = sorted(p for p in gap if p > 0)
    holds = all(gap[p] < gap[0.0] for p in rates)
    lab = "; ".join(_("p = {p}: train {tr}, test {te}, gap {g} points").format(
        p=value_text(p, 2), tr=_pct(train[p]), te=_pct(test[p]), g=f"{100 * gap[p]:.1f}") for p in [0.0, *rates])
    return Verdict(lab, bool(holds), {f"gap_{p}": g for p, g in gap.items()} | {f"test_error_{p}": 1 - test[p] for p in test})


SKLEARN_CV = {1: (4.08e-01, 4.25e-01), 4: (4.32e-02, 7.08e-02), 15: (1.82e08, 5.46e08)}


def judge_sklearn(runs: pd.DataFrame, history: pd.DataFrame) -> Verdict:
    """Degree 4's mean cross-validated MSE is the lowest, and degrees 1 and 15 each have at least 2× it."""
    ok = _ok(runs)
    if not set(SKLEARN_CV) <= set(ok["degree"]):
        return _none("degrees 1, 4 and 15")
    mean, std = _by(ok, "degree", "val_loss"), _by(ok, "degree", "val_loss", "std")
    holds = mean[1] >= 2 * mean[4] and mean[15] >= 2 * mean[4]
    lab = ", ".join(_("degree {d} {m:.2e} (± {s:.2e})").format(d=d, m=mean[d], s=std[d]) for d in sorted(SKLEARN_CV))
    return Verdict(lab, bool(holds), {f"cv_mse_{d}": mean[d] for d in SKLEARN_CV})


def judge_zhang(runs: pd.DataFrame, history: pd.DataFrame) -> Verdict:
    """With every label random (mean over seeds): training accuracy ≥ 99% and test accuracy within 5 points of
    chance (10%)."""
    ok = _ok(runs)
    if 1.0 not in set(ok["random_labels"]):
        return _none("random_labels = 1")
    train, test = _by(ok, "random_labels", "train_acc"), _by(ok, "random_labels", "test_acc")
    fitted = _by(ok.dropna(subset=["epochs_to_fit"]), "random_labels", "epochs_to_fit") if "epochs_to_fit" in ok else {}
    holds = train[1.0] >= 0.99 and abs(test[1.0] - 0.1) <= 0.05

    def one(f: float, name: str) -> str:
        when = _(", fitted by epoch {e:.0f}").format(e=fitted[f]) if f in fitted else _(", never fitted")
        return _("{name}: train {tr}, test {te}{when}").format(name=name, tr=_pct(train[f]), te=_pct(test[f]), when=when)

    lab = one(1.0, _("random labels")) + _(" (chance 10%)")
    if 0.0 in train:
        lab += "; " + one(0.0, _("real labels"))
    return Verdict(lab, bool(holds), {"train_acc": train[1.0], "test_acc": test[1.0]})


def judge_belkin(runs: pd.DataFrame, history: pd.DataFrame) -> Verdict:
    """The test error at P = n is higher than at P = n/4 and at P = 8n (or the nearest swept P), and the test loss
    is highest within n/2 ≤ P ≤ 2n."""
    ok = _ok(runs)
    if ok.empty:
        return _none("random features")
    n = int(ok["n_train"].iloc[0])
    error = {int(p): 1 - v for p, v in _by(ok, "hidden", "test_acc").items()}
    loss = {int(p): v for p, v in _by(ok, "hidden", "test_loss").items()}
    near = lambda target: min(error, key=lambda p: abs(math.log(p / target)))  # noqa: E731
    at_n, quarter, eight = near(n), near(n / 4), near(8 * n)
    peak = max(loss, key=loss.get)
    holds = at_n != quarter and at_n != eight and error[at_n] > error[quarter] and error[at_n] > error[eight] \
        and n / 2 <= peak <= 2 * n
    lab = _("n = {n}: test error {a} at P = {pn}, {b} at P = {pq}, {c} at P = {pe}; test loss highest at P = {peak}").format(
        n=n, a=_pct(error[at_n]), pn=at_n, b=_pct(error[quarter]), pq=quarter, c=_pct(error[eight]), pe=eight, peak=peak)
    return Verdict(lab, bool(holds), {"error_at_n": error[at_n], "error_quarter": error[quarter],
                                      "error_eight": error[eight], "peak": float(peak)})


PRECHELT_TOLERANCE = 0.05


def judge_prechelt(runs: pd.DataFrame, history: pd.DataFrame) -> Verdict:
    """The early-stopped run's (restored) validation loss is within 5% of the lowest validation loss of the same
    training run carried to the full budget (patience 0)."""
    ok = _ok(runs)
    full, stopped = ok[ok["patience"] == 0], ok[ok["patience"] > 0]
    if full.empty or stopped.empty or history.empty:
        return _none("patience 0 and a patience > 0")
    f, s = full.iloc[0], stopped.iloc[0]
    val = history[(history["run_id"] == int(f["id"])) & (history["split"] == "val")]
    best = float(val["loss"].min())
    best_epoch = int(val.loc[val["loss"].idxmin(), "epoch"])
    excess = (float(s["val_loss"]) - best) / best
    holds = excess <= PRECHELT_TOLERANCE
    lab = _("patience {p} stopped at epoch {e} of {n}: val loss {v}, {x} above the best of the full run ({b} at epoch "
            "{be}); {r}× less training").format(
        p=int(s["patience"]), e=int(s["epochs_run"]), n=int(f["epochs_run"]), v=value_text(s["val_loss"], 3),
        x=f"{100 * excess:+.1f}%", b=value_text(best, 3), be=best_epoch, r=f"{f['epochs_run'] / s['epochs_run']:.1f}")
    return Verdict(lab, bool(holds), {"excess": excess, "epochs_ratio": float(f["epochs_run"] / s["epochs_run"])})


# the setups that are small already: CI runs them whole
D2L_POLYNOMIAL = Setting({"n_train": 100, "n_test": 100, "noise": 0.1, "lr": 0.01, "batch_size": 10, "epochs": 400},
                         ("degree=1,3,19",))
D2L_WEIGHT_DECAY = Setting({"n_features": 200, "n_train": 20, "n_test": 100, "noise": 0.01, "lr": 0.003, "batch_size": 5,
                            "epochs": 100}, ("l2=0,3",))
SKLEARN = Setting({"function": "cos", "x_range": "0..1", "n_train": 30, "noise": 0.1, "optimizer": "lstsq", "epochs": 1},
                  ("degree=1,4,15",), folds=10)

REPRODUCTIONS: dict[str, Reproduction] = {r.id: r for r in (
    Reproduction(
        "d2l-polynomial", N_("d2l (Dive into Deep Learning), \"Model Selection, Underfitting, and Overfitting\": polynomial regression"),
        N_("y = 5 + 1.2x − 3.4x²/2! + 5.6x³/3! + N(0, 0.1²), x ~ N(0, 1), 100 train + 100 test points, features x^i/i!, "
           "SGD lr 0.01, batch 10, 400 epochs; degree 3 (right), 1 (linear: underfits), 19 (all 20 features: overfits)"),
        N_("degree 3 learns weights close to the true 5, 1.2, −3.4, 5.6; the linear model's training loss stays high "
           "(underfitting); the degree-19 model fits the training set better than the test set (overfitting)"),
        "polynomial",
        small=D2L_POLYNOMIAL, full=D2L_POLYNOMIAL,
        judge=judge_d2l_polynomial,
        lab_setup=N_("the same setup (400 epochs for every degree); holds when each coefficient is within 0.1, degree "
                     "1's losses are ≥ 10× degree 3's, and degree 19 has the wider gap and the higher test loss"),
    ),
    Reproduction(
        "d2l-weight-decay", N_("d2l (Dive into Deep Learning), \"Weight Decay\": high-dimensional linear regression"),
        N_("y = 0.05 + Σ 0.01·x_i + N(0, 0.01²), d = 200 inputs, n = 20 training and 100 test examples, SGD lr 0.003, "
           "batch 5, 100 epochs, penalty λ/2·‖w‖² with λ = 0 and λ = 3"),
        N_("λ = 0 overfits badly: the training error falls, the test error does not; λ = 3 raises the training error "
           "and lowers the test error"),
        "weight-decay",
        small=D2L_WEIGHT_DECAY, full=D2L_WEIGHT_DECAY,
        judge=judge_d2l_weight_decay,
        lab_setup=N_("the same setup, but weights start from PyTorch's uniform ±1/√200 instead of d2l's N(0, 1); holds "
                     "when λ = 3 has the higher training loss, a test loss at least 2× lower and the smaller ‖w‖"),
    ),
    Reproduction(
        "d2l-dropout", N_("d2l (Dive into Deep Learning), \"Dropout\""),
        N_("Fashion-MNIST, MLP 784-256-256-10 (ReLU), dropout 0.2 after the first hidden layer and 0.5 after the second, "
           "SGD lr 0.5, batch 256, 10 epochs"),
        N_("trained with dropout, the test accuracy stays close to the training accuracy (curves, no table)"),
        "classification",
        small=Setting({"dataset": "mnist", "hidden": 256, "depth": 2, "optimizer": "sgd", "lr": 0.5, "batch_size": 64,
                       "epochs": 10, "train_size": 0.25}, ("dropout=0,0.2,0.5",)),
        full=Setting({"dataset": "mnist", "hidden": 256, "depth": 2, "optimizer": "sgd", "lr": 0.5, "batch_size": 256,
                      "epochs": 10}, ("dropout=0,0.2,0.5",)),
        judge=judge_dropout_gap,
        lab_setup=N_("a different setup: MNIST (Fashion-MNIST is not available offline), one dropout rate for both "
                     "hidden layers (0.2 or 0.5); holds when every dropout rate narrows the train–test accuracy gap"),
        different_setup=True, needs_mnist=True,
    ),
    Reproduction(
        "sklearn-underfitting", N_("scikit-learn example \"Underfitting vs. Overfitting\""),
        N_("y = cos(1.5πx) + N(0, 0.1²) on 30 sorted points x ~ U[0, 1], LinearRegression on PolynomialFeatures of "
           "degree 1, 4 and 15, 10-fold cross-validated MSE"),
        N_("degree 1 MSE = 4.08e-01 (± 4.25e-01), degree 4 MSE = 4.32e-02 (± 7.08e-02), degree 15 MSE = 1.82e+08 "
           "(± 5.46e+08): degree 1 underfits, 4 fits, 15 overfits"),
        "polynomial",
        small=SKLEARN, full=SKLEARN,
        judge=judge_sklearn,
        lab_setup=N_("the same fit (least squares on x^i/i!, which span the same polynomials); the lab's folds are "
                     "shuffled, the example's are contiguous blocks of the sorted x, so its degree 15 extrapolates and "
                     "scores far worse; holds when degree 4 is lowest and degrees 1 and 15 are each ≥ 2× it"),
    ),
    Reproduction(
        "srivastava-dropout", N_("Srivastava et al. 2014, \"Dropout: a simple way to prevent neural networks from "
                                 "overfitting\", JMLR 15, Table 2"),
        N_("MNIST, 60,000 training images; standard net 784-800-800-10; dropout nets of 2–3 layers of 1024–8192 ReLU "
           "units, SGD with momentum, max-norm"),
        N_("MNIST test error: standard net 1.60%, dropout nets 1.25% (ReLU) to 1.05% (with max-norm)"),
        "classification",
        small=Setting({"dataset": "mnist", "hidden": 256, "depth": 2, "epochs": 10, "batch_size": 128, "lr": 0.001,
                       "train_size": 0.25}, ("dropout=0,0.5",)),
        full=Setting({"dataset": "mnist", "hidden": 1024, "depth": 2, "epochs": 30, "batch_size": 128, "lr": 0.001},
                     ("dropout=0,0.5",)),
        judge=judge_dropout_gap,
        lab_setup=N_("the MNIST images on disk (8,000 in the bundled sample), 784-1024-1024-10 ReLU with Adam, no "
                     "max-norm: the direction (dropout narrows the train–test gap) and the measured errors, not 1%-level "
                     "numbers; holds when dropout narrows the gap"),
        needs_mnist=True,
    ),
    Reproduction(
        "zhang-random-labels", N_("Zhang et al. 2017, \"Understanding deep learning requires rethinking generalization\", "
                                  "ICLR"),
        N_("CIFAR-10 (and ImageNet), Inception, AlexNet and MLPs, every training label replaced by a random class"),
        N_("the networks reach 100% training accuracy on random labels; test accuracy is at chance (10% on CIFAR-10); "
           "explicit regularization does not prevent it"),
        "memorisation",
        small=Setting({}, ("random_labels=0,1",)),  # the study's defaults: 512 units, 20% of digits, 100 epochs
        full=Setting({"hidden": 1024, "train_size": 1.0, "epochs": 300}, ("random_labels=0,1",), seeds=3),
        judge=judge_zhang,
        lab_setup=N_("digits and a one-hidden-layer MLP (Adam); holds when random labels reach ≥ 99% training accuracy "
                     "with test accuracy within 5 points of 10% (full: the mean of 3 seeds — similar images share their "
                     "random class, so one run's test accuracy scatters by a few points around chance)"),
    ),
    Reproduction(
        "belkin-double-descent", N_("Belkin et al. 2019, \"Reconciling modern machine-learning practice and the "
                                    "classical bias–variance trade-off\", PNAS 116(32)"),
        N_("random Fourier features on n = 10,000 MNIST images, minimum-norm least squares, N features from below to "
           "far above n"),
        N_("the test risk (zero-one and squared loss) peaks at the interpolation threshold N = n and descends again "
           "beyond it, below its value in the classical regime"),
        "double-descent",
        small=Setting({"n_train": 200}, ("hidden=50,100,200,400,1600",)),
        full=Setting({"dataset": "mnist", "n_train": 1000}, ("hidden=125:8000:13:log",)),
        judge=judge_belkin,
        lab_setup=N_("random ReLU features (not Fourier), digits n = 200 (small) or MNIST n = 1,000 (full); holds when "
                     "the test error at P = n is above that at P = n/4 and P = 8n and the test loss peaks within n/2..2n"),
    ),
    Reproduction(
        "prechelt-early-stopping", N_("Prechelt 1998, \"Early stopping — but when?\", Neural Networks: Tricks of the Trade"),
        N_("12 problems, 1296 MLP training runs (RPROP), 14 stopping criteria on a validation set"),
        N_("stopping early costs little: slower criteria improve generalization by only about 4% on average, for about "
           "4× the training time"),
        "early-stopping",
        small=Setting({"hidden": 128, "epochs": 60}, ("patience=0,5",)),
        full=Setting({"hidden": 256, "epochs": 200}, ("patience=0,10",)),
        judge=judge_prechelt,
        lab_setup=N_("digits with 20% wrong labels, one MLP, patience on the validation loss (best weights restored); "
                     "holds when the stopped model's validation loss is within 5% of the best of the same run trained "
                     "to the full budget"),
    ),
)}


def get_reproduction(name: str) -> Reproduction:
    """The reproduction with this id, or ValueError listing the known ones."""
    try:
        return REPRODUCTIONS[name]
    except KeyError:
        raise ValueError(f"unknown reproduction {name!r}; expected one of {', '.join(REPRODUCTIONS)}") from None


# --- running and reading back --------------------------------------------------------------------------


def judge_sweep(rep: Reproduction, store: Any, sweep_id: str, size: str | None = None) -> Outcome:
    """Judge the stored runs of one sweep with the reproduction's check."""
    runs = store.runs(sweep_id=sweep_id)
    if runs.empty:
        return Outcome(rep, None, sweep_id, size, 0)
    history = store.history(runs["id"].astype(int).tolist())
    return Outcome(rep, rep.judge(runs, history), sweep_id, size, len(runs))


def reproduce(rep: Reproduction, size: str = "small", store: Any = None, *,
              progress: Callable[[float, str], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> Outcome:
    """Run a reproduction's sweep at this size, store its runs as a tagged sweep and judge them.

    MNIST rows whose data is not on this machine come back skipped (with the reason), not failed.
    """
    from .data import DataUnavailable
    from .store import Store
    from .sweeps import choose_backend, run_sweep

    spec = rep.spec(size)
    store = store if store is not None else Store()
    backend, _why = choose_backend(spec, "auto")
    if rep.needs_mnist:
        from .data.images import mnist_available

        try:
            if not mnist_available():
                from .data import mnist

                mnist()  # downloads where allowed, else raises with what to do
        except DataUnavailable as exc:
            return Outcome(rep, None, None, size, 0, skipped=str(exc))
    sweep_id = store.create_sweep(spec.study, {**spec.to_dict(), "backend": backend, "reproduction": rep.id, "size": size})
    run_sweep(spec, store=store, backend=backend, progress=progress, should_stop=should_stop, sweep_id=sweep_id)
    return judge_sweep(rep, store, sweep_id, size)


def latest(store: Any, rep: Reproduction) -> Outcome:
    """The reproduction judged on its newest stored sweep (any size), or not run yet."""
    sweeps = store.sweeps()
    if sweeps.empty:
        return Outcome(rep, None)
    mine = sweeps[sweeps["settings"].map(lambda s: isinstance(s, dict) and s.get("reproduction") == rep.id)]
    if mine.empty:
        return Outcome(rep, None)
    newest = mine.sort_values("created_at").iloc[-1]
    return judge_sweep(rep, store, newest["id"], newest["settings"].get("size"))


def holds_text(outcome: Outcome) -> str:
    """yes, no, or why there is no answer (not run, skipped, nothing finished)."""
    if outcome.skipped:
        return _("skipped")
    if outcome.verdict is None or outcome.verdict.holds is None:
        return _("not run") if outcome.sweep_id is None else _("no result")
    return _("yes") if outcome.verdict.holds else _("no")


COLUMNS = ("reproduction", "source", "setup", "published", "lab setup", "lab", "holds", "settings", "sweep", "runs")


def table(outcomes: list[Outcome]) -> pd.DataFrame:
    """The table of reproductions: source, its setup and published figure, the lab's setup and figure, whether it holds."""
    rows = []
    for o in outcomes:
        rep = o.rep
        lab = o.verdict.lab if o.verdict is not None else (o.skipped or "")
        rows.append({
            "reproduction": rep.id, "source": _(rep.source), "setup": _(rep.setup), "published": _(rep.published),
            "lab setup": _(rep.lab_setup), "lab": lab, "holds": holds_text(o), "settings": o.size or "",
            "sweep": o.sweep_id or "", "runs": o.runs,
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))
