"""Data: synthetic regression, 2-D classification sets, images, splits and augmentation."""

from .augment import AUGMENTS, Augment, augment_for
from .bundle import DataBundle, Split, derive_seed, generator
from .images import DataUnavailable, data_dir, digits, mnist
from .splits import add_label_noise, fold_indices, hold_out, prepare, random_labels, random_pixels, subsample, take
from .synthetic import (
    FUNCTION_TEXT,
    FUNCTIONS,
    X_RANGES,
    draw_x,
    function_1d,
    high_dim_linear,
    linear,
    poly_features,
    poly_true_coef,
    plot_range,
    polynomial,
    target,
)
from .toy2d import TOY_DATASETS, grid_2d, make_toy, toy_bundle

__all__ = [
    "AUGMENTS", "Augment", "augment_for", "DataBundle", "DataUnavailable", "FUNCTION_TEXT", "FUNCTIONS", "Split", "TOY_DATASETS", "X_RANGES",
    "add_label_noise", "data_dir", "derive_seed", "digits", "draw_x", "fold_indices", "function_1d", "generator",
    "grid_2d", "high_dim_linear", "hold_out", "linear", "make_toy", "mnist", "plot_range", "poly_features",
    "poly_true_coef", "polynomial", "prepare", "random_labels", "random_pixels", "subsample", "take", "target",
    "toy_bundle",
]
