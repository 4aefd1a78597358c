"""The module engine: one `nn.Module` trained with a torch optimizer (or the hand-written step).

It trains anything a study can build: the from-scratch model with its manual step, batch norm, augmentation,
accumulating gradients (clear_grad=False). With batch norm, an epoch's last batch is left out when it holds one
example (its batch statistics would be undefined), and batch_size=1 is refused by name. Frozen parameters (requires_grad=False) are left out of the
optimizer, the penalties and the weight decay. In-memory data is batched by indexing tensors with a
shuffled permutation (no per-sample Dataset calls). optimizer='lstsq' takes no steps: each epoch is the exact
closed-form fit of the last layer (`core.solve`), with the L2 penalty as its ridge.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..data.bundle import DataBundle
from ..models import Dropout, weight_tensors
from ..solve import solve_
from ..training import TrainConfig, batches, evaluate, loss_fn, make_optimizer, min_batch


class ModuleEngine:
    """One model (M = 1) on its data, with its optimizer, penalty and seeded generators."""

    def __init__(self, model: nn.Module, data: DataBundle, cfg: TrainConfig, optimizer: Any = None):
        self.module, self.data, self.cfg = model, data, cfg
        self.M, self.task = 1, data.task
        self.split_names = [tuple(data.splits())]
        self.criterion = loss_fn(data.task, cfg.criterion)
        self.optimizer = optimizer or make_optimizer(model, cfg)
        self.weights = weight_tensors(model, include_bias=cfg.decay_bias)
        self.min_batch = min_batch(model, cfg.batch_size, len(data.train))  # batch norm: a last batch of one is left out
        self.order_g = torch.Generator().manual_seed(cfg.seed)
        self.noise_g = torch.Generator().manual_seed(cfg.seed + 1)
        dropout_g = torch.Generator().manual_seed(cfg.seed + 2)
        for module in model.modules():
            if isinstance(module, Dropout):
                module.generator = dropout_g

    def train_epoch(self, active: torch.Tensor) -> None:
        """One pass over the shuffled training set in mini-batches (nothing when the model is not active)."""
        if not bool(active[0]):
            return
        if self.cfg.optimizer == "lstsq":  # the exact minimiser: the same whichever epoch it is
            solve_(self.module, self.data.train.X, self.data.train.y, self.task, self.cfg.penalty.l2)
            return
        model, opt, cfg, criterion = self.module, self.optimizer, self.cfg, self.criterion
        penalty, weights, augment = cfg.penalty, self.weights, cfg.augment
        add_penalty, proximal = penalty.active, penalty.proximal
        X, y = self.data.train.X, self.data.train.y
        model.train()
        for idx in batches(len(X), cfg.batch_size, self.order_g if cfg.shuffle else None, self.min_batch):
            xb, yb = X[idx], y[idx]
            if augment is not None:
                xb = augment(xb, self.noise_g)
            if cfg.clear_grad:
                opt.zero_grad()
            loss = criterion(model(xb), yb)
            if add_penalty:
                loss = loss + penalty(weights)
            loss.backward()
            opt.step()
            if proximal:
                penalty.proximal_step(weights, opt.param_groups[0]["lr"])

    def train_epochs(self, active: torch.Tensor, counts: torch.Tensor) -> None:
        """counts[0] epochs in a row (a history of every k epochs evaluates only after them)."""
        for _ in range(int(counts[0]) if bool(active[0]) else 0):
            self.train_epoch(active)

    def evaluate(self) -> dict[str, torch.Tensor]:
        """{split}_loss and {split}_acc of every split, in eval mode, as tensors of one value."""
        out: dict[str, torch.Tensor] = {}
        for name, split in self.data.splits().items():
            for key, value in evaluate(self.module, split, self.task, self.cfg.criterion).items():
                out[f"{name}_{key}"] = torch.tensor([value], dtype=torch.float64)
        return out

    def snapshot(self, mask: torch.Tensor, into: Any = None) -> Any:
        """A copy of the weights (and buffers) when mask[0] is set, else `into` unchanged."""
        if not bool(mask[0]):
            return into
        return {k: v.detach().clone() for k, v in self.module.state_dict().items()}

    def restore(self, snapshot: Any, mask: torch.Tensor) -> None:
        """Put a snapshot's weights back when mask[0] is set."""
        if bool(mask[0]) and snapshot is not None:
            self.module.load_state_dict(snapshot)

    def model(self, m: int = 0) -> nn.Module:
        """The model itself (it holds the current weights)."""
        return self.module
