"""Fill a fresh store with N realistic runs, through the store's own API, in seconds (for benchmarks and tests).

Runs look like what the dashboard and the CLI store: mostly sweeps (a grid crossed with 5 folds and a few seeds,
each with its stored settings, so summaries rebuild the sweep's command), plus one-off runs as the pages store them,
spread over several studies (classification 40 %, weight-decay 25 %, polynomial 15 %, dropout 10 %,
early-stopping 5 %, one-off runs of other studies 5 %). Every run has the metrics its study records and a
30-epoch history of train, validation (with folds) and test loss (and accuracy for classifiers), shaped like
real training curves. Nothing trains: the numbers are drawn from a seeded generator.

    python bench/make_store.py --runs 100000 [--db bench.db] [--seed 0]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from itertools import cycle
from pathlib import Path
from typing import Any, Iterator

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.store import Store, now  # noqa: E402
from core.studies import get_study  # noqa: E402
from core.sweeps import Axis, SweepSpec, grid_values  # noqa: E402

EPOCHS = 30
BATCH = 2000  # runs per transaction, as a sweep's stacked group lands
CLASSIFIERS = {"classification", "dropout", "early-stopping", "augmentation"}
EXTRA_METRICS = {  # what each study records beside losses, epochs_run, stopped_early, train_examples and duration_s
    "classification": ("weight_norm", "n_params"),
    "weight-decay": ("weight_norm", "weight_l1", "zero_weights", "n_weights"),
    "polynomial": ("coef_error",),
    "dropout": ("n_params",),
    "early-stopping": ("best_epoch",),
    "capacity": ("n_params", "hidden_used"),
    "learning-curve": (),
    "augmentation": (),
    "linear-regression": ("w", "b", "closed_form_w", "closed_form_b"),
}


def sweep(study: str, axis: str, low: float, high: float, steps: int, spacing: str, *, seeds: int, base: dict) -> SweepSpec:
    """A sweep as the CLI would make it: `--grid axis=low:high:steps[:log] --folds 5 --seeds N`."""
    param = get_study(study).param(axis)
    return SweepSpec(study, {"epochs": EPOCHS, **base}, (Axis(axis, tuple(grid_values(param, low, high, steps, spacing)), spacing),),
                     5, seeds)


# (share of the runs, the sweeps that fill it, cycled with a different learning rate each time round)
TEMPLATES = [
    (0.40, lambda lr: sweep("classification", "weight_decay", 1e-4, 1.0, 50, "log", seeds=2,
                            base={"dataset": "moons", "lr": lr, "optimizer": "adam", "n_train": 400})),
    (0.25, lambda lr: sweep("weight-decay", "weight_decay", 1e-3, 10.0, 100, "log", seeds=1, base={"lr": lr})),
    (0.15, lambda lr: sweep("polynomial", "degree", 1, 20, 20, "linear", seeds=3, base={"lr": lr})),
    (0.10, lambda lr: sweep("dropout", "dropout", 0.0, 0.9, 10, "linear", seeds=2, base={"lr": lr})),
    (0.05, lambda lr: sweep("early-stopping", "patience", 1, 10, 10, "linear", seeds=1, base={"lr": lr, "val_fraction": 0.2})),
]
ONE_OFF = ["capacity", "learning-curve", "augmentation", "linear-regression", "polynomial", "classification"]
LRS = [0.01, 0.03, 0.05, 0.003, 0.02]


def curves(rng: np.random.Generator, n: int, splits: int, classifier: bool) -> tuple[np.ndarray, np.ndarray]:
    """Loss (and accuracy) per run × split × epoch: falling, then the held-out splits turning up as a model overfits."""
    e = np.arange(1, EPOCHS + 1)[None, None, :]
    start = rng.uniform(0.8, 2.5, (n, 1, 1))
    floor = rng.uniform(0.02, 0.3, (n, 1, 1))
    tau = rng.uniform(3, 10, (n, 1, 1))
    gap = np.concatenate([np.zeros((n, 1, 1)), rng.uniform(0.0, 0.02, (n, splits - 1, 1))], axis=1)  # train, then held out
    loss = floor + (start - floor) * np.exp(-e / tau) + gap * e + rng.normal(0, 0.01, (n, splits, EPOCHS))
    loss = np.abs(loss)
    acc = np.clip(1.0 - 0.35 * loss + rng.normal(0, 0.01, loss.shape), 0.0, 1.0) if classifier else np.full(loss.shape, np.nan)
    return loss, acc


def records(spec_or_study: SweepSpec | str, rng: np.random.Generator, limit: int) -> list[dict[str, Any]]:
    """The runs of a sweep (or one one-off run of a study), at most `limit`, with metrics and histories."""
    if isinstance(spec_or_study, SweepSpec):
        spec = spec_or_study
        study = get_study(spec.study)
        base = dataclasses.asdict(study.config(spec.base))  # each point is checked when stored: no need to build configs
        axis = spec.axes[0]
        configs = [{**base, axis.name: v, "seed": base["seed"] + s, "folds": spec.folds, "fold": f}
                   for v in axis.values for s in range(spec.seeds) for f in range(spec.folds)]
    else:
        study = get_study(spec_or_study)
        configs = [{**study.defaults(), "epochs": EPOCHS, "seed": int(rng.integers(0, 1000))}]
    configs = configs[:limit]
    n = len(configs)
    folds = "folds" in configs[0]
    split_names = ["train", "val", "test"] if folds or configs[0].get("val_fraction", 0) else ["train", "test"]
    classifier = study.id in CLASSIFIERS
    loss, acc = curves(rng, n, len(split_names), classifier)
    epochs = np.repeat(np.arange(1, EPOCHS + 1), len(split_names))  # epoch-major, as the loop records them
    splits = np.array(split_names * EPOCHS, dtype=object)
    out = []
    for i, config in enumerate(configs):
        last = {s: loss[i, j, -1] for j, s in enumerate(split_names)}
        metrics: dict[str, Any] = {f"{s}_loss": float(v) for s, v in last.items()}
        if classifier:
            metrics.update({f"{s}_acc": float(acc[i, j, -1]) for j, s in enumerate(split_names)})
        metrics.update(epochs_run=EPOCHS, stopped_early=False, train_examples=int(rng.integers(20, 1000)),
                       duration_s=round(float(rng.uniform(0.05, 2.0)), 4))
        for name in EXTRA_METRICS.get(study.id, ()):
            metrics[name] = int(rng.integers(1, 5000)) if name in ("n_params", "zero_weights", "n_weights", "hidden_used") \
                else int(rng.integers(1, EPOCHS)) if name == "best_epoch" else float(rng.uniform(0.0, 5.0))
        history = {"epoch": epochs, "split": splits, "loss": loss[i].T.reshape(-1), "acc": acc[i].T.reshape(-1)}
        out.append({"study": study.id, "status": "ok", "config": config, "metrics": metrics, "created_at": now(),
                    "history": history})
    return out


def plan(n: int) -> Iterator[tuple[SweepSpec | str, int]]:
    """(a sweep or a one-off study, runs to take from it) until n runs: each template up to its share."""
    left = {i: round(share * n) for i, (share, _) in enumerate(TEMPLATES)}
    left[len(TEMPLATES)] = n - sum(left.values())
    lrs = cycle(LRS)
    one_offs = cycle(ONE_OFF)
    while any(left.values()):
        for i in list(left):
            if left[i] <= 0:
                continue
            if i == len(TEMPLATES):
                left[i] -= 1
                yield next(one_offs), 1
                continue
            spec = TEMPLATES[i][1](next(lrs))
            take = min(spec.n_runs, left[i])
            left[i] -= take
            yield spec, take


def make_store(path: Path, n: int, seed: int = 0) -> Store:
    """A fresh store at `path` with n runs (an existing file is replaced)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    store = Store(path)
    rng = np.random.default_rng(seed)
    pending: list[tuple[str | None, dict]] = []

    def flush() -> None:
        by_sweep: dict[str | None, list[dict]] = {}
        for sweep_id, rec in pending:
            by_sweep.setdefault(sweep_id, []).append(rec)
        for sweep_id, recs in by_sweep.items():
            store.save_records(recs, sweep_id=sweep_id)
        pending.clear()

    for what, take in plan(n):
        sweep_id = store.create_sweep(what.study, {**what.to_dict(), "backend": "auto"}) if isinstance(what, SweepSpec) else None
        pending += [(sweep_id, rec) for rec in records(what, rng, take)]
        if len(pending) >= BATCH:
            flush()
    flush()
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, required=True, help="how many runs")
    parser.add_argument("--db", default="bench-store.db", help="the store to (re)create")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs: {args.runs} is not allowed; expected an int >= 1")
    start, cpu = time.perf_counter(), time.process_time()
    store = make_store(Path(args.db), args.runs, args.seed)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    size = Path(args.db).stat().st_size + sum(Path(f"{args.db}{s}").stat().st_size for s in ("-wal",) if Path(f"{args.db}{s}").exists())
    print(f"{store.count()} runs in {args.db}: {wall:.1f} s ({cpu:.1f} s CPU), {size / 1e6:.1f} MB on disk "
          f"({size / store.count() / 1024:.2f} KB per run)")


if __name__ == "__main__":
    main()
