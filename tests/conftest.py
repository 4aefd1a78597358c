"""Shared test set-up: a throw-away store, real MNIST from ../shared, no network, few threads."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
# the real MNIST sample lives in ../shared/data/mnist-10k beside the checkout (or beside a folder above it)
MNIST_DIR = next((p / "shared" / "data" / "mnist-10k" for p in ROOT.parents if (p / "shared" / "data" / "mnist-10k").is_dir()),
                 ROOT.parent / "shared" / "data" / "mnist-10k")
sys.path.insert(0, str(ROOT))

# Tests never download: MNIST comes from the shared folder or the test is skipped.
os.environ["OVERFIT_LAB_OFFLINE"] = "1"
os.environ.setdefault("OVERFIT_LAB_DATA", str(MNIST_DIR))
torch.set_num_threads(1)  # tiny models: one thread is faster and steadier than two

try:  # the same Hypothesis examples on every run, so a red CI is this commit's fault; explore with HYPOTHESIS_PROFILE=explore
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, print_blob=True)
    settings.register_profile("explore", derandomize=False)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # pragma: no cover - hypothesis is in requirements.txt
    pass


@pytest.fixture(autouse=True)
def isolated_store(tmp_path, monkeypatch):
    """Every test writes to its own SQLite file, never ./overfit_lab.db."""
    db = tmp_path / "runs.db"
    monkeypatch.setenv("OVERFIT_LAB_DB", str(db))
    return db


@pytest.fixture
def store_writes(monkeypatch) -> list[int]:
    """A list that grows by one for every write transaction any Store opens during the test."""
    from core.store import Store

    writes: list[int] = []
    original = Store._write

    def counting(self):
        writes.append(1)
        return original(self)

    monkeypatch.setattr(Store, "_write", counting)
    return writes


@pytest.fixture
def mnist_dir() -> Path:
    if not (MNIST_DIR / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
        pytest.skip(f"real MNIST not found in {MNIST_DIR} (see its README)")
    return MNIST_DIR


def load_page(page: str, query: dict[str, str] | None = None, timeout: float = 120):
    """A page (path relative to the project root) run in AppTest, as if opened from a link with `query` in its URL."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / page), default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def metric_values(at) -> dict[str, str]:
    """Every st.metric a page shows, label → value."""
    return {m.label: m.value for m in at.metric}


@pytest.fixture
def app_test():
    """`load_page` as a fixture."""
    return load_page
