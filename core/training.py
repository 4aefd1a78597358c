"""The one training loop. Every strategy plugs into it instead of forking it:

- penalties (L1, L2, p-norm) are added to the loss (`core.penalties.Penalty`);
- weight decay is an optimizer option, biases excluded unless `decay_bias`;
- dropout and batch norm are model options (`core.models`);
- augmentation is a transform applied to training batches only;
- early stopping, progress and cancel are callbacks at epoch end (`core.callbacks`).

In-memory data is batched by indexing tensors with a shuffled permutation (no per-sample Dataset calls).
After every epoch each split is evaluated in eval mode, giving a tidy history of
(epoch, split, loss, acc). A NaN or infinite loss ends the run with status 'diverged'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .callbacks import Callback, TrainState
from .data.bundle import DataBundle, Split
from .models import Dropout, ManualSGD, weight_tensors
from .penalties import Penalty

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "manual")
EVAL_CHUNK = 8192


@dataclass(frozen=True)
class TrainConfig:
    """Settings of the loop itself (a study turns its config into one of these)."""

    epochs: int = 10
    lr: float = 0.01
    batch_size: int = 32
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0
    decay_bias: bool = False
    penalty: Penalty = field(default_factory=Penalty)
    shuffle: bool = True
    clear_grad: bool = True
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: {self.optimizer!r} is not allowed; expected one of {'|'.join(OPTIMIZERS)}")


@dataclass
class FitResult:
    """What a training run produced."""

    status: str  # 'ok', 'diverged' or 'cancelled'
    metrics: dict[str, float]
    log: list[dict[str, float]]  # one dict per epoch
    best_epoch: int | None = None

    @property
    def history(self) -> pd.DataFrame:
        """Tidy history: a row per epoch × split with loss and acc (acc NaN for regression)."""
        return history_frame(self.log)


def history_frame(log: Sequence[dict[str, float]]) -> pd.DataFrame:
    """Turn per-epoch dicts (train_loss, val_acc, ...) into rows of (epoch, split, loss, acc)."""
    rows = []
    for rec in log:
        for split in ("train", "val", "test"):
            if f"{split}_loss" in rec:
                rows.append({"epoch": int(rec["epoch"]), "split": split, "loss": rec[f"{split}_loss"], "acc": rec.get(f"{split}_acc", math.nan)})
    return pd.DataFrame(rows, columns=["epoch", "split", "loss", "acc"])


def make_optimizer(model: nn.Module, cfg: TrainConfig):
    """The optimizer with two parameter groups: decayed weights, and biases/norm parameters without decay."""
    if cfg.optimizer == "manual":
        if cfg.weight_decay:
            raise ValueError("weight_decay: the manual gradient step has no weight decay; use a penalty instead")
        return ManualSGD(model.parameters(), cfg.lr)
    decayed = weight_tensors(model, include_bias=cfg.decay_bias)
    decayed_ids = {id(p) for p in decayed}
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in decayed_ids]
    groups = [{"params": decayed, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr)
    if cfg.optimizer == "momentum":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr)
    return torch.optim.AdamW(groups, lr=cfg.lr)


def loss_fn(task: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Mean squared error for regression, mean cross-entropy for classification."""
    return F.mse_loss if task == "regression" else F.cross_entropy


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, task: str) -> dict[str, float]:
    """Mean loss (and accuracy for classes) of `model` on `split`, in eval mode."""
    was_training = model.training
    model.eval()
    total_loss, correct, n = 0.0, 0, len(split)
    for start in range(0, n, EVAL_CHUNK):
        X, y = split.X[start : start + EVAL_CHUNK], split.y[start : start + EVAL_CHUNK]
        out = model(X)
        total_loss += float(loss_fn(task)(out, y, reduction="sum"))
        if task == "classification":
            correct += int((out.argmax(1) == y).sum())
    model.train(was_training)
    if task == "regression":
        total_loss /= max(1, split.y[0].numel())  # mse_loss sums over output columns too
    result = {"loss": total_loss / max(n, 1)}
    if task == "classification":
        result["acc"] = correct / max(n, 1)
    return result


def predict(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Model outputs for X in eval mode, without gradients."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = torch.cat([model(X[i : i + EVAL_CHUNK]) for i in range(0, len(X), EVAL_CHUNK)]) if len(X) else model(X)
    model.train(was_training)
    return out


def evaluate_all(model: nn.Module, data: DataBundle) -> dict[str, float]:
    """{train,val,test}_{loss,acc} for every split that exists."""
    out: dict[str, float] = {}
    for name, split in data.splits().items():
        for key, value in evaluate(model, split, data.task).items():
            out[f"{name}_{key}"] = value
    return out


def _set_dropout_generator(model: nn.Module, g: torch.Generator) -> None:
    for module in model.modules():
        if isinstance(module, Dropout):
            module.generator = g


def batches(n: int, batch_size: int, g: torch.Generator | None) -> Iterable[torch.Tensor]:
    """Index tensors of mini-batches over n rows: shuffled by `g`, in order when g is None."""
    order = torch.randperm(n, generator=g) if g is not None else torch.arange(n)
    return order.split(batch_size)


def fit(
    model: nn.Module,
    data: DataBundle,
    cfg: TrainConfig,
    callbacks: Sequence[Callback] = (),
    optimizer=None,
) -> FitResult:
    """Train `model` on `data.train`; evaluate every split after each epoch; return history and final metrics."""
    task = data.task
    criterion = loss_fn(task)
    optimizer = optimizer or make_optimizer(model, cfg)
    weights = weight_tensors(model, include_bias=cfg.decay_bias)
    penalty = cfg.penalty
    order_g = torch.Generator().manual_seed(cfg.seed)
    noise_g = torch.Generator().manual_seed(cfg.seed + 1)
    _set_dropout_generator(model, torch.Generator().manual_seed(cfg.seed + 2))

    state = TrainState(model=model, epochs=cfg.epochs)
    for cb in callbacks:
        cb.on_train_begin(state)
    X, y = data.train.X, data.train.y
    model.train()
    for epoch in range(1, cfg.epochs + 1):
        state.epoch = epoch
        for idx in batches(len(X), cfg.batch_size, order_g if cfg.shuffle else None):
            xb, yb = X[idx], y[idx]
            if cfg.augment is not None:
                xb = cfg.augment(xb, noise_g)
            if cfg.clear_grad:
                optimizer.zero_grad()
            loss = criterion(model(xb), yb)
            if penalty.active:
                loss = loss + penalty(weights)
            loss.backward()
            optimizer.step()
            penalty.proximal_step(weights, optimizer.param_groups[0]["lr"])
        # a NaN or infinite loss shows up in the evaluation below (checked once per epoch, not per batch)
        logs = {"epoch": epoch, **evaluate_all(model, data)}
        state.log.append(logs)
        if not all(math.isfinite(v) for v in logs.values()):
            state.stop_reason = "diverged"
            break
        for cb in callbacks:
            cb.on_epoch_end(state, logs)
        if state.stop_reason:
            break
    for cb in callbacks:
        cb.on_train_end(state)

    status = {"diverged": "diverged", "cancelled": "cancelled"}.get(state.stop_reason or "", "ok")
    if status == "diverged":
        metrics = _nan_metrics(data)
    elif state.log and not state.restored:  # the model is as the last epoch's evaluation left it
        metrics = {k: v for k, v in state.log[-1].items() if k != "epoch"}
    else:
        metrics = evaluate_all(model, data)
    metrics["epochs_run"] = len(state.log)
    metrics["stopped_early"] = state.stop_reason == "early_stopping"
    if state.best_epoch is not None:
        metrics["best_epoch"] = state.best_epoch
    return FitResult(status, metrics, state.log, state.best_epoch)


def _nan_metrics(data: DataBundle) -> dict[str, float]:
    keys = [f"{s}_loss" for s in data.splits()]
    if data.task == "classification":
        keys += [f"{s}_acc" for s in data.splits()]
    return {k: math.nan for k in keys}
