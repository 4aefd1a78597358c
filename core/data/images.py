"""Image data: scikit-learn's bundled 8×8 digits (offline default) and MNIST through torchvision.

Images are float tensors in [0, 1] shaped (n, 1, height, width); labels are long tensors.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..i18n import N_, Msg, Translated
from .bundle import DataBundle, Split


class DataUnavailable(Translated, RuntimeError):
    """A data set could not be loaded; the message says what to do instead."""


def data_dir() -> Path:
    """The data folder: $OVERFIT_LAB_DATA, else ./data."""
    return Path(os.environ.get("OVERFIT_LAB_DATA", "data")).expanduser()


MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def mnist_available(root: str | Path | None = None) -> bool:
    """Whether the four MNIST files are on disk in `root` (default: the data folder), so loading needs no download."""
    raw = Path(root or data_dir()) / "MNIST" / "raw"
    return all((raw / name).exists() for name in MNIST_FILES)


@lru_cache(maxsize=4)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # imported when used: scikit-learn takes a second to import

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    return images, digits.target.astype(np.int64)


def digits(seed: int = 0, test_fraction: float = 0.25) -> DataBundle:
    """scikit-learn's 1,797 8×8 digits, split into train and test with a stratified, seeded split."""
    from sklearn.model_selection import train_test_split

    images, labels = _digits_arrays()
    train_idx, test_idx = train_test_split(
        np.arange(len(labels)), test_size=test_fraction, stratify=labels, random_state=seed
    )
    X, y = torch.from_numpy(images), torch.from_numpy(labels)
    return DataBundle(
        Split(X[train_idx], y[train_idx]),
        Split(X[test_idx], y[test_idx]),
        "classification",
        n_classes=10,
        image_shape=(1, 8, 8),
        meta={"dataset": "digits"},
    )


@lru_cache(maxsize=4)
def _mnist_tensors(root: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import MNIST

    try:
        ds = MNIST(root, train=train, download=False)
    except RuntimeError:
        if os.environ.get("OVERFIT_LAB_OFFLINE"):
            raise DataUnavailable(_missing_message(root, Msg(N_("downloads are off (OVERFIT_LAB_OFFLINE is set)")))) from None
        try:
            ds = MNIST(root, train=train, download=True)
        except Exception as exc:  # any network or disk failure ends in the same advice
            raise DataUnavailable(_missing_message(root, Msg(N_("the download failed: {error}: {detail}"), error=type(exc).__name__,
                                                              detail=exc))) from None
    images = ds.data.unsqueeze(1).float() / 255.0
    return images, ds.targets.long()


def _missing_message(root: str, why: Msg) -> Msg:
    return Msg(N_(
        "MNIST is not in {folder}/MNIST/raw and {why}. "
        "Put the four MNIST files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        "t10k-labels-idx1-ubyte) in MNIST/raw under that folder, or point OVERFIT_LAB_DATA at a folder that has them, "
        "or choose dataset=digits, which is bundled with scikit-learn and works offline."), folder=Path(root).resolve(), why=why)


def mnist(root: str | Path | None = None) -> DataBundle:
    """MNIST from `root` (default: the data folder), downloading it there if missing and allowed."""
    root = str(root or data_dir())
    Xtr, ytr = _mnist_tensors(root, True)
    Xte, yte = _mnist_tensors(root, False)
    return DataBundle(
        Split(Xtr, ytr), Split(Xte, yte), "classification", n_classes=10, image_shape=(1, 28, 28), meta={"dataset": "mnist"}
    )
