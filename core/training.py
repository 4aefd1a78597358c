"""Training settings and the single-model helpers around the one loop.

`TrainConfig` holds the loop's settings; `fit(model, data, cfg, callbacks)` trains one `nn.Module` with the
module engine under the one loop (`core.loop.Loop`); `evaluate`/`predict` measure one model in eval mode.
Every strategy plugs into the loop instead of forking it:

- penalties (L1, L2, p-norm) are added to the loss (`core.penalties`);
- weight decay is an optimizer option, biases and frozen parameters excluded (`core.models.penalised`);
- dropout and batch norm are model options (`core.models`);
- augmentation is a transform applied to training batches only;
- early stopping, progress and cancel are callbacks at epoch end (`core.callbacks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .callbacks import Callback
from .i18n import N_, MessageError
from .data.bundle import DataBundle, Split
from .loop import FitResult, Loop, history_frame
from .models import ManualSGD, weight_tensors
from .optim import Optimizer
from .penalties import Penalty

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "manual", "lstsq")
CRITERIA = ("mse", "cross_entropy")
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
    criterion: str | None = None  # None: the task's own (MSE, cross-entropy); 'mse' on classes: squared error to one-hot

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: {self.optimizer!r} is not allowed; expected one of {'|'.join(OPTIMIZERS)}")
        if self.criterion is not None and self.criterion not in CRITERIA:
            raise ValueError(f"criterion: {self.criterion!r} is not allowed; expected one of {'|'.join(CRITERIA)}")


def make_optimizer(model: nn.Module, cfg: TrainConfig):
    """The optimizer over the trainable parameters: decayed weights in one group, biases/norm parameters in another.

    None for lstsq, which has no steps: the module engine solves the last layer in closed form (`core.solve`)."""
    trainable = [p for p in model.parameters() if p.requires_grad]  # frozen parameters are never stepped
    if cfg.optimizer == "lstsq":
        return None
    if cfg.optimizer == "manual":
        if cfg.weight_decay:
            raise MessageError(N_("weight_decay: the manual gradient step has no weight decay; use a penalty instead"))
        return ManualSGD(trainable, cfg.lr)
    if cfg.weight_decay:
        decayed = weight_tensors(model, include_bias=cfg.decay_bias)
        decayed_ids = {id(p) for p in decayed}
        rest = [p for p in trainable if id(p) not in decayed_ids]
        groups = [{"params": decayed, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
        groups = [g for g in groups if g["params"]]
    else:  # one group: the same steps, with one fused update instead of two
        groups = [{"params": trainable, "weight_decay": 0.0}]
    return Optimizer(cfg.optimizer, groups, cfg.lr, cfg.momentum)


def loss_fn(task: str, criterion: str | None = None) -> Callable[..., torch.Tensor]:
    """Mean squared error for regression, mean cross-entropy for classification; criterion='mse' on classes: the
    squared error between the outputs and the one-hot targets, averaged over examples and classes."""
    if task == "regression" or criterion is None:
        return F.mse_loss if task == "regression" else F.cross_entropy
    return onehot_mse if criterion == "mse" else F.cross_entropy


def onehot_mse(out: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Squared error between class scores [n, K] and the one-hot targets of labels y [n] (F.mse_loss's reductions)."""
    return F.mse_loss(out, F.one_hot(y, out.shape[-1]).to(out.dtype), reduction=reduction)


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, task: str, criterion: str | None = None) -> dict[str, float]:
    """Mean loss (and accuracy for classes) of `model` on `split`, in eval mode."""
    was_training = model.training
    model.eval()
    total_loss, correct, n, columns = 0.0, 0, len(split), 1
    for start in range(0, n, EVAL_CHUNK):
        X, y = split.X[start : start + EVAL_CHUNK], split.y[start : start + EVAL_CHUNK]
        out = model(X)
        total_loss += float(loss_fn(task, criterion)(out, y, reduction="sum"))
        if task == "classification":
            correct += int((out.argmax(1) == y).sum())
        columns = out[0].numel()
    model.train(was_training)
    if task == "regression" or criterion == "mse":
        total_loss /= max(1, columns)  # mse_loss sums over output columns too
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


def batches(n: int, batch_size: int, g: torch.Generator | None, min_size: int = 1) -> Iterable[torch.Tensor]:
    """Index tensors of mini-batches over n rows: shuffled by `g`, in order when g is None; a last batch smaller
    than `min_size` is left out (batch norm's statistics need `min_size=2`)."""
    order = torch.randperm(n, generator=g) if g is not None else torch.arange(n)
    parts = order.split(batch_size)
    return parts[:-1] if parts and len(parts[-1]) < min_size else parts


def min_batch(model: nn.Module, batch_size: int, n_train: int) -> int:
    """The smallest batch `model` can train on: 2 with batch norm (a batch of one has no spread), else 1.

    ValueError naming batch_size (or the training set) when no batch would be that large.
    """
    if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return 1
    if batch_size < 2:
        raise MessageError(N_("batch_size: {n} is not allowed with batch_norm; batch norm needs at least 2 examples per batch"),
                           n=batch_size)
    if n_train < 2:
        raise MessageError(N_("batch_norm: the training set has {n} example; batch norm needs at least 2 (use more training "
                              "data or batch_norm=false)"), n=n_train)
    return 2


def fit(
    model: nn.Module,
    data: DataBundle,
    cfg: TrainConfig,
    callbacks: Sequence[Callback] = (),
    optimizer=None,
) -> FitResult:
    """Train `model` on `data.train`, evaluating every split after each epoch: the module engine under the one loop."""
    from .engines.module import ModuleEngine

    return Loop(ModuleEngine(model, data, cfg, optimizer), cfg.epochs, callbacks).run()[0]


__all__ = ["CRITERIA", "EVAL_CHUNK", "OPTIMIZERS", "FitResult", "TrainConfig", "batches", "evaluate", "evaluate_all", "fit",
           "history_frame", "loss_fn", "make_optimizer", "min_batch", "onehot_mse", "predict"]
