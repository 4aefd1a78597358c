"""Rebuild tests/data/summary_runs.json, the fixture of tests/test_summary.py (trains for about a minute).

    python tests/data/make_summary_runs.py && UPDATE_GOLDEN=1 python -m pytest tests/test_summary.py

It holds real runs without their histories: a polynomial sweep (degree 1, 3, 9 × 2 folds × 2 seeds), three
polynomial runs trained one by one (degree 20 once, degree 2 once, and lr=10, which diverges), and a small
classification sweep on moons (dropout 0, 0.5 × 2 seeds); and the two sweeps' stored settings.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from core.store import Store, to_json  # noqa: E402
from core.studies import get_study, run_study  # noqa: E402
from core.sweeps import Axis, SweepSpec, run_sweep  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "fixture.db")
        run_sweep(SweepSpec("polynomial", {"epochs": 20}, (Axis("degree", (1, 3, 9)),), folds=2, seeds=2), store=store, backend="serial")
        poly = get_study("polynomial")
        run_study(poly, {"epochs": 20, "degree": 20}, folds=2, fold=0, store=store)
        run_study(poly, {"epochs": 20, "degree": 20, "lr": 10.0, "seed": 1}, folds=2, fold=0, store=store)
        run_study(poly, {"epochs": 20, "degree": 2, "seed": 1}, folds=2, fold=1, store=store)
        run_sweep(SweepSpec("classification", {"dataset": "moons", "epochs": 5, "n_train": 100, "n_test": 100},
                            (Axis("dropout", (0.0, 0.5)),), seeds=2), store=store, backend="serial")
        sweeps = store.sweeps()
        data = {
            "sweeps": [{"id": r.id, "study": r.study, "settings": r.settings} for r in sweeps.itertuples()],
            "runs": store.records(),
        }
    path = ROOT / "tests" / "data" / "summary_runs.json"
    path.write_text(json.dumps(json.loads(to_json(data)), indent=1) + "\n")
    print(f"wrote {len(data['runs'])} runs and {len(data['sweeps'])} sweeps to {path}")


if __name__ == "__main__":
    main()
