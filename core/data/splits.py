"""Splitting with scikit-learn: validation hold-out, K folds, training-set subsampling, label noise.

scikit-learn is imported by the functions that split (it takes a second to import), not with this module.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from ..i18n import N_, MessageError
from .bundle import DataBundle, Split, derive_seed


def _labels(split: Split, task: str) -> np.ndarray | None:
    """Class labels for stratification, or None for regression."""
    return split.y.numpy() if task == "classification" else None


def _can_stratify(y: np.ndarray | None, n_out: int) -> bool:
    if y is None:
        return False
    counts = np.bincount(y)
    counts = counts[counts > 0]
    return counts.min() >= 2 and n_out >= len(counts) and len(y) - n_out >= len(counts)


def hold_out(split: Split, fraction: float, seed: int, task: str) -> tuple[Split, Split]:
    """Split off `fraction` of the rows (stratified for classes where possible): (kept, held_out)."""
    from sklearn.model_selection import train_test_split

    n = len(split)
    n_out = max(1, round(n * fraction))
    if n_out >= n:
        raise MessageError(N_("val_fraction: {fraction} leaves no training examples out of {n}"), fraction=fraction, n=n)
    y = _labels(split, task)
    keep, out = train_test_split(
        np.arange(n), test_size=n_out, random_state=seed, stratify=y if _can_stratify(y, n_out) else None
    )
    return split.subset(np.sort(keep)), split.subset(np.sort(out))


def subsample(split: Split, fraction: float, seed: int, task: str) -> Split:
    """Keep `fraction` of the rows (stratified for classes where possible)."""
    if fraction >= 1.0:
        return split
    n = len(split)
    n_keep = max(2, round(n * fraction))
    if n_keep >= n:
        return split
    kept, _ = hold_out(split, 1 - n_keep / n, seed, task)
    return kept


def fold_indices(split: Split, k: int, seed: int, task: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, validation) row indices for each of `k` folds: StratifiedKFold for classes, else KFold."""
    n = len(split)
    if not 2 <= k <= n:
        raise MessageError(N_("folds: {k} is not allowed; expected an int in [2, {n}] (the training set has {n} examples)"), k=k, n=n)
    y = _labels(split, task)
    # the folds depend only on n, k, the seed and the labels: each fold of a config (trained as its own run)
    # asks for the same split, so it is made once
    return _folds(n, k, seed, None if y is None else y.astype(np.int64).tobytes())


@lru_cache(maxsize=64)
def _folds(n: int, k: int, seed: int, labels: bytes | None) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold, StratifiedKFold

    y = None if labels is None else np.frombuffer(labels, dtype=np.int64)
    if y is not None and np.bincount(y)[np.bincount(y) > 0].min() >= k:
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        folds = list(splitter.split(np.zeros(n), y))
    else:
        folds = list(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(n)))
    return folds  # shared between callers, who only index with them


def add_label_noise(split: Split, fraction: float, n_classes: int, g: torch.Generator) -> Split:
    """Replace `fraction` of the labels by a different class drawn at random (so exactly that fraction is wrong)."""
    if fraction <= 0:
        return split
    n = len(split)
    n_noisy = round(n * fraction)
    idx = torch.randperm(n, generator=g)[:n_noisy]
    y = split.y.clone()
    # adding 1..n_classes-1 modulo n_classes never gives back the original label
    y[idx] = (y[idx] + torch.randint(1, n_classes, (n_noisy,), generator=g)) % n_classes
    return Split(split.X, y)


def random_labels(split: Split, fraction: float, n_classes: int, g: torch.Generator) -> Split:
    """Replace `fraction` of the labels by classes drawn uniformly at random (unlike `add_label_noise`, the draw may
    give back the original class, so about fraction·(K−1)/K of the labels end up wrong)."""
    if fraction <= 0:
        return split
    n = len(split)
    idx = torch.randperm(n, generator=g)[: round(n * fraction)]
    y = split.y.clone()
    y[idx] = torch.randint(0, n_classes, (len(idx),), generator=g)
    return Split(split.X, y)


def random_pixels(split: Split, g: torch.Generator) -> Split:
    """Every input replaced by Gaussian noise with the split's own mean and standard deviation (labels kept)."""
    X = split.X
    return Split(torch.randn(X.shape, generator=g) * X.std() + X.mean(), split.y)


def take(split: Split, n: int, seed: int, task: str, what: str = "n_train") -> Split:
    """A subset of exactly n rows (stratified for classes where possible); ValueError naming `what` when n is too many."""
    if n > len(split):
        raise MessageError(N_("{what}: {n} is more than the {available} examples available; choose at most {available}"), what=what,
                           n=n, available=len(split))
    return split if n == len(split) else subsample(split, n / len(split), seed, task)


def prepare(
    bundle: DataBundle,
    seed: int,
    *,
    train_size: float = 1.0,
    val_fraction: float = 0.0,
    label_noise: float = 0.0,
    fold: int | None = None,
    folds: int | None = None,
) -> DataBundle:
    """Apply the data strategies in order: subsample the training set, hold out validation (a fraction or
    fold `fold` of `folds`), then corrupt a fraction of the remaining training labels."""
    task = bundle.task
    train = subsample(bundle.train, train_size, derive_seed(seed, "subsample"), task)
    val = bundle.val
    if folds:
        train_idx, val_idx = fold_indices(train, folds, derive_seed(seed, "folds"), task)[fold or 0]
        train, val = train.subset(train_idx), train.subset(val_idx)
    elif val_fraction > 0:
        train, val = hold_out(train, val_fraction, derive_seed(seed, "val"), task)
    if label_noise > 0:
        if task != "classification":
            raise MessageError(N_("label_noise: applies to classification data only"))
        train = add_label_noise(train, label_noise, bundle.n_classes or 2, torch.Generator().manual_seed(derive_seed(seed, "label_noise")))
    return bundle.with_splits(train=train, val=val)
