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
