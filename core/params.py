"""Study parameters: declared once, validated at the edge.

A `Param` carries a name, a default, an allowed range or set of choices and a
help text. Studies pick the shared definitions in `P` (overriding a default or a
range where a study needs another), and every front end reads them from there:
the CLI parses `--set key=value` with `Param.parse`, the pages build sliders from
`low`/`high`/`log`, and `python -m core studies` prints `describe()`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

from core.i18n import N_, MessageError, Msg


_PLAIN = (str, bool, int, float)  # values that need no unwrapping (the common case, checked first)


@dataclass(frozen=True)
class Param:
    """One named, typed, bounded study parameter."""

    name: str
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    log: bool = False  # sliders and sweep grids use a log scale (0 stays allowed)
    step: float | None = None  # slider step hint for numbers
    max_len: int | None = None  # free text (a str without choices): at most this many characters
    pattern: str | None = None  # free text: the whole value must match this regular expression
    pattern_words: str | None = None  # free text: the pattern in words, for messages ('letters, digits and ./~+-_')
    # Left out of a run's stored config while at its default, and taken as its default where a run record lacks it:
    # a parameter most runs never use (a CSV's file and columns), or one added after runs were stored and exported.
    optional: bool = False

    @property
    def kind(self) -> type:
        """The Python type of the value: bool, int, float or str."""
        return type(self.default)

    @property
    def free_text(self) -> bool:
        """Text without a list of choices (a file name, column names): typed, never swept or picked from a list."""
        return self.kind is str and self.choices is None

    def replace(self, **changes: Any) -> "Param":
        """A copy with some fields changed (a study's own default or range)."""
        new = dataclasses.replace(self, **changes)
        new.validate(new.default)  # a study may not declare an invalid default
        return new

    def describe(self) -> str:
        """Allowed values in words, e.g. 'float in [1e-05, 10], log scale'."""
        return str(self.allowed())

    def allowed(self) -> Msg:
        """`describe()` as a message a page translates."""
        if self.choices is not None:
            return Msg(N_("one of {choices}"), choices="|".join(self.choices))
        if self.free_text:
            if self.pattern_words:
                return Msg(N_("printable text of at most {n} characters: {words}"), n=self.max_len, words=self.pattern_words)
            return Msg(N_("printable text of at most {n} characters"), n=self.max_len)
        if self.kind is bool:
            return Msg(N_("true|false"))
        bounds = dict(kind=self.kind.__name__, low=_fmt(self.low), high=_fmt(self.high))
        return Msg(N_("{kind} in [{low}, {high}], log scale") if self.log else N_("{kind} in [{low}, {high}]"), **bounds)

    def validate(self, value: Any) -> Any:
        """Return `value` coerced to this parameter's type, or raise ValueError naming it (for any value)."""
        try:
            return self._coerce(value)
        except (TypeError, ValueError, OverflowError, RuntimeError, AttributeError):
            # huge ints, tensors and arrays of several elements, objects without a number inside: all named alike
            raise self._error(value) from None

    def _coerce(self, value: Any) -> Any:
        kind = self.kind
        if type(value) not in _PLAIN and hasattr(value, "item") and not isinstance(value, (str, bytes, bool, int, float)):
            value = value.item()  # numpy / torch scalars; arrays of several elements raise, and are refused
        if kind is bool:
            if isinstance(value, str):
                return self.parse(value)
            if isinstance(value, (bool, int)) and value in (0, 1):
                return bool(value)
            raise ValueError
        if kind is str:
            if self.free_text:
                return self._text(value)
            if not isinstance(value, str) or value not in (self.choices or ()):
                raise ValueError
            return value
        if isinstance(value, str):
            return self.parse(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            value = int(value)
        else:
            value = float(value)  # OverflowError for ints beyond a float
            if not math.isfinite(value):
                raise ValueError
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ValueError
        return value

    def _text(self, value: Any) -> str:
        """Free text: a printable string of bounded length (spaces at the ends dropped) matching the pattern."""
        if not isinstance(value, str) or len(value) > 4 * (self.max_len or 0) + 16:
            raise ValueError  # refused before any work on a huge text
        value = value.strip()
        if len(value) > (self.max_len or 0) or not value.isprintable():
            raise ValueError
        if value and self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise ValueError
        return value

    def parse(self, text: str) -> Any:
        """Parse a command-line string into a valid value."""
        text = text.strip()
        kind = self.kind
        try:
            if kind is bool:
                lowered = text.lower()
                if lowered in ("true", "1", "yes", "on"):
                    return True
                if lowered in ("false", "0", "no", "off"):
                    return False
                raise ValueError
            if kind is int:
                number = float(text)
                if not number.is_integer():
                    raise ValueError
                return self.validate(int(number))
            if kind is float:
                return self.validate(float(text))
        except (ValueError, OverflowError):
            raise self._error(text) from None
        return self.validate(text)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description (for `python -m core studies --format json`)."""
        return {
            "name": self.name,
            "type": self.kind.__name__,
            "default": self.default,
            "low": self.low,
            "high": self.high,
            "choices": list(self.choices) if self.choices else None,
            "log": self.log,
            "help": self.help,
            **({"max_len": self.max_len, "pattern": self.pattern} if self.free_text else {}),
            **({"optional": True} if self.optional else {}),
        }

    def _error(self, value: Any) -> ValueError:
        return MessageError(Msg(N_("{name}: {value} is not allowed; expected {allowed}"), name=self.name,
                                value=short_repr(value), allowed=self.allowed()))


def short_repr(value: Any, limit: int = 60) -> str:
    """A value as one short line for a message: huge ints, tensors and long text stay readable."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of {len(str(abs(value))) if value.bit_length() < 10_000 else 'over 3000'} digits"
    try:
        text = " ".join(repr(value).split())  # tensors and arrays print over several lines
    except Exception:  # noqa: BLE001 - an object whose repr fails is still refused by name
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fmt(x: float | None) -> str:
    if x is None:
        return "-inf"
    return f"{x:.12g}"  # all digits of e.g. 2**31 - 1: the printed bound is the enforced one


@dataclass(frozen=True)
class _Shared:
    """The shared parameter definitions: one name per idea across all studies."""

    seed: Param = Param("seed", 0, "Seed for every random draw (data, initialisation, batch order, dropout).", 0, 2**31 - 1)
    epochs: Param = Param("epochs", 50, "Passes over the training set.", 1, 2000)
    lr: Param = Param("lr", 0.03, "Learning rate of the optimizer.", 1e-5, 10.0, log=True)
    batch_size: Param = Param("batch_size", 32, "Mini-batch size (larger than the training set means full batch).", 1, 8192, log=True)
    optimizer: Param = Param("optimizer", "sgd", "sgd, sgd with momentum 0.9, adam or adamw.", choices=("sgd", "momentum", "adam", "adamw"))
    n_train: Param = Param("n_train", 100, "Number of training examples generated.", 2, 100_000, log=True)
    n_test: Param = Param("n_test", 100, "Number of test examples generated.", 2, 100_000, log=True)
    noise: Param = Param("noise", 0.1, "Noise level of the generated data (std of the added noise).", 0.0, 5.0)
    degree: Param = Param("degree", 3, "Polynomial degree: 3 means features x^0..x^3.", 0, 20)
    n_features: Param = Param("n_features", 5, "Number of input features.", 1, 1000)
    weight_decay: Param = Param("weight_decay", 0.0, "Weight decay in the optimizer (decoupled for adamw).", 0.0, 100.0, log=True)
    decay_bias: Param = Param("decay_bias", False, "Apply weight decay and penalties to biases too (usually excluded).")
    l1: Param = Param("l1", 0.0, "Strength of the L1 penalty λ·Σ|w| added to the loss.", 0.0, 100.0, log=True)
    l1_mode: Param = Param("l1_mode", "proximal", "How L1 is applied: 'loss' adds its subgradient, 'proximal' soft-thresholds after each step (exact zeros).", choices=("proximal", "loss"))
    l2: Param = Param("l2", 0.0, "Strength of the L2 penalty λ/2·Σw² added to the loss.", 0.0, 100.0, log=True)
    lp: Param = Param("lp", 0.0, "Strength of the general p-norm penalty λ/p·Σ|w|^p added to the loss.", 0.0, 100.0, log=True)
    p: Param = Param("p", 2.0, "Exponent p of the p-norm penalty.", 0.5, 4.0)
    dropout: Param = Param("dropout", 0.0, "Probability of zeroing each hidden unit while training (inverted dropout).", 0.0, 0.95)
    hidden: Param = Param("hidden", 64, "Units in each hidden layer.", 1, 4096, log=True)
    depth: Param = Param("depth", 1, "Number of hidden layers (0 is a linear model).", 0, 16)
    activation: Param = Param("activation", "relu", "Nonlinearity of the hidden layers.", choices=("relu", "tanh", "sigmoid", "leaky_relu"))
    batch_norm: Param = Param("batch_norm", False, "Batch normalisation after each hidden linear layer (needs batch_size >= 2; an epoch's last batch of one example is left out).")
    dataset: Param = Param("dataset", "digits", "Data set: digits (8x8, offline), mnist (28x28), a 2-D toy set, or csv: a table of "
                           "your own (data_path, x, y).", choices=("digits", "mnist", "moons", "circles", "xor", "spiral", "gaussians", "csv"))
    n_classes: Param = Param("n_classes", 2, "Number of classes of the spiral and gaussians sets (arms, blobs); the other 2-D sets "
                             "have 2, a CSV's come from its label column.", 2, 5, optional=True)
    # A table of your own (core.data.upload): a file, its columns, and what pins its content, so a stored run says which
    # data it came from without holding it. Free text is bounded and checked: a path of plain file-name characters,
    # column names of printable text.
    data_path: Param = Param("data_path", "", "dataset=csv: the CSV file (the command line reads it; pages record the uploaded "
                             "file's name).", max_len=300, pattern=r"[\w./~+-]+", optional=True,
                             pattern_words="letters, digits and . / ~ + - _ (no spaces or shell characters)")
    x: Param = Param("x", "", "dataset=csv: the feature column(s), comma-separated (two for classification, one for regression).",
                     max_len=201, pattern=r"[^,]{1,100}(,[^,]{1,100})?", optional=True,
                     pattern_words="one or two column names of at most 100 characters, separated by a comma")
    y: Param = Param("y", "", "dataset=csv: the label column (classes) or target column (regression).", max_len=100,
                     optional=True)
    data_rows: Param = Param("data_rows", 0, "dataset=csv: the table's number of data rows (recorded with the run and checked "
                             "when it is read again; 0 = not recorded yet).", 0, 100_000, optional=True)
    data_hash: Param = Param("data_hash", "", "dataset=csv: the first 16 hex digits of the file's SHA-256 (recorded with the run; "
                             "a re-run refuses a file whose content differs).", max_len=16, pattern=r"[0-9a-f]{16}", optional=True,
                             pattern_words="16 hex digits (0-9, a-f)")
    test_fraction: Param = Param("test_fraction", 0.25, "dataset=csv: fraction of the table's rows held out as the test set "
                                 "(the rest is the training set).", 0.1, 0.9, optional=True)
    model: Param = Param("model", "mlp", "Model family.", choices=("softmax", "mlp"))
    patience: Param = Param("patience", 0, "Early stopping: epochs without val_loss improvement before stopping (0 = off).", 0, 1000)
    min_delta: Param = Param("min_delta", 0.0, "Early stopping: smallest decrease of val_loss that counts as improvement.", 0.0, 10.0)
    restore_best: Param = Param("restore_best", True, "Early stopping: restore the weights of the best epoch at the end.")
    augment: Param = Param("augment", False, "Augment training images: random rotation (digits), or rotation, shift and pixel noise (MNIST).")
    train_size: Param = Param("train_size", 1.0, "Fraction of the training set used (the rest is left out).", 0.01, 1.0)
    val_fraction: Param = Param("val_fraction", 0.0, "Fraction of the training set held out for validation (0 = no validation set).", 0.0, 0.9)
    label_noise: Param = Param("label_noise", 0.0, "Fraction of training labels replaced by random classes.", 0.0, 1.0)
    clear_grad: Param = Param("clear_grad", True, "Zero the gradients before every step (off shows them accumulating).")
    function: Param = Param("function", "sin", "Target function to fit.", choices=("sin", "abs", "step"))
    x_range: Param = Param("x_range", "normal", "Where x is drawn: normal = N(0, 1) (d2l's polynomial), a..b = uniform on "
                           "[a, b] (scikit-learn's underfitting example: 0..1).", choices=("normal", "0..1", "-1..1", "-3..3"))


P = _Shared()


def shared_params() -> dict[str, Param]:
    """Every shared parameter by name."""
    return {f.name: getattr(P, f.name) for f in dataclasses.fields(P)}


def table_params(x_help: str, y_help: str) -> tuple[Param, ...]:
    """The parameters `dataset=csv` adds to a study (core.data.upload.CSV_PARAMS), with its own help for x and y."""
    return (P.data_path, P.x.replace(help=x_help), P.y.replace(help=y_help), P.data_rows, P.data_hash, P.test_fraction)
