"""Neural-network basics, computed for real: activations and their derivatives, softmax with a temperature,
vanishing gradients with depth, and a tiny network's forward and backward pass by hand against autograd.

Every function returns plain tensors or tidy DataFrames, so the basics page only draws them.
"""

from __future__ import annotations

import math
from typing import Sequence

import pandas as pd
import torch
from torch import nn

from .data.bundle import generator
from .i18n import N_, MessageError
from .models import ACTIVATIONS, mlp
from .params import P, Param

ACTIVATION_NAMES: tuple[str, ...] = ("sigmoid", "tanh", "relu", "leaky_relu")
LEAKY_SLOPE = 0.01  # nn.LeakyReLU's default negative slope, used by core.models.mlp
INITS: tuple[str, ...] = ("he", "xavier", "pytorch")
INIT_HELP = {
    "he": N_("He/Kaiming normal, std √(2/fan_in): made for ReLU (it keeps the signal's size through ReLU layers)."),
    "xavier": N_("Glorot/Xavier normal, std √(2/(fan_in+fan_out)): made for tanh and sigmoid."),
    "pytorch": N_("nn.Linear's default, uniform ±1/√fan_in: smaller than both."),
}


# The settings of this module's computations, declared once: the basics page builds its widgets from them.
PARAMS: dict[str, Param] = {p.name: p for p in (
    Param("temperature", 1.0, "Softmax temperature T: the probabilities are softmax(z / T).", 0.05, 20.0, log=True),
    P.depth.replace(default=10, low=1, high=16, help="Largest number of hidden layers measured (every depth from 1 up to it)."),
    Param("init", "he", "How the weights start: " + " ".join(INIT_HELP.values()), choices=INITS),
    P.hidden.replace(default=32, low=2, high=256, help="Units in each hidden layer of the measured networks."),
    Param("x1", 0.5, "First input of the one sample.", -3.0, 3.0),
    Param("x2", -1.0, "Second input of the one sample.", -3.0, 3.0),
    Param("target", 1.0, "Target y of the one sample.", -3.0, 3.0),
    P.activation.replace(default="sigmoid"),
    P.seed,
)}


# --- activations ------------------------------------------------------------------------------


def activation_module(name: str) -> nn.Module:
    """The torch module for an activation name (the same classes core.models.mlp uses)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: {name!r} is not allowed; expected one of {'|'.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def derivative_formula(name: str, z: torch.Tensor) -> torch.Tensor:
    """f'(z) from the textbook formula (no autograd); at z = 0 ReLU takes 0 and LeakyReLU the slope, as torch does."""
    if name == "sigmoid":
        s = torch.sigmoid(z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - torch.tanh(z) ** 2
    if name == "relu":
        return (z > 0).to(z.dtype)
    if name == "leaky_relu":
        return torch.where(z > 0, torch.ones_like(z), torch.full_like(z, LEAKY_SLOPE))
    raise ValueError(f"activation: {name!r} is not allowed; expected one of {'|'.join(ACTIVATION_NAMES)}")


def derivative_autograd(name: str, z: torch.Tensor) -> torch.Tensor:
    """f'(z) by autograd: each output depends only on its own input, so the gradient of the sum is f'(z)."""
    z = z.detach().clone().requires_grad_(True)
    activation_module(name)(z).sum().backward()
    return z.grad.detach()


def activation_table(x_min: float = -5.0, x_max: float = 5.0, steps: int = 201,
                     names: Sequence[str] = ACTIVATION_NAMES) -> pd.DataFrame:
    """A row per (activation, x): value f(x), derivative by autograd and by formula, and their difference."""
    if not x_min < x_max or steps < 2:
        raise ValueError("activation range: need x_min < x_max and at least 2 steps")
    x = torch.linspace(x_min, x_max, steps, dtype=torch.float64)
    frames = []
    for name in names:
        with torch.no_grad():
            value = activation_module(name)(x)
        auto, formula = derivative_autograd(name, x), derivative_formula(name, x)
        frames.append(pd.DataFrame({
            "activation": name, "x": x.numpy(), "value": value.numpy(), "derivative": auto.numpy(),
            "derivative_formula": formula.numpy(), "abs_diff": (auto - formula).abs().numpy(),
        }))
    return pd.concat(frames, ignore_index=True)


def derivative_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per activation: the largest derivative (how much a layer can pass back at best) and autograd vs formula."""
    out = table.groupby("activation", sort=False).agg(max_derivative=("derivative", "max"), max_abs_diff=("abs_diff", "max"))
    return out.reset_index()


# --- softmax with a temperature ---------------------------------------------------------------


def parse_logits(text: str, max_len: int = 12) -> list[float]:
    """Logits typed as '2, 1, 0.1'; ValueError saying what is wrong."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    if not 2 <= len(parts) <= max_len:
        raise MessageError(N_("logits: give between 2 and {limit} numbers separated by commas (got {n})"), limit=max_len, n=len(parts))
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise MessageError(N_("logits: {text!r} is not a list of numbers, e.g. 2, 1, 0.1, -1"), text=text) from None
    if not all(math.isfinite(v) and abs(v) <= 1e4 for v in values):
        raise MessageError(N_("logits: every number must be finite and at most 10000 in size"))
    return values


def softmax_t(logits: Sequence[float] | torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(z / T): T < 1 sharpens towards the largest logit, T > 1 flattens towards uniform."""
    if not temperature > 0:
        raise ValueError(f"temperature: {temperature} is not allowed; expected a number > 0")
    z = torch.as_tensor(logits, dtype=torch.float64)
    return torch.softmax(z / temperature, dim=0)


def entropy(p: torch.Tensor) -> float:
    """Shannon entropy in nats (0 for one-hot, log k for uniform)."""
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def softmax_table(logits: Sequence[float], temperature: float) -> pd.DataFrame:
    """A row per class: its logit, exp(z/T) and probability at temperature T."""
    z = torch.as_tensor(logits, dtype=torch.float64)
    p = softmax_t(z, temperature)
    return pd.DataFrame({"class": [f"class {i}" for i in range(len(z))], "logit": z.numpy(),
                         "probability": p.numpy(), "temperature": temperature})


def softmax_sweep(logits: Sequence[float], temperatures: Sequence[float] | None = None) -> pd.DataFrame:
    """Probability of every class against the temperature (log-spaced from 0.05 to 20 by default)."""
    temps = list(temperatures) if temperatures is not None else torch.logspace(math.log10(0.05), math.log10(20), 61).tolist()
    rows = []
    for t in temps:
        p = softmax_t(logits, t)
        rows += [{"temperature": t, "class": f"class {i}", "probability": float(pi)} for i, pi in enumerate(p)]
    return pd.DataFrame(rows)


# --- vanishing gradients ----------------------------------------------------------------------


def init_network(model: nn.Module, init: str, g: torch.Generator) -> nn.Module:
    """Re-initialise every Linear: He, Xavier (weights normal, biases zero) or PyTorch's default (kept as built)."""
    if init not in INITS:
        raise ValueError(f"init: {init!r} is not allowed; expected one of {'|'.join(INITS)}")
    if init == "pytorch":
        return model
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            if init == "he":
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=g)
            else:
                nn.init.xavier_normal_(layer.weight, generator=g)
            nn.init.zeros_(layer.bias)
    return model


def layer_gradient_norms(activation: str, depth: int, *, width: int = 32, n: int = 64, n_inputs: int = 10,
                         seed: int = 0, init: str = "he") -> list[float]:
    """‖∂L/∂W‖ of every Linear layer (first to last) of an MLP with `depth` hidden layers after one backward pass.

    Inputs and regression targets are standard normal; the loss is the mean squared error.
    """
    if depth < 1:
        raise ValueError(f"depth: {depth} is not allowed; expected at least 1 hidden layer")
    g = generator(seed, "gradient-depth")
    model = init_network(mlp(n_inputs, 1, g, hidden=width, depth=depth, activation=activation), init, g)
    X = torch.randn(n, n_inputs, generator=g)
    y = torch.randn(n, 1, generator=g)
    loss = ((model(X) - y) ** 2).mean()
    loss.backward()
    return [float(m.weight.grad.norm()) for m in model.modules() if isinstance(m, nn.Linear)]


def gradient_norms(max_depth: int, activations: Sequence[str] = ACTIVATION_NAMES, *, seeds: Sequence[int] = (0, 1, 2),
                   width: int = 32, n: int = 64, init: str = "he") -> pd.DataFrame:
    """A row per (activation, depth 1..max_depth, seed, layer): the weight-gradient norm of that layer.

    Layer 1 is the first layer, the one the gradient reaches last on its way back.
    """
    if not 1 <= max_depth <= 64:
        raise ValueError(f"depth: {max_depth} is not allowed; expected an int in [1, 64]")
    rows = []
    for act in activations:
        for depth in range(1, max_depth + 1):
            for seed in seeds:
                norms = layer_gradient_norms(act, depth, width=width, n=n, seed=seed, init=init)
                rows += [{"activation": act, "depth": depth, "seed": seed, "layer": i + 1, "grad_norm": v}
                         for i, v in enumerate(norms)]
    return pd.DataFrame(rows)


def first_layer_summary(norms: pd.DataFrame) -> pd.DataFrame:
    """Per activation and depth: mean, min and max over seeds of the first layer's gradient norm."""
    first = norms[norms["layer"] == 1]
    out = first.groupby(["activation", "depth"], sort=False)["grad_norm"].agg(["mean", "min", "max"]).reset_index()
    return out.rename(columns={"mean": "grad_norm", "min": "grad_min", "max": "grad_max"})


def gradient_table(norms: pd.DataFrame, depth: int) -> pd.DataFrame:
    """Per activation at `depth`: first-layer gradient norm, the same at depth 1, and their ratio."""
    s = first_layer_summary(norms)
    if depth not in set(s["depth"]):
        raise ValueError(f"depth: {depth} was not measured; measured depths are {sorted(set(s['depth']))}")
    at = s[s["depth"] == depth].set_index("activation")["grad_norm"]
    one = s[s["depth"] == 1].set_index("activation")["grad_norm"]
    return pd.DataFrame({
        "activation": at.index,
        "depth": depth,
        "first-layer gradient norm": at.values,
        "at depth 1": one.reindex(at.index).values,
        "ratio to depth 1": (at / one.reindex(at.index)).values,
    })


# --- a tiny network by hand -------------------------------------------------------------------


def tiny_weights(seed: int = 0, n_in: int = 2, n_hidden: int = 3) -> dict[str, torch.Tensor]:
    """Weights of a n_in–n_hidden–1 network, drawn (float64) from a seeded generator: W1, b1, W2, b2."""
    g = generator(seed, "tiny-network")
    return {
        "W1": torch.randn(n_hidden, n_in, generator=g, dtype=torch.float64),
        "b1": torch.randn(n_hidden, generator=g, dtype=torch.float64) * 0.5,
        "W2": torch.randn(1, n_hidden, generator=g, dtype=torch.float64),
        "b2": torch.randn(1, generator=g, dtype=torch.float64) * 0.5,
    }


FORMULAS = {
    "z1": "W1·x + b1", "h": "f(z1)", "ŷ": "W2·h + b2", "L": "(ŷ − y)²",
    "∂L/∂ŷ": "2(ŷ − y)", "∂L/∂W2": "∂L/∂ŷ · hᵀ", "∂L/∂b2": "∂L/∂ŷ", "∂L/∂h": "W2ᵀ · ∂L/∂ŷ",
    "∂L/∂z1": "∂L/∂h ⊙ f′(z1)", "∂L/∂W1": "∂L/∂z1 · xᵀ", "∂L/∂b1": "∂L/∂z1", "∂L/∂x": "W1ᵀ · ∂L/∂z1",
}


def manual_pass(x: torch.Tensor, target: float, w: dict[str, torch.Tensor], activation: str) -> dict[str, torch.Tensor]:
    """Forward and backward by the chain rule, written out (no autograd): every value and gradient by name."""
    with torch.no_grad():
        z1 = w["W1"] @ x + w["b1"]
        h = activation_module(activation)(z1)
        y_hat = w["W2"] @ h + w["b2"]
        loss = ((y_hat - target) ** 2).sum()
        d_yhat = 2 * (y_hat - target)  # (1,)
        d_W2 = torch.outer(d_yhat, h)  # (1, hidden)
        d_b2 = d_yhat
        d_h = w["W2"].T @ d_yhat  # (hidden,)
        d_z1 = d_h * derivative_formula(activation, z1)
        d_W1 = torch.outer(d_z1, x)  # (hidden, n_in)
        d_b1 = d_z1
        d_x = w["W1"].T @ d_z1
    return {"z1": z1, "h": h, "ŷ": y_hat, "L": loss.reshape(1), "∂L/∂ŷ": d_yhat, "∂L/∂W2": d_W2, "∂L/∂b2": d_b2,
            "∂L/∂h": d_h, "∂L/∂z1": d_z1, "∂L/∂W1": d_W1, "∂L/∂b1": d_b1, "∂L/∂x": d_x}


def autograd_pass(x: torch.Tensor, target: float, w: dict[str, torch.Tensor], activation: str) -> dict[str, torch.Tensor]:
    """The same quantities from autograd: one loss.backward(), intermediate gradients kept with retain_grad()."""
    p = {k: v.detach().clone().requires_grad_(True) for k, v in w.items()}
    x = x.detach().clone().requires_grad_(True)
    z1 = p["W1"] @ x + p["b1"]
    h = activation_module(activation)(z1)
    y_hat = p["W2"] @ h + p["b2"]
    for t in (z1, h, y_hat):
        t.retain_grad()
    loss = ((y_hat - target) ** 2).sum()
    loss.backward()
    return {"z1": z1.detach(), "h": h.detach(), "ŷ": y_hat.detach(), "L": loss.detach().reshape(1),
            "∂L/∂ŷ": y_hat.grad, "∂L/∂W2": p["W2"].grad, "∂L/∂b2": p["b2"].grad, "∂L/∂h": h.grad,
            "∂L/∂z1": z1.grad, "∂L/∂W1": p["W1"].grad, "∂L/∂b1": p["b1"].grad, "∂L/∂x": x.grad}


def tiny_pass(x: Sequence[float] = (0.5, -1.0), target: float = 1.0, activation: str = "sigmoid", seed: int = 0,
              n_hidden: int = 3) -> pd.DataFrame:
    """A 2–n_hidden–1 network on one sample: a row per entry of every value and gradient, by hand and by autograd.

    Columns: pass (forward/backward), quantity, entry, formula, by_hand, autograd, abs_diff.
    """
    xt = torch.as_tensor(list(x), dtype=torch.float64)
    if xt.ndim != 1 or len(xt) < 1 or not torch.isfinite(xt).all() or not math.isfinite(target):
        raise ValueError("x and target: expected finite numbers")
    w = tiny_weights(seed, len(xt), n_hidden)
    hand, auto = manual_pass(xt, target, w, activation), autograd_pass(xt, target, w, activation)
    rows = []
    for name, value in hand.items():
        a = auto[name]
        for idx in torch.cartesian_prod(*[torch.arange(s) for s in value.shape]).reshape(-1, value.ndim).tolist():
            entry = "[" + ",".join(str(i + 1) for i in idx) + "]"
            hv, av = float(value[tuple(idx)]), float(a[tuple(idx)])
            rows.append({"pass": "backward" if name.startswith("∂") else "forward", "quantity": name, "entry": entry,
                         "formula": FORMULAS[name], "by_hand": hv, "autograd": av, "abs_diff": abs(hv - av)})
    return pd.DataFrame(rows)


def weight_frame(seed: int = 0, n_in: int = 2, n_hidden: int = 3) -> pd.DataFrame:
    """The tiny network's weights as a table (name, entry, value)."""
    rows = []
    for name, t in tiny_weights(seed, n_in, n_hidden).items():
        for idx in torch.cartesian_prod(*[torch.arange(s) for s in t.shape]).reshape(-1, t.ndim).tolist():
            rows.append({"weight": name, "entry": "[" + ",".join(str(i + 1) for i in idx) + "]", "value": float(t[tuple(idx)])})
    return pd.DataFrame(rows)


# --- why nonlinearity matters -----------------------------------------------------------------


def toy_points(dataset: str, n_train: int, n_test: int, noise: float, seed: int, split: str = "train") -> pd.DataFrame:
    """The points of a 2-D set exactly as the classification study draws them: columns x1, x2, label (as text)."""
    from .data import toy_bundle

    bundle = toy_bundle(dataset, n_train, n_test, noise, seed)
    part = bundle.train if split == "train" else bundle.test
    X, y = part.X.numpy(), part.y.numpy()
    return pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "label": [str(int(v)) for v in y]})
