"""Settings that show each lesson at first sight: the pages' defaults, declared once.

The pages read their defaults from here and the teaching tests (tests/test_teaching_*.py) run exactly these
settings, so a default that stops showing its phenomenon fails a test instead of misleading a student.
"""

from __future__ import annotations

# --- Classification page ---------------------------------------------------------------------------
# A 2-D set: two wide layers trained long (one step an epoch) on 60 noisy points memorise them; the test loss
# turns up and the boundary bends around single points.
CLASSIFICATION_POINTS = {"dataset": "moons", "noise": 0.3, "n_train": 60, "epochs": 300, "lr": 0.01, "hidden": 128,
                         "depth": 2, "batch_size": 64}
# Images: an epoch is many steps, so fewer epochs and a smaller network answer in seconds.
CLASSIFICATION_IMAGES = {"epochs": 20, "lr": 0.003, "hidden": 64, "depth": 1, "batch_size": 64}
# The cure the page suggests for the 2-D default.
CURE_WEIGHT_DECAY = 0.01

# --- Data strategies page ---------------------------------------------------------------------------
# Learning curve: digits MLP at 6 sizes; `epochs` are those of the largest set (smaller sets see as many examples).
LEARNING_CURVE = {"epochs": 20, "n_sizes": 6}
# Choosing the polynomial degree: few noisy points, full-batch Adam; by a validation split or by K folds.
SELECTION = {"n_train": 30, "noise": 0.3, "batch_size": 30, "epochs": 100, "optimizer": "adam", "lr": 1.0}
SELECTION_DEGREES = (0, 1, 2, 3, 4, 5, 6, 8, 12)
VAL_FRACTION = 0.3
KFOLD_FOLDS = 5
# Early stopping: 20% wrong training labels; the early-stopping study's lr lets the network memorise them
# within the epochs, so the validation loss turns up clearly.
EARLY_STOPPING = {"patience": 5, "label_noise": 0.2, "epochs": 60}
# Augmentation: the augmentation study's own defaults (2% of digits, rotations) — the page starts from them.

# --- Regularization page ----------------------------------------------------------------------------
# Dropout: a wide two-layer MLP on 20% of digits with 20% wrong labels, without and with dropout 0.5.
DROPOUT = {"label_noise": 0.2, "epochs": 40, "train_size": 0.2, "dropout": 0.5}
