"""Models: linear regression from scratch, nn.Linear regression, softmax regression, an MLP builder.

Every builder takes a `torch.Generator` so initial weights depend only on the seed.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .i18n import N_, MessageError

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
}


class ScratchLinearRegression(nn.Module):
    """y = X·w + b with w drawn from randn·0.01 and b from zeros, both tracked by autograd.

    Paired with `ManualSGD`, this is the study guide's from-scratch linear regression.
    """

    def __init__(self, n_features: int, g: torch.Generator, init_std: float = 0.01):
        super().__init__()
        w = torch.randn(n_features, 1, generator=g) * init_std
        b = torch.zeros(1)
        # requires_grad makes autograd record every operation on w and b, so loss.backward() fills w.grad, b.grad.
        # nn.Parameter sets requires_grad=True and also registers them, so they are saved with the model.
        self.w = nn.Parameter(w, requires_grad=True)
        self.b = nn.Parameter(b, requires_grad=True)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return X.reshape(X.shape[0], -1) @ self.w + self.b


class ManualSGD:
    """The hand-written gradient step: p ← p − lr·p.grad, outside autograd. Same surface as a torch optimizer."""

    def __init__(self, params, lr: float):
        self.params = [p for p in params]
        self.lr = lr
        self.param_groups = [{"params": self.params, "lr": lr, "weight_decay": 0.0}]

    @torch.no_grad()
    def step(self) -> None:
        for p in self.params:
            if p.grad is not None:
                p -= self.lr * p.grad  # in place: p stays the same leaf tensor autograd tracks

    def zero_grad(self, set_to_none: bool = True) -> None:
        # Without this, backward() *adds* the new gradient to the old one: steps grow with every batch.
        for p in self.params:
            if p.grad is not None:
                p.grad.zero_()

    def state_dict(self) -> dict:
        return {"lr": self.lr}


class Dropout(nn.Module):
    """Inverted dropout: while training, zero each unit with probability p and scale survivors by 1/(1−p).

    Same as nn.Dropout, but draws its masks from `self.generator` (set by the training loop) so runs are
    reproducible and independent of the global random state.
    """

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout: {p} is not allowed; expected a float in [0, 1)")
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.p
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def linear_regression(n_features: int, g: torch.Generator, bias: bool = True) -> nn.Module:
    """Linear regression with nn.Linear (flattening any input shape)."""
    return init_weights(nn.Sequential(nn.Flatten(), nn.Linear(n_features, 1, bias=bias)), g)


def polynomial_regression(degree: int, g: torch.Generator) -> nn.Module:
    """A linear model on the features x^0..x^degree (the x^0 column is the intercept, so no bias)."""
    return linear_regression(degree + 1, g, bias=False)


def softmax_regression(n_inputs: int, n_classes: int, g: torch.Generator) -> nn.Module:
    """One linear layer giving class scores; softmax lives inside the cross-entropy loss."""
    return init_weights(nn.Sequential(nn.Flatten(), nn.Linear(n_inputs, n_classes)), g)


def mlp(
    n_inputs: int,
    n_outputs: int,
    g: torch.Generator,
    *,
    hidden: int = 64,
    depth: int = 1,
    activation: str = "relu",
    dropout: float = 0.0,
    batch_norm: bool = False,
) -> nn.Sequential:
    """Flatten → [Linear → (BatchNorm) → activation → (Dropout)] × depth → Linear."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: {activation!r} is not allowed; expected one of {'|'.join(ACTIVATIONS)}")
    layers: list[nn.Module] = [nn.Flatten()]
    width = n_inputs
    for _ in range(depth):
        layers.append(nn.Linear(width, hidden))
        if batch_norm:
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(Dropout(dropout))
        width = hidden
    layers.append(nn.Linear(width, n_outputs))
    return init_weights(nn.Sequential(*layers), g)


def init_weights(model: nn.Module, g: torch.Generator) -> nn.Module:
    """PyTorch's default Linear initialisation (uniform ±1/√fan_in), drawn from `g` instead of the global RNG."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=g)
            if module.bias is not None:
                bound = 1 / math.sqrt(module.in_features) if module.in_features > 0 else 0
                nn.init.uniform_(module.bias, -bound, bound, generator=g)
    return model


def count_params(model: nn.Module) -> int:
    """Number of trainable numbers in the model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def hidden_for_budget(budget: int, depth: int, n_inputs: int = 1, n_outputs: int = 1) -> int:
    """The hidden width whose MLP of `depth` hidden layers has about `budget` parameters (width vs depth)."""
    if depth <= 0:
        return 1
    # params(h) = (n_in + 1) h + (depth - 1)(h + 1) h + (h + 1) n_out: solve a·h² + b·h + c = budget
    a = depth - 1
    b = (n_inputs + 1) + (depth - 1) + n_outputs
    c = n_outputs - budget
    if a == 0:
        h = -c / b
    else:
        h = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    return max(1, round(h))


def weight_tensors(model: nn.Module, include_bias: bool = False) -> list[torch.Tensor]:
    """The weights that penalties and weight decay act on: trainable, biases and norm layers left out unless asked."""
    return [p for name, p in model.named_parameters() if penalised(name, p, include_bias)]


def penalised(name: str, p: torch.Tensor, include_bias: bool = False) -> bool:
    """The one rule for which parameters penalties and weight decay act on (both engines use it).

    Frozen parameters (requires_grad=False) never; biases and batch-norm scales/shifts (1-D) only with
    `include_bias`; from-scratch regression names its weight 'w'.
    """
    if not p.requires_grad:
        return False
    return include_bias or p.ndim >= 2 or name.endswith(".w") or name == "w"


def random_features(n_inputs: int, n_outputs: int, g: torch.Generator, features: int) -> nn.Sequential:
    """Flatten → a frozen random Linear (no bias, weights N(0, 1/n_inputs)) → ReLU → a trainable Linear without bias.

    Only the last layer learns (in closed form with optimizer=lstsq, or by gradient steps): a linear model on
    `features` fixed random ReLU features of the input, whose interpolation threshold is features = examples.
    """
    first = nn.Linear(n_inputs, features, bias=False)
    head = nn.Linear(features, n_outputs, bias=False)
    with torch.no_grad():
        first.weight.copy_(torch.randn(features, n_inputs, generator=g) / math.sqrt(n_inputs))
    first.weight.requires_grad_(False)
    nn.init.kaiming_uniform_(head.weight, a=math.sqrt(5), generator=g)
    return nn.Sequential(nn.Flatten(), first, nn.ReLU(), head)


class Ensemble(nn.Module):
    """R independent one-input regression models trained side by side, member r on column r of the data.

    Inputs are [n, R, features] (row i holds member r's i-th example in column r), outputs [n, R]. The members
    share no parameter, so the mean loss over [n, R] gives each member its own loss's gradient divided by R: Adam's
    steps do not depend on that scale (up to its ε), and lstsq fits each member exactly (`solve_`). `kind`
    'linear' is a linear model on the given features (a polynomial of them); 'mlp' one hidden layer of `hidden` units.
    """

    def __init__(self, members: int, n_features: int, g: torch.Generator, kind: str = "linear", hidden: int = 16,
                 activation: str = "tanh"):
        super().__init__()
        if kind not in ("linear", "mlp"):
            raise ValueError(f"ensemble kind: {kind!r} is not allowed; expected linear or mlp")
        self.kind, self.members = kind, members
        if kind == "linear":  # the polynomial's x^0 column is the intercept: no bias
            bound = 1 / math.sqrt(n_features)
            self.weight = nn.Parameter(torch.empty(members, n_features).uniform_(-bound, bound, generator=g))
            return
        self.act = ACTIVATIONS[activation]()
        layers = [init_weights(nn.Linear(n_features, hidden), g) for _ in range(members)]
        heads = [init_weights(nn.Linear(hidden, 1), g) for _ in range(members)]
        self.w1 = nn.Parameter(torch.stack([m.weight.detach().t() for m in layers]))  # [R, features, hidden]
        self.b1 = nn.Parameter(torch.stack([m.bias.detach() for m in layers]).unsqueeze(1))  # [R, 1, hidden]
        self.w2 = nn.Parameter(torch.stack([m.weight.detach().t() for m in heads]))  # [R, hidden, 1]
        self.b2 = nn.Parameter(torch.stack([m.bias.detach() for m in heads]).unsqueeze(1))  # [R, 1, 1]

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.kind == "linear":
            return (X * self.weight).sum(-1)
        h = X.transpose(0, 1)  # [R, n, features]
        h = self.act(torch.baddbmm(self.b1, h, self.w1))
        return torch.baddbmm(self.b2, h, self.w2).squeeze(-1).t()

    @torch.no_grad()
    def solve_(self, X: torch.Tensor, y: torch.Tensor, l2: float = 0.0) -> None:
        """Fit every member in closed form (`core.solve.least_squares`, batched over members); linear members only."""
        from .solve import least_squares

        if self.kind != "linear":
            raise MessageError(N_("optimizer: lstsq fits linear members in closed form; train model=mlp with adam"))
        W = least_squares(X.transpose(0, 1), y.t().unsqueeze(-1), l2)  # [R, features, 1]
        self.weight.copy_(W.squeeze(-1).to(self.weight.dtype))
