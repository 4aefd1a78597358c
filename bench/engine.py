"""Benchmark: the 100-model sweep through the CLI, start-up, and MNIST MLP throughput. Prints each side and the ratios.

    python bench/engine.py                  # everything (about 1.5 minutes on 2 quiet cores)
    python bench/engine.py --quick          # 20 plain-loop fits timed and scaled to 100, 1 MNIST epoch
    python bench/engine.py --only sweep     # or startup, mnist
    python bench/engine.py --compare-vmap   # also one stacked step: bmm + autograd against torch.func vmap

1. The sweep (issue 9): 20 weight decays (1e-5 .. 1, log) × 5 folds = 100 fits of a 2-16-16-2 tanh MLP on moons
   (400 training points, 320 per fold, 400 test points, noise 0.2), adam lr 0.01, batch 32, 30 epochs.
   - the project: `python -m core sweep classification ... --backend auto` in a fresh process; its stderr
     names the work (training, evaluation, reports, storing, set-up) and the whole process is timed;
   - a plain torch loop: the same models one by one (nn.Sequential, torch.optim.Adam with weight_decay,
     tensor-indexed batches), with and without evaluating train, held-out fold and test after every epoch;
     and the same loop as a whole script in a fresh process (imports included);
   - scikit-learn's `validation_curve` over `alpha` of an MLPClassifier of the same shape (tanh, adam,
     lr 0.01, batch 32, 30 epochs, no early stopping) on the same 5 stratified folds: 100 fits.
2. Start-up: `python -c "import torch"`, `python -m core studies`, `python -m core run polynomial`.
3. MNIST MLP 784-256-256-10, adam lr 1e-3, batch 256 and 64, 3 epochs on ../shared/data/mnist-10k (8,000
   training and 2,000 test images): training samples/s of the loop (module engine) against a plain
   tensor-indexing loop, and what its per-epoch evaluation of every split adds.

Timings on a shared machine vary; the ratios within one run are what to read (the load average is printed).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist-10k"
if not MNIST_DIR.is_dir():  # a worktree one level deeper (…/wt/NAME) finds the shared folder further up
    MNIST_DIR = next((p / "shared" / "data" / "mnist-10k" for p in ROOT.parents if (p / "shared" / "data" / "mnist-10k").is_dir()), MNIST_DIR)
ENV = {**os.environ, "OVERFIT_LAB_OFFLINE": "1", "OVERFIT_LAB_DATA": str(MNIST_DIR), "OVERFIT_LAB_THREADS": "1",
       "PYTHONPATH": str(ROOT)}

N_DECAYS, FOLDS, EPOCHS, BATCH, LR = 20, 5, 30, 32, 0.01
SWEEP_SET = ["dataset=moons", "n_train=400", "n_test=400", "noise=0.2", "model=mlp", "hidden=16", "depth=2",
             "activation=tanh", "optimizer=adam", f"lr={LR}", f"batch_size={BATCH}", f"epochs={EPOCHS}", "seed=0"]


def decays() -> list[float]:
    return [float(f"{1e-5 * (1e5 ** (i / (N_DECAYS - 1))):.6g}") for i in range(N_DECAYS)]


def timed_process(args: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=ENV, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr}")
    return seconds, done.stderr


# --- the plain torch loop ------------------------------------------------------------------------


def moons_folds():
    """Moons as the classification study makes it, and the 5 stratified folds of its training set."""
    from core.data import derive_seed, fold_indices, toy_bundle

    data = toy_bundle("moons", 400, 400, 0.2, 0)
    return data, fold_indices(data.train, FOLDS, derive_seed(0, "folds"), "classification")


def plain_fit(data, train_idx, val_idx, weight_decay: float, evaluate: bool, seed: int = 0) -> None:
    """One model trained by a plain loop: Sequential MLP, torch.optim.Adam, tensor-indexed batches."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.manual_seed(seed)
    X, y = data.train.X, data.train.y
    Xt, yt = X[torch.as_tensor(train_idx)], y[torch.as_tensor(train_idx)]
    Xv, yv = X[torch.as_tensor(val_idx)], y[torch.as_tensor(val_idx)]
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=weight_decay)
    g = torch.Generator().manual_seed(seed)
    for _ in range(EPOCHS):
        model.train()
        for idx in torch.randperm(len(Xt), generator=g).split(BATCH):
            opt.zero_grad()
            F.cross_entropy(model(Xt[idx]), yt[idx]).backward()
            opt.step()
        if evaluate:
            model.eval()
            with torch.no_grad():
                for xs, ys in ((Xt, yt), (Xv, yv), (data.test.X, data.test.y)):
                    out = model(xs)
                    float(F.cross_entropy(out, ys)), float((out.argmax(1) == ys).float().mean())


def plain_sweep(evaluate: bool, n_models: int) -> float:
    """Seconds for n_models plain fits (weight decays × folds in order)."""
    data, folds = moons_folds()
    points = [(wd, f) for wd in decays() for f in range(FOLDS)][:n_models]
    t0 = time.perf_counter()
    for wd, f in points:
        plain_fit(data, *folds[f], wd, evaluate)
    return time.perf_counter() - t0


def sklearn_validation_curve(n_models: int) -> float:
    """Seconds for validation_curve over alpha with the same folds: n_models fits of a 2-16-16-2 tanh MLP."""
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import validation_curve
    from sklearn.neural_network import MLPClassifier

    data, folds = moons_folds()
    X, y = data.train.X.numpy(), data.train.y.numpy()
    net = MLPClassifier(hidden_layer_sizes=(16, 16), activation="tanh", solver="adam", learning_rate_init=LR,
                        batch_size=BATCH, max_iter=EPOCHS, n_iter_no_change=EPOCHS + 1, tol=0.0, random_state=0)
    alphas = np.array(decays()[: max(1, n_models // FOLDS)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        validation_curve(net, X, y, param_name="alpha", param_range=alphas, cv=folds, n_jobs=1)
        return time.perf_counter() - t0


def project_sweep(db: Path) -> dict[str, float]:
    """The CLI's sweep, in this process: its SweepResult's seconds and timings."""
    from core.store import Store
    from core.studies import get_study
    from core.sweeps import SweepSpec, parse_axis, run_sweep

    study = get_study("classification")
    spec = SweepSpec("classification", study.parse(SWEEP_SET),
                     (parse_axis(study, f"weight_decay=1e-05:1:{N_DECAYS}:log"),), FOLDS)
    result = run_sweep(spec, store=Store(db), backend="auto")
    assert result.backend == "batched" and len(result.results) == N_DECAYS * FOLDS
    return {"work": result.seconds, **result.timings}


def timed_cpu(fn, *args) -> tuple[Any, float]:
    """fn(*args) and the CPU seconds this process spent in it (steadier than wall time on a shared machine)."""
    c0 = time.process_time()
    out = fn(*args)
    return out, time.process_time() - c0


def sweep(quick: bool, repeats: int) -> None:
    n_plain = 20 if quick else N_DECAYS * FOLDS
    scale = N_DECAYS * FOLDS / n_plain
    n = N_DECAYS * FOLDS
    print(f"\n1. sweep: {N_DECAYS} weight decays × {FOLDS} folds = {n} fits of 2-16-16-2 tanh on moons "
          f"(320 training rows per fold), adam lr {LR}, batch {BATCH}, {EPOCHS} epochs; best of {repeats} alternating "
          f"passes" + (f"; the plain loop and scikit-learn timed on {n_plain} fits and scaled to {n}" if quick else ""))
    best: dict[str, tuple[float, float]] = {}  # side -> (wall, cpu), each the best of the repeats

    def keep(name: str, wall: float, cpu: float) -> None:
        w, c = best.get(name, (math.inf, math.inf))
        best[name] = (min(w, wall), min(c, cpu))

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        project_sweep(db), plain_sweep(True, 2), sklearn_validation_curve(FOLDS)  # warm-up: imports, first calls
        parts: dict[str, float] = {}
        for _ in range(repeats):  # alternate the sides, so a busy moment on a shared machine hits each alike
            timings, cpu = timed_cpu(project_sweep, db)
            if timings["work"] < best.get("project", (math.inf,))[0]:
                parts = timings
            keep("project", timings["work"], cpu)
            wall, cpu = timed_cpu(plain_sweep, True, n_plain)
            keep("plain+eval", wall * scale, cpu * scale)
            wall, cpu = timed_cpu(plain_sweep, False, n_plain)
            keep("plain", wall * scale, cpu * scale)
            wall, cpu = timed_cpu(sklearn_validation_curve, n_plain)
            keep("sklearn", wall * scale, cpu * scale)
        cli = [sys.executable, "-m", "core", "sweep", "classification", *sum((["--set", s] for s in SWEEP_SET), []),
               "--grid", f"weight_decay=1e-05:1:{N_DECAYS}:log", "--folds", str(FOLDS), "--backend", "auto",
               "--db", str(db), "--format", "csv"]
        cli_walls, cli_lines = [], []
        for _ in range(2):
            wall, err = timed_process(cli)
            cli_walls.append(wall)
            cli_lines.append(next(x for x in err.splitlines() if " runs with the " in x))
        script_wall, _ = timed_process([sys.executable, str(Path(__file__)), "--plain-script", str(n_plain)])
    script_wall += best["plain+eval"][0] * (1 - 1 / scale)  # with --quick the script trained n_plain fits: add the rest
    work, work_cpu = best["project"]
    print(f"  {'side':<44} {'wall s':>8} {'CPU s':>8} {'ms a model (wall)':>18}")
    for name, label in (("project", "project: sweep work (in process, as the CLI)"), ("plain+eval", "plain torch loop + per-epoch evaluation"),
                        ("plain", "plain torch loop, training only"), ("sklearn", "scikit-learn validation_curve")):
        w, c = best[name]
        print(f"  {label:<44} {w:8.2f} {c:8.2f} {w / n * 1000:18.1f}")
    print("  project breakdown: " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items() if k != "work")
          + f"; training only beside the plain loop's training: {parts['train']:.2f} s against {best['plain'][0]:.2f} s")
    for name, target in (("plain+eval", 25), ("sklearn", 10)):
        w, c = best[name]
        print(f"  ratio {name} / project work: {w / work:6.1f}× wall, {c / work_cpu:6.1f}× CPU   (target ≥ {target}×)")
    print(f"  the CLI itself: {'; '.join(line.split(' in ', 1)[1] for line in cli_lines)}")
    print(f"  whole process: CLI {min(cli_walls):.2f} s, plain-loop script {script_wall:.2f} s: "
          f"{script_wall / min(cli_walls):.1f}×   (target ≥ 4×)")


def plain_script(n_models: int) -> None:
    """What a plain-loop script does, start to end: import, make the data and folds, train and evaluate."""
    import torch

    torch.set_num_threads(int(ENV["OVERFIT_LAB_THREADS"]))  # as the CLI: one thread for these tiny models
    plain_sweep(True, n_models)


# --- start-up -------------------------------------------------------------------------------------


def startup(repeats: int = 3) -> None:
    print("\n2. start-up (best of %d fresh processes)" % repeats)
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "s.db")
        cmds = {"python -c 'import torch'": [sys.executable, "-c", "import torch"],
                "python -m core studies": [sys.executable, "-m", "core", "studies"],
                "python -m core run polynomial": [sys.executable, "-m", "core", "run", "polynomial", "--db", db]}
        best = {}
        for _ in range(repeats):  # alternate, so a busy moment hits every command alike
            for name, cmd in cmds.items():
                best[name] = min(best.get(name, math.inf), timed_process(cmd)[0])
    for name, seconds in best.items():
        print(f"  {name:<32} {seconds:6.2f} s")
    torch_s = best["python -c 'import torch'"]
    print(f"  studies: {best['python -m core studies']:.2f} s (target < 1 s); run polynomial − import torch: "
          f"{best['python -m core run polynomial'] - torch_s:+.2f} s (target ≤ +1.5 s)")


# --- MNIST ----------------------------------------------------------------------------------------


def mnist(epochs: int, repeats: int) -> None:
    import torch
    import torch.nn.functional as F

    os.environ.update(OVERFIT_LAB_OFFLINE="1", OVERFIT_LAB_DATA=str(MNIST_DIR))
    from core.data import DataUnavailable, mnist as load_mnist
    from core.engines import ModuleEngine
    from core.loop import Loop
    from core.models import mlp
    from core.training import TrainConfig

    try:
        data = load_mnist()
    except DataUnavailable as exc:
        print(f"\n3. MNIST: skipped ({exc})")
        return
    n, n_eval = len(data.train), sum(len(s) for s in data.splits().values())
    print(f"\n3. MNIST MLP 784-256-256-10, adam lr 1e-3, {epochs} epochs, {n} training images, "
          f"{n_eval} evaluated after every epoch; {torch.get_num_threads()} thread(s); best of {repeats}")

    def model():
        return mlp(data.n_inputs, 10, torch.Generator().manual_seed(0), hidden=256, depth=2, activation="relu")

    def plain(batch: int) -> float:
        m = model()
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        X, y = data.train.X, data.train.y
        g = torch.Generator().manual_seed(0)
        m.train()
        t0 = time.perf_counter()
        for _ in range(epochs):
            for idx in torch.randperm(n, generator=g).split(batch):
                opt.zero_grad()
                F.cross_entropy(m(X[idx]), y[idx]).backward()
                opt.step()
        return time.perf_counter() - t0

    def ours(batch: int) -> tuple[float, float]:
        loop = Loop(ModuleEngine(model(), data, TrainConfig(epochs=epochs, lr=1e-3, batch_size=batch, optimizer="adam")), epochs)
        loop.run()
        return loop.seconds["train"], loop.seconds["evaluate"]

    plain(256), ours(256)  # warm-up: first-call costs out of both
    for batch in (256, 64):
        p, o = [], []
        for _ in range(repeats):  # alternate, so a busy moment hits both
            p.append(plain(batch))
            o.append(ours(batch))
        t_plain = min(p)
        t_train, t_eval = min(o, key=lambda te: te[0])
        samples = n * epochs
        print(f"  batch {batch:>3}: plain tensor-indexing loop {samples / t_plain:7.0f} samples/s; the loop's training "
              f"{samples / t_train:7.0f} samples/s = {t_plain / t_train:.2f}× (target ≥ 0.9×); its per-epoch evaluation "
              f"adds {t_eval / t_train:.0%} (target ≤ 45%)")


# --- bmm against vmap -----------------------------------------------------------------------------


def compare_vmap(steps: int = 200) -> None:
    """One training step (forward + gradients) of 100 stacked 2-16-16-2 models: bmm + autograd vs torch.func."""
    import copy

    import torch
    import torch.nn.functional as F
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
    print(f"  bmm + autograd (stacked engine): {t_bmm:7.0f} µs")
    print(f"  torch.func vmap(grad(...)):      {t_vmap:7.0f} µs  ({t_vmap / t_bmm:.1f}× the bmm time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 plain-loop fits scaled to 100; 1 MNIST epoch")
    parser.add_argument("--only", choices=("sweep", "startup", "mnist"), help="run one part")
    parser.add_argument("--repeats", type=int, default=3, help="alternating passes of each side; the best is reported")
    parser.add_argument("--compare-vmap", action="store_true", help="also time bmm+autograd against torch.func vmap")
    parser.add_argument("--plain-script", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_script:
        return plain_script(args.plain_script)
    import torch

    torch.set_num_threads(int(ENV["OVERFIT_LAB_THREADS"]))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {os.cpu_count()} CPUs, load average {load:.1f}")
    if args.only in (None, "sweep"):
        sweep(args.quick, args.repeats)
    if args.only in (None, "startup"):
        startup()
    if args.only in (None, "mnist"):
        mnist(1 if args.quick else 3, args.repeats)
    if args.compare_vmap:
        compare_vmap()


if __name__ == "__main__":
    main()
