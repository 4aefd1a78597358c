"""Containers for in-memory data: a `Split` of tensors and a `DataBundle` of splits."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import torch

Task = Literal["regression", "classification"]


def derive_seed(seed: int, purpose: str) -> int:
    """A stable sub-seed for one purpose, so data, init and batch order draw independently."""
    return (seed * 1_000_003 + zlib.crc32(purpose.encode())) % (2**31 - 1)


def generator(seed: int, purpose: str) -> torch.Generator:
    """A torch generator seeded for one purpose."""
    return torch.Generator().manual_seed(derive_seed(seed, purpose))


@dataclass(frozen=True)
class Split:
    """Inputs `X` and targets `y` of one split: y is (n, 1) float for regression, (n,) long for classes."""

    X: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def subset(self, index: np.ndarray | torch.Tensor) -> "Split":
        """The rows at `index`."""
        index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        return Split(self.X[index], self.y[index])


@dataclass(frozen=True)
class DataBundle:
    """Train, optional validation and test splits, plus what a model needs to know about them."""

    train: Split
    test: Split
    task: Task
    val: Split | None = None
    n_classes: int | None = None
    image_shape: tuple[int, ...] | None = None  # (channels, height, width) for images
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. true coefficients, grids for plots

    @property
    def n_inputs(self) -> int:
        """Number of input features a flat model sees."""
        return int(np.prod(self.train.X.shape[1:]))

    def with_splits(self, **splits: Split | None) -> "DataBundle":
        """A copy with some splits replaced."""
        return replace(self, **splits)

    def splits(self) -> dict[str, Split]:
        """The splits that exist, by name: train, val, test."""
        out = {"train": self.train}
        if self.val is not None:
            out["val"] = self.val
        out["test"] = self.test
        return out
