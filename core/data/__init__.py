"""Data: synthetic regression, 2-D classification sets, images, splits and augmentation."""

from .augment import AUGMENTS, Augment, augment_for
from .bundle import DataBundle, Split, derive_seed, generator
from .images import DataUnavailable, data_dir, digits, mnist
from .splits import add_label_noise, fold_indices, hold_out, prepare, subsample
from .synthetic import (
    FUNCTIONS,
    function_1d,
    high_dim_linear,
    linear,
    poly_features,
    poly_true_coef,
    polynomial,
)
from .toy2d import TOY_DATASETS, grid_2d, make_toy, toy_bundle

__all__ = [
    "AUGMENTS", "Augment", "augment_for", "DataBundle", "DataUnavailable", "FUNCTIONS", "Split", "TOY_DATASETS", "add_label_noise",
    "data_dir", "derive_seed", "digits", "fold_indices", "function_1d", "generator", "grid_2d", "high_dim_linear",
    "hold_out", "linear", "make_toy", "mnist", "poly_features", "poly_true_coef", "polynomial", "prepare",
    "subsample", "toy_bundle",
]
