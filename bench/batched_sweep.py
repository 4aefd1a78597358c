"""Benchmark: batched training against one-by-one training, and MNIST MLP throughput. Prints figures.

    python bench/batched_sweep.py                 # the sweep comparison and MNIST throughput
    python bench/batched_sweep.py --quick         # 5 weight decays instead of 20, fewer MNIST epochs
    python bench/batched_sweep.py --compare-vmap  # also time one step of bmm+autograd against torch.func vmap

1. The sweep (issue 4 §2): the classification study on moons (n_train=400, n_test=400, noise=0.2), a
   2-16-16-2 tanh MLP (moons has 2 classes; the classification study gives it 2 logits and cross-entropy, so
   "2-16-16-1" of the issue is this model with the class-score output the study uses), adam, lr=0.01,
   batch_size=32, 30 epochs, weight_decay at 20 log-spaced values from 1e-5 to 1, × 5 folds = 100 models.
   Each fold trains on 320 rows (80 held out): 10 batches per epoch, 300 steps per model. Both paths
   compute everything a stored run has: per-epoch evaluation of train/val/test, final metrics and the
   study's report (confusion matrix, decision-boundary grid, weights). The serial path is run_study; the
   batched path is core.batched.train_batched. Both run in this process, one after the other.
2. MNIST MLP 784-256-256-10 (adam, lr=1e-3, batch 64) on the real MNIST subset in ../shared/data/mnist-10k
   (8,000 training images), or on digits when it is absent: samples per second of core.training.fit (the
   tensor-indexing loop; also with its per-epoch evaluation time taken out) and of a plain DataLoader loop.

Timings on a shared machine vary from run to run; ratios within one run are what to read.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OVERFIT_LAB_OFFLINE", "1")
os.environ.setdefault("OVERFIT_LAB_DATA", str(ROOT.parent / "shared" / "data" / "mnist-10k"))

from core.batched import train_batched  # noqa: E402
from core.studies import get_study, run_study  # noqa: E402

SWEEP = dict(dataset="moons", n_train=400, n_test=400, noise=0.2, model="mlp", hidden=16, depth=2, activation="tanh",
             optimizer="adam", lr=0.01, batch_size=32, epochs=30, seed=0)
FOLDS = 5


def sweep(n_values: int, repeats: int = 2) -> None:
    study = get_study("classification")
    decays = [float(f"{v:.3g}") for v in np.geomspace(1e-5, 1.0, n_values)]
    configs = [study.config({**SWEEP, "weight_decay": wd}) for wd in decays]
    n = len(configs) * FOLDS
    print(f"sweep: {len(decays)} weight_decay values (1e-5 .. 1, log) × {FOLDS} folds = {n} models of 2-16-16-2 tanh, "
          f"moons, 320 training rows per fold, batch 32, 30 epochs = 300 steps each, adam lr 0.01")
    # warm-up: one-time first-call costs (lazy imports in torch.optim, allocator) out of both timings
    train_batched(study, configs[:2], folds=FOLDS)
    run_study(study, study.config({**SWEEP, "epochs": 1}))
    t_batched, t_serial = [], []
    for _ in range(repeats):  # alternate the two paths, so a busy moment on a shared machine hits both
        t0 = time.perf_counter()
        batched = train_batched(study, configs, folds=FOLDS)
        t_batched.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        serial = [r for cfg in configs for r in run_study(study, cfg, folds=FOLDS)]
        t_serial.append(time.perf_counter() - t0)
    tb, ts = min(t_batched), min(t_serial)
    print(f"  serial (run_study, one by one): {ts:8.2f} s   ({n / ts:6.1f} models/s)   all passes: {', '.join(f'{t:.2f}' for t in t_serial)} s")
    print(f"  batched (train_batched):        {tb:8.2f} s   ({n / tb:6.1f} models/s)   all passes: {', '.join(f'{t:.2f}' for t in t_batched)} s")
    print(f"  speed-up (best of {repeats} each): {ts / tb:.1f}×   (per pair: {', '.join(f'{s_ / b_:.1f}×' for s_, b_ in zip(t_serial, t_batched))})")
    for name in ("val_loss", "test_loss", "train_loss"):
        d = [abs(b.metrics[name] - s.metrics[name]) for b, s in zip(batched, serial)]
        rel = [x / abs(s.metrics[name]) for x, s in zip(d, serial)]
        print(f"  max |batched − serial| final {name}: {max(d):.2e} (relative {max(rel):.2e})")
    acc = sum(b.metrics["val_acc"] != s.metrics["val_acc"] for b, s in zip(batched, serial))
    same = all(b.config == s.config and b.status == s.status and list(b.metrics) == list(s.metrics) for b, s in zip(batched, serial))
    hist = max(float((b.history["loss"] - s.history["loss"]).abs().max()) for b, s in zip(batched, serial))
    print(f"  runs whose final val_acc differs: {acc}/{n}; same configs, statuses and metric names: {same}; "
          f"max history loss difference: {hist:.2e}")


def mnist_throughput(epochs: int, repeats: int = 2) -> None:
    from torch.utils.data import DataLoader, TensorDataset

    from core.data import DataUnavailable, digits, mnist
    from core.models import mlp
    from core.training import TrainConfig, evaluate_all, fit

    try:
        data, name = mnist(), "MNIST (mnist-10k: 8,000 training images)"
    except DataUnavailable:
        data, name = digits(), "digits (MNIST not found in $OVERFIT_LAB_DATA; 8x8 digits instead)"
    n = len(data.train)
    print(f"\nMLP {data.n_inputs}-256-256-10 on {name}, adam lr 1e-3, batch 64, {epochs} epoch(s), {torch.get_num_threads()} threads")

    def model():
        return mlp(data.n_inputs, 10, torch.Generator().manual_seed(0), hidden=256, depth=2, activation="relu")

    cfg = TrainConfig(epochs=epochs, lr=1e-3, batch_size=64, optimizer="adam", seed=0)
    fit(model(), data, TrainConfig(epochs=1, lr=1e-3, batch_size=64, optimizer="adam"))  # warm-up

    def run_fit() -> tuple[float, float]:
        m = model()
        t0 = time.perf_counter()
        fit(m, data, cfg)
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        evaluate_all(m, data)
        return t_fit, time.perf_counter() - t0

    def run_loader() -> float:
        m = model()
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        loader = DataLoader(TensorDataset(data.train.X, data.train.y), batch_size=64, shuffle=True,
                            generator=torch.Generator().manual_seed(0))
        m.train()
        t0 = time.perf_counter()
        for _ in range(epochs):
            for xb, yb in loader:
                opt.zero_grad()
                F.cross_entropy(m(xb), yb).backward()
                opt.step()
        return time.perf_counter() - t0

    fits, loaders = [], []
    for _ in range(repeats):  # alternate, so a busy moment on a shared machine hits both
        fits.append(run_fit())
        loaders.append(run_loader())
    samples = n * epochs
    t_fit, t_eval = min(fits)
    t_train = min(f - epochs * e for f, e in fits)
    t_loader = min(loaders)
    print(f"  (best of {repeats} alternating repeats; all fit times {', '.join(f'{f:.2f}' for f, _ in fits)} s, "
          f"DataLoader {', '.join(f'{t:.2f}' for t in loaders)} s)")
    print(f"  core.training.fit (tensor indexing), incl. per-epoch evaluation of every split: {samples / t_fit:8.0f} samples/s")
    print(f"  core.training.fit, training only (its per-epoch evaluation, {t_eval:.2f} s, taken out): {samples / max(1e-9, t_train):8.0f} samples/s")
    print(f"  plain DataLoader loop (TensorDataset, shuffle, no evaluation):                {samples / t_loader:8.0f} samples/s")
    batching_only(data.train.X, data.train.y)


def batching_only(X: torch.Tensor, y: torch.Tensor, epochs: int = 5) -> None:
    """Just making the mini-batches (no model): tensor indexing as in fit, against DataLoader's per-sample fetch."""
    from torch.utils.data import DataLoader, TensorDataset

    from core.training import batches

    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for _ in range(epochs):
        for idx in batches(len(X), 64, g):
            X[idx], y[idx]
    t_index = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(epochs):
        for _xb, _yb in DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True, generator=g):
            pass
    t_loader = time.perf_counter() - t0
    n = len(X) * epochs
    print(f"  batching only ({epochs} epochs, no model): tensor indexing {n / t_index:9.0f} samples/s, "
          f"DataLoader {n / t_loader:9.0f} samples/s ({t_loader / t_index:.1f}× slower)")


def compare_vmap(steps: int = 200) -> None:
    """One training step (forward + gradients) of 100 stacked 2-16-16-2 models: bmm + autograd vs torch.func."""
    from torch.func import functional_call, grad, stack_module_state, vmap

    from core.models import mlp

    M, B = 100, 32
    models = [mlp(2, 2, torch.Generator().manual_seed(i), hidden=16, depth=2, activation="tanh") for i in range(M)]
    x, y = torch.randn(M, B, 2), torch.randint(0, 2, (M, B))

    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def loss(p, b, xb, yb):
        return F.cross_entropy(functional_call(base, (p, b), (xb,)), yb)

    step_vmap = vmap(grad(loss))

    flat = torch.stack([torch.cat([p.detach().reshape(-1) for p in mm.parameters()]) for mm in models])
    shapes = [p.shape for p in models[0].parameters()]

    def step_bmm():
        leaf = flat.detach().requires_grad_(True)
        h, i = x, 0
        for k in range(3):
            (o, n_in), n_out = shapes[2 * k], shapes[2 * k + 1][0]
            W = leaf[:, i : i + o * n_in].view(M, o, n_in).transpose(1, 2)
            b = leaf[:, i + o * n_in : i + o * n_in + n_out]
            i += o * n_in + n_out
            h = torch.baddbmm(b.unsqueeze(1), h, W)
            if k < 2:
                h = torch.tanh(h)
        total = F.cross_entropy(h.reshape(-1, 2), y.reshape(-1), reduction="none").view(M, B).mean(1).sum()
        return torch.autograd.grad(total, leaf)

    def time_it(fn):
        fn()
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        return (time.perf_counter() - t0) / steps * 1e6

    t_bmm = time_it(step_bmm)
    t_vmap = time_it(lambda: step_vmap(params, buffers, x, y))
    print(f"\none step (forward + gradients) of {M} stacked 2-16-16-2 models, batch {B}:")
    print(f"  bmm + autograd (core.batched): {t_bmm:7.0f} µs")
    print(f"  torch.func vmap(grad(...)):    {t_vmap:7.0f} µs  ({t_vmap / t_bmm:.1f}× the bmm time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 weight decays and 1 MNIST epoch")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--compare-vmap", action="store_true", help="also time bmm+autograd against torch.func vmap")
    parser.add_argument("--repeats", type=int, default=2, help="alternating passes of each path; the best is reported")
    parser.add_argument("--skip-mnist", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, load average {load:.1f}")
    sweep(5 if args.quick else 20, repeats=args.repeats)
    if not args.skip_mnist:
        mnist_throughput(1 if args.quick else 2, repeats=args.repeats + 1)
    if args.compare_vmap:
        compare_vmap()


if __name__ == "__main__":
    main()
