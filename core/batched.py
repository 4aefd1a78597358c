"""Batched training: many small models of one shape, differing only in numbers, trained as one computation.

M models (an MLP from `core.models.mlp`, or a linear / polynomial / softmax regression, i.e. an MLP of depth 0)
that differ only in learning rate, weight decay, L1/L2/p-norm strength, dropout rate, epochs, fold and seed
are stacked: every parameter of every model lives in one flat tensor `flat[M, P]`, layer weights are views of
it shaped [M, out, in], and a forward pass is a chain of `torch.baddbmm` calls on inputs shaped [M, batch, in].
One backward pass of the summed per-model losses gives every model its own gradient (the models share no
computation, so model m's gradient depends on model m's loss only), and the optimizers (sgd, momentum, adam,
adamw) are written out on `flat` with per-model learning rates and decay coefficients.

Why bmm + autograd rather than `torch.func` (`stack_module_state` + `vmap` + `grad`): on a CPU, for models this
small, the time goes into per-operation overhead, not arithmetic. vmap runs the same batched kernels underneath
but adds its own dispatch layer and a `functional_call` per step, and it cannot give each model its own seeded
generator for batch order and dropout. Measured on the shared 2-core machine (`bench/batched_sweep.py
--compare-vmap`, forward + gradients of 100 stacked 2-16-16-2 models, batch 32): bmm + autograd 1.4-3.2 ms,
vmap 3.4-4.9 ms per step (1.5-2.7x slower). A hand-written backward would save the autograd engine's overhead
but duplicate every layer's derivative; autograd keeps one definition of the forward.

Each model is "the same run as training it alone" (`core.studies.run_study` → `core.training.fit`):

- its data is `prepare(study.data(cfg), seed, ..., fold, folds)` exactly as `run_one` makes it;
- its initial weights are those of `study.model(cfg, data, generator(seed, "init"))`, built and then stacked;
- its batch order is `torch.randperm(n, generator=Generator().manual_seed(seed))` per epoch, split into
  batches of `batch_size` with the last one partial, as `fit` does;
- its dropout masks come from `Generator().manual_seed(seed + 2)`, drawn in the same order and amount as the
  seeded `core.models.Dropout` layers draw them (a whole epoch's draws are made in one call: the CPU generator
  gives the same numbers whether drawn at once or piece by piece, which `_stream_splits` checks);
- its penalty, weight decay (biases excluded unless decay_bias) and L1 proximal step follow
  `core.penalties.Penalty` and `core.training.make_optimizer`;
- after every epoch every split is evaluated in eval mode, giving the same tidy history and the same final
  metrics; a NaN/inf makes that model 'diverged' and stops it alone; early stopping keeps a per-model
  "stopped" mask (stopped models no longer update) and restores each model's best weights when asked.

Models whose training sets differ in size (uneven folds, learning-curve sizes) are padded, not grouped: each
model's epoch is laid out in rows [0, n_m) of a [M, n_batches·batch_size] index tensor, a row mask weights the
loss by 1/b (b the model's own batch size at that step), and a model with fewer batches skips the steps it has
none (no update, no optimizer-state change). Results match the serial path up to float rounding (the batched
kernels sum in another order), typically ~1e-6 relative after a few hundred steps.

Cost: stopped models are still computed (their updates are masked), so a sweep where most models stop early
gains less. The batched operations are large enough to use several intra-op threads; on a busy shared machine
`torch.set_num_threads(1)` can be much faster (see bench/README.md). `duration_s` of each run is the batch's
time divided by its number of models, plus that model's own report.

Not batched (`can_batch` says why): batch norm, nn.Dropout, the from-scratch model and its manual step,
augmentation, clear_grad=False, different architectures, batch sizes or optimizers.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .data.bundle import DataBundle, Split, generator
from .data.splits import prepare
from .models import Dropout
from .studies.base import Report, RunResult, Study, _clean, check_run, config_dict
from .training import EVAL_CHUNK, FitResult, TrainConfig

Point = tuple[Any, int | None, int | None]  # (study config, fold, folds)

_ACTS = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.LeakyReLU: "leaky_relu"}
_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8  # torch.optim.Adam/AdamW defaults, as make_optimizer uses them
MAX_MODELS = 512  # models trained together at most; more are trained in consecutive groups


# --- which points can be batched ------------------------------------------------------------------


@dataclass(frozen=True)
class _Op:
    kind: str  # 'linear', 'act' or 'dropout'
    n_in: int = 0
    n_out: int = 0
    bias: bool = True
    act: str = ""
    slope: float = 0.0

    def signature(self) -> tuple:
        return (self.kind, self.n_in, self.n_out, self.bias, self.act, self.slope)


@dataclass
class _Spec:
    """A model reduced to what the batched forward needs: flatten?, ops (dropout sites included), rates."""

    flatten: bool
    ops: list[_Op]  # without dropout
    sites: dict[int, float]  # dropout position (number of ops before it) -> rate

    @property
    def signature(self) -> tuple:
        return (self.flatten, tuple(op.signature() for op in self.ops))


def _spec(model: nn.Module) -> tuple[_Spec | None, str]:
    """The batched form of a model, or None and the reason it has none."""
    if type(model) is not nn.Sequential:
        return None, f"the model is a {type(model).__name__}, not an MLP (a Sequential of Linear, activation and Dropout layers)"
    flatten, ops, sites = False, [], {}
    for i, layer in enumerate(model):
        kind = type(layer)
        if kind is nn.Flatten:
            if i != 0 or layer.start_dim != 1 or layer.end_dim != -1:
                return None, "the model flattens somewhere other than at its input"
            flatten = True
        elif kind is nn.Linear:
            ops.append(_Op("linear", layer.in_features, layer.out_features, layer.bias is not None))
        elif kind in _ACTS:
            ops.append(_Op("act", act=_ACTS[kind], slope=float(getattr(layer, "negative_slope", 0.0))))
        elif kind is Dropout:
            if len(ops) in sites:
                return None, "the model has two dropout layers in a row"
            sites[len(ops)] = layer.p
        elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
            return None, "the model uses batch norm (its statistics mix the examples of a batch); train one by one"
        else:
            return None, f"the model has a {kind.__name__} layer, which batched training does not support"
    if not any(op.kind == "linear" for op in ops):
        return None, "the model has no Linear layer"
    return _Spec(flatten, ops, sites), ""


def _train_config_reason(tc: TrainConfig) -> str:
    if tc.optimizer not in ("sgd", "momentum", "adam", "adamw"):
        return f"optimizer {tc.optimizer!r} (the hand-written step) is not batched"
    if tc.augment is not None:
        return "augmentation draws per-batch transforms; augmented runs train one by one"
    if not tc.clear_grad:
        return "clear_grad=False (accumulating gradients) trains one by one"
    if not tc.shuffle:
        return "unshuffled batches are not batched"
    return ""


@lru_cache(maxsize=1)
def _stream_splits() -> bool:
    """Whether this torch's CPU generator gives the same uniform numbers drawn at once or in pieces."""
    sizes = (7, 32 * 16, 17 * 16, 1, 5000, 3)
    g = torch.Generator().manual_seed(123)
    pieces = torch.cat([torch.rand((s, 1), generator=g).flatten() for s in sizes])
    whole = torch.rand(sum(sizes), generator=torch.Generator().manual_seed(123))
    return torch.equal(pieces, whole)


def points(study: Study, configs: Sequence[Any], folds: int | None = None) -> list[Point]:
    """Expand configs into (config, fold, folds) points in run_study's order: config, expansion, fold.

    A config is a study config or a dict of values; a dict may carry `fold` and `folds` (as a RunResult's
    config does) to name one fold. `folds=K` runs every other config on all K folds.
    """
    out: list[Point] = []
    for item in configs:
        fold_of, folds_of = None, folds
        if dataclasses.is_dataclass(item):
            cfg = item
        else:
            values = dict(item)
            fold_of = values.pop("fold", None)
            folds_of = values.pop("folds", None) or folds
            cfg = study.config(values)
        check_run(cfg, folds_of)
        if fold_of is not None and not (folds_of and 0 <= int(fold_of) < folds_of):
            raise ValueError(f"fold: {fold_of} is not allowed; expected an int in [0, {(folds_of or 1) - 1}]")
        fold_list = [int(fold_of)] if fold_of is not None else (list(range(folds_of)) if folds_of else [None])
        for cfg_i in study.expand(cfg) if study.expand else [cfg]:
            out.extend((cfg_i, f, folds_of) for f in fold_list)
    return out


def can_batch(study: Study, configs: Sequence[Any], folds: int | None = None) -> tuple[bool, str]:
    """Whether these points can train as one batched computation, and why (or why not)."""
    try:
        pts = points(study, configs, folds)
    except ValueError as exc:
        return False, str(exc)
    return _check(study, pts, {})


def _check(study: Study, pts: list[Point], bases: dict[tuple, DataBundle]) -> tuple[bool, str]:
    """can_batch on expanded points; fills `bases` (study.data per distinct config) on the way."""
    if not pts:
        return False, "no runs to train"
    first_tc: TrainConfig | None = None
    first_sig, first_task = None, None
    seen: set[tuple] = set()
    for cfg, _, _ in pts:
        tc = study.train_config(cfg)
        reason = _train_config_reason(tc)
        if reason:
            return False, reason
        if first_tc is None:
            first_tc = tc
        elif tc.optimizer != first_tc.optimizer:
            return False, f"the runs use different optimizers ({first_tc.optimizer}, {tc.optimizer})"
        elif tc.batch_size != first_tc.batch_size:
            return False, f"the runs use different batch sizes ({first_tc.batch_size}, {tc.batch_size})"
        elif tc.momentum != first_tc.momentum:
            return False, "the runs use different momentum"
        key = _key(cfg)
        if key in seen:
            continue
        seen.add(key)
        if key not in bases:
            try:
                bases[key] = study.data(cfg)
            except Exception as exc:  # data that cannot load cannot train either way; say so
                return False, f"the data could not be loaded: {exc}"
        base = bases[key]
        spec, reason = _spec(study.model(cfg, base, generator(cfg.seed, "init")))
        if spec is None:
            return False, reason
        if any(p > 0 for p in spec.sites.values()) and not _stream_splits():
            return False, "this torch version's generator cannot reproduce the serial dropout masks in bulk"
        if not spec.flatten and base.train.X.ndim != 2:
            return False, "the model does not flatten its image input"
        if first_sig is None:
            first_sig, first_task = spec.signature, base.task
        elif spec.signature != first_sig:
            return False, "the runs build models of different shapes (layers, widths, activations or inputs)"
        elif base.task != first_task:
            return False, "the runs mix regression and classification"
    n = len(pts)
    return True, f"{n} run{'s' if n != 1 else ''} of one model shape train as one batched computation"


def _key(cfg: Any) -> tuple:
    return tuple(sorted(config_dict(cfg).items()))


# --- training -----------------------------------------------------------------------------------


@dataclass
class _Run:
    """One model of the stack: its point, data, serial twin (for init and unstacking) and its progress."""

    cfg: Any
    fold: int | None
    folds: int | None
    data: DataBundle
    model: nn.Module
    tc: TrainConfig
    patience: int
    min_delta: float
    restore_best: bool
    log: list[dict[str, float]] = field(default_factory=list)
    running: bool = True
    stop_reason: str | None = None
    best: float = math.inf
    best_epoch: int | None = None
    waited: int = 0
    has_best: bool = False


class _Rows:
    """One split of every model as row indices into a pool of distinct tensors (identical splits are stored once)."""

    def __init__(self, splits: Sequence[Split | None], flatten: bool):
        pool: list[Split] = []
        slots: list[int] = []
        for s in splits:
            slots.append(-1 if s is None else self._slot(pool, s))
        self.counts = torch.tensor([len(s) if s is not None else 0 for s in splits], dtype=torch.long)
        self.present = torch.tensor([sl >= 0 for sl in slots])
        self.shared = len(pool) == 1 and bool(self.present.all())
        starts = [0]
        for s in pool:
            starts.append(starts[-1] + len(s))
        self.offsets = torch.tensor([starts[sl] if sl >= 0 else 0 for sl in slots], dtype=torch.long)
        xs = [s.X.reshape(len(s), -1) if flatten else s.X for s in pool]
        self.X = torch.cat(xs) if xs else torch.zeros(0)
        self.y = torch.cat([s.y for s in pool]) if pool else torch.zeros(0)
        self.n_max = int(self.counts.max()) if len(self.counts) else 0

    @staticmethod
    def _slot(pool: list[Split], s: Split) -> int:
        for j, p in enumerate(pool):
            if p.X is s.X and p.y is s.y:
                return j
        for j, p in enumerate(pool):
            if p.X.shape == s.X.shape and p.y.shape == s.y.shape and torch.equal(p.y, s.y) and torch.equal(p.X, s.X):
                return j
        pool.append(s)
        return len(pool) - 1


class _Stack:
    """The M models as one flat parameter tensor, with the batched forward, loss, optimizer and evaluation."""

    def __init__(self, runs: list[_Run], spec: _Spec, task: str):
        self.runs, self.spec, self.task = runs, spec, task
        self.M = M = len(runs)
        models = [r.model for r in runs]
        # parameter layout: the serial model's parameters in order, each a segment of flat
        self.segments: list[tuple[str, int, int, torch.Size]] = []
        start = 0
        for name, p in models[0].named_parameters():
            self.segments.append((name, start, start + p.numel(), p.shape))
            start += p.numel()
        self.P = start
        self.flat = torch.stack([torch.cat([p.detach().reshape(-1) for p in m.parameters()]) for m in models])
        # which elements weight decay and penalties act on (weights; biases too where decay_bias)
        is_weight = torch.zeros(self.P, dtype=torch.bool)
        for name, a, b, shape in self.segments:
            if len(shape) >= 2:
                is_weight[a:b] = True
        decay_bias = torch.tensor([r.tc.decay_bias for r in runs]).unsqueeze(1)
        penalised = is_weight.unsqueeze(0) | decay_bias  # [M, P]
        f64 = lambda vals: torch.tensor(vals, dtype=torch.float64).unsqueeze(1)  # noqa: E731
        tcs = [r.tc for r in runs]
        self.lr64 = f64([tc.lr for tc in tcs])
        self.neg_lr32 = (-self.lr64).float()
        self.optimizer = tcs[0].optimizer
        self.momentum = tcs[0].momentum
        wd = f64([tc.weight_decay for tc in tcs])
        pen = penalised.to(torch.float32)
        if self.optimizer == "adamw":
            self.wd_coef = None
            factor = (1 - self.lr64 * wd).float()  # decoupled: p <- p·(1 − lr·wd) before the step
            self.decay_factor = torch.where(penalised & (wd > 0), factor, torch.ones(()))
            if not bool((self.decay_factor != 1).any()):
                self.decay_factor = None
        else:
            self.decay_factor = None
            self.wd_coef = wd.float() * pen if bool((wd > 0).any()) else None
        l1 = f64([tc.penalty.l1 for tc in tcs])
        loss_mode = torch.tensor([tc.penalty.l1_mode == "loss" for tc in tcs]).unsqueeze(1)
        self.l1_coef = torch.where(loss_mode, l1.float(), torch.zeros(())) * pen if bool(((l1 > 0) & loss_mode).any()) else None
        l2 = f64([tc.penalty.l2 for tc in tcs])
        self.l2_coef = (l2 / 2).float() * pen if bool((l2 > 0).any()) else None
        lp = f64([tc.penalty.lp for tc in tcs])
        pexp = f64([tc.penalty.p for tc in tcs])
        self.lp_coef = (lp / pexp).float() * pen if bool((lp > 0).any()) else None
        self.p_exp = pexp.float()
        prox = (l1 > 0) & ~loss_mode
        self.shrink = torch.where(prox, (self.lr64 * l1).float(), torch.zeros(())) * pen if bool(prox.any()) else None
        # optimizer state
        self.steps = torch.zeros(M, 1, dtype=torch.float64)
        if self.optimizer == "momentum":
            self.buf = torch.zeros(M, self.P)
        if self.optimizer in ("adam", "adamw"):
            self.exp_avg = torch.zeros(M, self.P)
            self.exp_avg_sq = torch.zeros(M, self.P)
        # dropout: rates per site and model (0 where a model has no dropout layer there)
        run_sites = [_spec(r.model)[0].sites for r in runs]
        self.sites = sorted({pos for s in run_sites for pos in s})
        self.rates = {pos: [s.get(pos, 0.0) for s in run_sites] for pos in self.sites}
        widths = {}
        width = None
        for i, op in enumerate(spec.ops):
            if op.kind == "linear":
                width = op.n_out
            widths[i + 1] = width
        self.site_width = {pos: widths[pos] for pos in self.sites}
        self.scales = {pos: torch.tensor([1.0 - p for p in self.rates[pos]], dtype=torch.float32).view(M, 1, 1) for pos in self.sites}
        self.best_flat = self.flat.clone()
        # data, as row pools
        self.evals = {name: _Rows([r.data.splits().get(name) for r in runs], spec.flatten) for name in ("train", "val", "test")}
        self.train = self.evals["train"]
        self.batch_size = runs[0].tc.batch_size
        self.order_g = [torch.Generator().manual_seed(r.tc.seed) for r in runs]
        self.drop_g = [torch.Generator().manual_seed(r.tc.seed + 2) for r in runs]
        self.max_width = max([spec.ops[0].n_in] + [op.n_out for op in spec.ops if op.kind == "linear"])

    # forward ---------------------------------------------------------------------------------------

    def forward(self, flat: torch.Tensor, h: torch.Tensor, keeps: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        """Outputs [M', n, out] of the stacked models for inputs [M' or 1, n, in]; dropout masks when training."""
        Mp = flat.shape[0]
        seg = iter(self.segments)
        for i, op in enumerate(self.spec.ops):
            if op.kind == "linear":
                _, a, b, _ = next(seg)
                W = flat[:, a:b].view(Mp, op.n_out, op.n_in).transpose(1, 2)
                if h.shape[0] != Mp:
                    h = h.expand(Mp, *h.shape[1:])
                if op.bias:
                    _, a, b, _ = next(seg)
                    h = torch.baddbmm(flat[:, a:b].unsqueeze(1), h, W)
                else:
                    h = torch.bmm(h, W)
            elif op.act == "relu":
                h = torch.relu(h)
            elif op.act == "tanh":
                h = torch.tanh(h)
            elif op.act == "sigmoid":
                h = torch.sigmoid(h)
            else:
                h = F.leaky_relu(h, op.slope)
            if keeps is not None and (i + 1) in keeps:
                h = h * keeps[i + 1] / self.scales[i + 1]
        return h

    def row_losses(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-example loss [M, n]: cross-entropy, or squared error averaged over output columns."""
        if self.task == "classification":
            return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), reduction="none").view(out.shape[:2])
        return (out - y).pow(2).mean(-1)

    # one epoch -------------------------------------------------------------------------------------

    def epoch_layout(self, running: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[int, torch.Tensor], int]:
        """Row indices [M, nb·B] (model m's permutation in rows [0, n_m)), their validity, dropout keeps, nb."""
        M, B = self.M, self.batch_size
        counts = self.train.counts
        run_idx = [m for m in range(M) if running[m]]
        n_max = int(max(int(counts[m]) for m in run_idx))
        nb = -(-n_max // B)
        width = nb * B
        idx = torch.zeros(M, width, dtype=torch.long)
        valid = torch.zeros(M, width, dtype=torch.bool)
        uniform = all(int(counts[m]) == n_max for m in run_idx)
        perms = [torch.randperm(int(counts[m]), generator=self.order_g[m]) for m in run_idx]
        if uniform and len(run_idx) == M:
            idx[:, :n_max] = torch.stack(perms)
            valid[:, :n_max] = True
        else:
            for m, perm in zip(run_idx, perms):
                idx[m, : len(perm)] = perm
                valid[m, : len(perm)] = True
        idx += self.train.offsets.unsqueeze(1)
        keeps = self.dropout_keeps(run_idx, width) if self.sites else {}
        return idx, valid, keeps, nb

    def dropout_keeps(self, run_idx: list[int], width: int) -> dict[int, torch.Tensor]:
        """Keep masks [M, rows, H] per dropout site, row r of model m aligned with its index row r.

        The serial Dropout layers draw torch.rand(b, H) per site per batch, in forward order, from the model's
        generator: for one epoch that is one stream of n·ΣH numbers, cut batch by batch and site by site.
        """
        B = self.batch_size
        keeps = {pos: torch.ones(self.M, width, self.site_width[pos]) for pos in self.sites}
        groups: dict[tuple, list[int]] = {}
        for m in run_idx:
            active = tuple(pos for pos in self.sites if self.rates[pos][m] > 0)
            if active:
                groups.setdefault((int(self.train.counts[m]), active), []).append(m)
        for (n, active), members in groups.items():
            H = [self.site_width[pos] for pos in active]
            total = sum(H)
            stream = torch.stack([torch.rand(n * total, generator=self.drop_g[m]) for m in members])
            G, nf, rem = len(members), n // B, n % B
            full = stream[:, : nf * B * total].view(G, nf, B * total)
            tail = stream[:, nf * B * total :]
            off = 0
            for pos, h in zip(active, H):
                u = full[:, :, off * B : (off + h) * B].reshape(G, nf * B, h)
                if rem:
                    u = torch.cat([u, tail[:, off * rem : (off + h) * rem].reshape(G, rem, h)], dim=1)
                p = torch.tensor([self.rates[pos][m] for m in members]).view(G, 1, 1)
                keeps[pos][members, :n] = (u >= p).to(torch.float32)
                off += h
        return keeps

    def train_epoch(self, running: torch.Tensor) -> None:
        """One epoch of every running model: each its own batches, dropout masks, loss, penalty and step."""
        B = self.batch_size
        idx, valid, keeps, nb = self.epoch_layout(running)
        counts = self.train.counts
        nbatches = -(-counts // B)  # batches of each model this epoch
        flat = self.flat
        for t in range(nb):
            cols = slice(t * B, (t + 1) * B)
            active = running & (nbatches > t)
            sizes = valid[:, cols].sum(1)
            act_sizes = sizes[active]
            uniform = bool((act_sizes == act_sizes[0]).all())  # then no row mask: rows past b are unused
            b = int(act_sizes[0]) if uniform else B
            rows = slice(t * B, t * B + b)
            gidx = idx[:, rows]
            xb, yb = self.train.X[gidx], self.train.y[gidx]
            leaf = flat.detach().requires_grad_(True)
            out = self.forward(leaf, xb, {pos: k[:, rows] for pos, k in keeps.items()} if keeps else None)
            losses = self.row_losses(out, yb)
            if uniform:
                data_loss = losses.mean(1)
            else:
                w = valid[:, rows].to(torch.float32) / sizes.clamp_min(1).unsqueeze(1)
                data_loss = (losses * w).sum(1)
            total = data_loss.sum() + self.penalty(leaf)
            (grad,) = torch.autograd.grad(total, leaf)
            with torch.no_grad():
                self.step(grad, active)

    def penalty(self, flat: torch.Tensor) -> torch.Tensor | float:
        """Σ over models of λ1·Σ|w| + λ2/2·Σw² + λp/p·Σ|w|^p (loss-mode L1 only; proximal L1 acts after the step)."""
        total: torch.Tensor | float = 0.0
        if self.l1_coef is not None:
            total = total + (flat.abs() * self.l1_coef).sum()
        if self.l2_coef is not None:
            total = total + (flat * flat * self.l2_coef).sum()
        if self.lp_coef is not None:
            total = total + (flat.abs().clamp_min(1e-12).pow(self.p_exp) * self.lp_coef).sum()
        return total

    def step(self, g: torch.Tensor, active: torch.Tensor) -> None:
        """The optimizer step (as torch.optim's single-tensor code) for the active models only."""
        p = self.flat
        everyone = bool(active.all())
        col = active.unsqueeze(1)

        def put(target: torch.Tensor, new: torch.Tensor) -> None:
            target.copy_(new if everyone else torch.where(col, new, target))

        if self.wd_coef is not None:
            g = g + self.wd_coef * p
        if self.optimizer == "sgd":
            put(p, p + self.neg_lr32 * g)
        elif self.optimizer == "momentum":
            put(self.buf, self.buf * self.momentum + g)
            put(p, p + self.neg_lr32 * self.buf)
        else:
            self.steps += col.to(torch.float64)
            steps = self.steps.clamp_min(1)
            step_size = (self.lr64 / (1 - _BETA1**steps)).float()
            bc2_sqrt = ((1 - _BETA2**steps) ** 0.5).float()
            new_p = p * self.decay_factor if self.decay_factor is not None else p
            put(self.exp_avg, self.exp_avg.lerp(g, 1 - _BETA1))
            put(self.exp_avg_sq, torch.addcmul(self.exp_avg_sq * _BETA2, g, g, value=1 - _BETA2))
            denom = self.exp_avg_sq.sqrt() / bc2_sqrt + _EPS
            put(p, new_p + (-step_size) * self.exp_avg / denom)
        if self.shrink is not None:
            shrink = self.shrink if everyone else self.shrink * col
            p.copy_(torch.sign(p) * (p.abs() - shrink).clamp_min(0.0))

    # evaluation --------------------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self) -> dict[str, list[float]]:
        """{split}_loss / {split}_acc of every model (NaN where a model lacks the split), in eval mode."""
        out: dict[str, list[float]] = {}
        flat = self.flat
        for name, rows in self.evals.items():
            if not bool(rows.present.any()):
                continue
            loss_sum = torch.zeros(self.M, dtype=torch.float64)
            correct = torch.zeros(self.M, dtype=torch.float64)
            chunk = max(1, min(EVAL_CHUNK, 4_000_000 // max(1, self.M * self.max_width)))
            for start in range(0, rows.n_max, chunk):
                stop = min(rows.n_max, start + chunk)
                if rows.shared:
                    x = rows.X[start:stop].unsqueeze(0)  # one split for all: broadcast, not copied
                    y = rows.y[start:stop]
                    y = y.unsqueeze(0).expand(self.M, *y.shape)
                    mask = None
                else:
                    local = torch.arange(start, stop)
                    mask = local.unsqueeze(0) < rows.counts.unsqueeze(1)
                    gidx = torch.where(mask, local + rows.offsets.unsqueeze(1), rows.offsets.unsqueeze(1))
                    x, y = rows.X[gidx], rows.y[gidx]
                logits = self.forward(flat, x)
                losses = self.row_losses(logits, y).double()
                if mask is not None:
                    losses = losses * mask
                loss_sum += losses.sum(1)
                if self.task == "classification":
                    hit = logits.argmax(-1) == y
                    if mask is not None:
                        hit &= mask
                    correct += hit.sum(1)
            n = rows.counts.to(torch.float64).clamp_min(1)
            nan = torch.full((self.M,), math.nan, dtype=torch.float64)
            out[f"{name}_loss"] = torch.where(rows.present, loss_sum / n, nan).tolist()
            if self.task == "classification":
                out[f"{name}_acc"] = torch.where(rows.present, correct / n, nan).tolist()
        return out

    def unstack(self, m: int) -> nn.Module:
        """Model m as its real nn.Module (the serial twin, now holding the trained weights)."""
        model = self.runs[m].model
        with torch.no_grad():
            for (_, a, b, shape), p in zip(self.segments, model.parameters()):
                p.copy_(self.flat[m, a:b].view(shape))
        return model


def train_batched(
    study: Study,
    configs: Sequence[Any],
    folds: int | None = None,
    *,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    store=None,
    sweep_id: str | None = None,
    report: bool = True,
    max_models: int = MAX_MODELS,
) -> list[RunResult]:
    """Train every (config, fold) point as one batched computation; one RunResult per point, as run_study gives.

    `configs`: study configs or dicts (a dict may carry fold/folds); `folds=K` runs every config on all K folds.
    Results come in run_study's order (config, expansion, fold), each with the config (fold/folds included),
    metrics (the fit metrics, the study's report metrics, train_examples, and duration_s = the batch's seconds
    divided by its number of models), status ('ok', 'diverged' or 'cancelled'), tidy history, the report's
    frames (`report=False` skips the report) and the trained model. `progress(fraction, text)` is called after
    every epoch; when `should_stop()` turns True, the models still training end 'cancelled' (not stored).
    Raises ValueError when the points cannot be batched (see `can_batch`).
    """
    pts = points(study, configs, folds)
    bases: dict[tuple, DataBundle] = {}
    ok, reason = _check(study, pts, bases)
    if not ok:
        raise ValueError(f"batched training does not apply: {reason}")
    results: list[RunResult] = []
    for start in range(0, len(pts), max_models):
        group = pts[start : start + max_models]
        done = start

        def part(f: float, text: str, done=done, n=len(group)) -> None:
            if progress is not None:
                progress((done + f * n) / len(pts), text)

        results.extend(_train_group(study, group, bases, part, should_stop, report))
        if should_stop is not None and any(r.status == "cancelled" for r in results):
            break
    if store is not None:
        for r in results:
            if r.status != "cancelled":
                r.run_id = store.save_run(r, sweep_id=sweep_id)
    return results


def _train_group(study: Study, pts: list[Point], bases: dict, progress, should_stop, want_report: bool) -> list[RunResult]:
    started = time.perf_counter()
    runs: list[_Run] = []
    for cfg, fold, folds in pts:
        key = _key(cfg)
        if key not in bases:
            bases[key] = study.data(cfg)
        get = lambda name, default, cfg=cfg: getattr(cfg, name, default)  # noqa: E731
        data = prepare(bases[key], cfg.seed, train_size=get("train_size", 1.0), val_fraction=get("val_fraction", 0.0),
                       label_noise=get("label_noise", 0.0), fold=fold, folds=folds)
        model = study.model(cfg, data, generator(cfg.seed, "init"))
        runs.append(_Run(cfg, fold, folds, data, model, study.train_config(cfg), get("patience", 0), get("min_delta", 0.0),
                         get("restore_best", True)))
    spec, _ = _spec(runs[0].model)
    stack = _Stack(runs, spec, runs[0].data.task)
    M = len(runs)
    max_epochs = max(r.tc.epochs for r in runs)
    running = torch.ones(M, dtype=torch.bool)
    for epoch in range(1, max_epochs + 1):
        stack.train_epoch(running)
        logs = stack.evaluate()
        cancel = should_stop is not None and should_stop()
        improved = torch.zeros(M, dtype=torch.bool)
        for m, run in enumerate(runs):
            if not running[m]:
                continue
            splits = run.data.splits()
            rec = {"epoch": epoch, **{k: v[m] for k, v in logs.items() if k.rsplit("_", 1)[0] in splits}}
            run.log.append(rec)
            if not all(math.isfinite(v) for v in rec.values()):
                run.stop_reason = "diverged"  # as fit: no callbacks after a non-finite epoch
            else:
                if run.patience > 0:  # EarlyStopping(val_loss, patience, min_delta, restore_best).on_epoch_end
                    value = rec["val_loss"]
                    if value < run.best - run.min_delta:
                        run.best, run.best_epoch, run.waited = value, epoch, 0
                        if run.restore_best:
                            improved[m] = run.has_best = True
                    else:
                        run.waited += 1
                        if run.waited >= run.patience:
                            run.stop_reason = "early_stopping"
                if cancel:  # Cancel runs after EarlyStopping and overrides it, as in run_study
                    run.stop_reason = "cancelled"
            if run.stop_reason or epoch >= run.tc.epochs:
                running[m] = False
        if bool(improved.any()):
            stack.best_flat[improved] = stack.flat[improved]
        progress(epoch / max_epochs, f"{M} batched runs: epoch {epoch}/{max_epochs}")
        if not bool(running.any()):
            break
    # on_train_end: restore each model's best weights where early stopping kept them
    restore = torch.tensor([r.has_best for r in runs])
    if bool(restore.any()):
        stack.flat[restore] = stack.best_flat[restore]
    final = stack.evaluate()
    per_model_s = (time.perf_counter() - started) / M  # the report's time is added per model below
    results = []
    for m, run in enumerate(runs):
        status = {"diverged": "diverged", "cancelled": "cancelled"}.get(run.stop_reason or "", "ok")
        kinds = ("loss", "acc") if stack.task == "classification" else ("loss",)
        if status == "diverged":  # as fit's _nan_metrics: every loss, then every accuracy, all NaN
            metrics: dict[str, Any] = {f"{s}_{k}": math.nan for k in kinds for s in run.data.splits()}
        else:  # as evaluate_all: per split, loss then accuracy
            metrics = {f"{s}_{k}": final[f"{s}_{k}"][m] for s in run.data.splits() for k in kinds}
        metrics["epochs_run"] = len(run.log)
        metrics["stopped_early"] = run.stop_reason == "early_stopping"
        if run.best_epoch is not None:
            metrics["best_epoch"] = run.best_epoch
        fit_result = FitResult(status, metrics, run.log, run.best_epoch)
        t0 = time.perf_counter()
        model = stack.unstack(m)
        rep = study.report(run.cfg, model, run.data, fit_result) if want_report and study.report and status != "diverged" else Report()
        all_metrics = {**metrics, **rep.metrics, "train_examples": len(run.data.train),
                       "duration_s": round(per_model_s + time.perf_counter() - t0, 4)}
        config = config_dict(run.cfg)
        if run.folds:
            config.update(fold=run.fold, folds=run.folds)
        results.append(RunResult(study.id, config, _clean(all_metrics), status, fit_result.history, rep.frames, model))
    return results
