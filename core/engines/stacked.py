"""The stacked engine: many small models of one shape, differing only in numbers, trained as one computation.

M models (an MLP from `core.models.mlp`, or a linear / polynomial / softmax regression, i.e. an MLP of depth 0)
that differ only in learning rate, weight decay, L1/L2/p-norm strength and mode, dropout rate, epochs, early
stopping settings, fold and seed are stacked: every parameter of every model lives in one flat tensor
`flat[M, P]`, layer weights are views of it shaped [M, out, in], and a forward pass is a chain of
`torch.baddbmm` calls on inputs shaped [M, batch, in]. One backward pass of the summed per-model losses gives
every model its own gradient (the models share no computation, so model m's gradient depends on model m's
loss only), and the optimizers (sgd, momentum, adam, adamw) are written out on `flat` with per-model learning
rates and decay coefficients.

Why bmm + autograd rather than `torch.func` (`stack_module_state` + `vmap` + `grad`): on a CPU, for models this
small, the time goes into per-operation overhead, not arithmetic. vmap runs the same batched kernels underneath
but adds its own dispatch layer and a `functional_call` per step, and it cannot give each model its own seeded
generator for batch order and dropout (measured 1.5-2.7x slower per step, `bench/engine.py --compare-vmap`).

Each model is "the same run as training it alone" with the module engine:

- its data and initial weights are those the pipeline prepared for it (`core.pipeline.setup`);
- its batch order is `torch.randperm(n, generator=Generator().manual_seed(seed))` per epoch, split into
  batches of `batch_size` with the last one partial, as `core.training.batches` does;
- its dropout masks come from `Generator().manual_seed(seed + 2)`, drawn in the same order and amount as the
  seeded `core.models.Dropout` layers draw them (a whole epoch's draws are made in one call: the CPU generator
  gives the same numbers whether drawn at once or piece by piece, which `_stream_splits` checks);
- its penalty and L1 proximal step are `core.penalties.penalty_term` / `soft_threshold_` with per-model
  coefficients; weight decay acts on the parameters `core.models.penalised` names (biases only with
  decay_bias, frozen parameters never), as the module engine's optimizer groups do;
- a frozen parameter (requires_grad=False) is never updated: a per-element trainable mask keeps it as it was,
  and no gradient is computed for it (a frozen random first layer costs its forward pass only);
- criterion='mse' on classes is the squared error to the one-hot targets, as `core.training.onehot_mse`.

Models whose training sets differ in size (uneven folds, learning-curve sizes) are padded, not grouped: each
model's epoch is laid out in rows [0, n_m) of a [M, n_batches·batch_size] index tensor, a row mask weights the
loss by 1/b (b the model's own batch size at that step), and a model with fewer batches skips the steps it has
none (no update, no optimizer-state change). Results match the module engine up to float rounding (the batched
kernels sum in another order), typically ~1e-6 relative after a few hundred steps.

A step computes only the models that take it, so models that stopped early or ran out of batches cost nothing
more. What this engine cannot train faithfully it refuses by name (`stack_key`): batch norm, layers other than
Linear/activations/Dropout, the from-scratch model and its manual step, augmentation, clear_grad=False,
unshuffled batches (so the module engine's rule for batch norm, leaving out an epoch's last batch when it holds one
example, never applies here); and one engine takes one shape, optimizer, momentum, batch size and frozen pattern.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.bundle import DataBundle, Split
from ..i18n import N_, MessageError, Msg, MsgText
from ..models import Dropout, penalised
from ..optim import step_
from ..penalties import penalty_term, soft_threshold_
from ..training import EVAL_CHUNK, TrainConfig

_ACTS = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.LeakyReLU: "leaky_relu"}
# what each part of a stack key means, for the message when models of different keys are stacked together
_KEY_PARTS = ("model shapes (layers, widths, activations or inputs)", "tasks (regression and classification)",
              "optimizers", "batch sizes", "momentum", "frozen parameters", "criteria (loss functions)")


@dataclass(frozen=True)
class _Op:
    kind: str  # 'linear' or 'act'
    n_in: int = 0
    n_out: int = 0
    bias: bool = True
    act: str = ""
    slope: float = 0.0


@dataclass
class _Spec:
    """A model reduced to what the stacked forward needs: flatten?, ops, dropout sites and rates."""

    flatten: bool
    ops: list[_Op]  # without dropout
    sites: dict[int, float]  # dropout position (number of ops before it) -> rate

    @property
    def signature(self) -> tuple:
        return (self.flatten, tuple(self.ops))


def _why(msgid: str, **values) -> MsgText:
    """A reason a model cannot stack: English text (the CLI's plan) that a page can show translated."""
    return MsgText(Msg(msgid, **values))


def _spec(model: nn.Module) -> tuple[_Spec | None, str]:
    """The stacked form of a model, or None and the reason it has none."""
    if type(model) is not nn.Sequential:
        return None, _why(N_("the model is a {kind}, not an MLP (a Sequential of Linear, activation and Dropout layers)"),
                          kind=type(model).__name__)
    flatten, ops, sites = False, [], {}
    for i, layer in enumerate(model):
        kind = type(layer)
        if kind is nn.Flatten:
            if i != 0 or layer.start_dim != 1 or layer.end_dim != -1:
                return None, _why(N_("the model flattens somewhere other than at its input"))
            flatten = True
        elif kind is nn.Linear:
            ops.append(_Op("linear", layer.in_features, layer.out_features, layer.bias is not None))
        elif kind in _ACTS:
            ops.append(_Op("act", act=_ACTS[kind], slope=float(getattr(layer, "negative_slope", 0.0))))
        elif kind is Dropout:
            if len(ops) in sites:
                return None, _why(N_("the model has two dropout layers in a row"))
            sites[len(ops)] = layer.p
        elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
            return None, _why(N_("the model uses batch norm (its statistics mix the examples of a batch); it trains one by one"))
        else:
            return None, _why(N_("the model has a {kind} layer, which the stacked engine does not support"), kind=kind.__name__)
    if not any(op.kind == "linear" for op in ops):
        return None, _why(N_("the model has no Linear layer"))
    return _Spec(flatten, ops, sites), ""


def _train_config_reason(tc: TrainConfig) -> str:
    if tc.optimizer == "lstsq":
        return _why(N_("optimizer 'lstsq' (the closed-form solve) fits one model at a time"))
    if tc.optimizer not in ("sgd", "momentum", "adam", "adamw"):
        return _why(N_("optimizer {name!r} (the hand-written step) trains one by one"), name=tc.optimizer)
    if tc.augment is not None:
        return _why(N_("augmentation draws per-batch transforms; augmented runs train one by one"))
    if not tc.clear_grad:
        return _why(N_("clear_grad=False (accumulating gradients) trains one by one"))
    if not tc.shuffle:
        return _why(N_("unshuffled batches train one by one"))
    return ""


@lru_cache(maxsize=1)
def _stream_splits() -> bool:
    """Whether this torch's CPU generator gives the same uniform numbers drawn at once or in pieces."""
    sizes = (7, 32 * 16, 17 * 16, 1, 5000, 3)
    g = torch.Generator().manual_seed(123)
    pieces = torch.cat([torch.rand((s, 1), generator=g).flatten() for s in sizes])
    whole = torch.rand(sum(sizes), generator=torch.Generator().manual_seed(123))
    return torch.equal(pieces, whole)


def stack_key(model: nn.Module, data: DataBundle, tc: TrainConfig) -> tuple[tuple | None, str]:
    """What must be equal for models to share a stacked computation, or None and why this one cannot stack."""
    reason = _train_config_reason(tc)
    if reason:
        return None, reason
    spec, reason = _spec(model)
    if spec is None:
        return None, reason
    if any(p > 0 for p in spec.sites.values()) and not _stream_splits():
        return None, _why(N_("this torch version's generator cannot reproduce the serial dropout masks in bulk"))
    if not spec.flatten and data.train.X.ndim != 2:
        return None, _why(N_("the model does not flatten its image input"))
    frozen = tuple(not p.requires_grad for p in model.parameters())
    criterion = tc.criterion or ("mse" if data.task == "regression" else "cross_entropy")
    return (spec.signature, data.task, tc.optimizer, tc.batch_size, tc.momentum, frozen, criterion), ""


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


class _Tanh(torch.autograd.Function):
    """tanh computed as 2·σ(2x) − 1 (within 2e-7 of torch.tanh), with tanh's derivative 1 − y².

    torch's CPU tanh kernel takes about twice as long per element as its sigmoid (3.2 against 1.8 ns here,
    with the three extra passes), and tanh is most of a small tanh MLP's time.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        y = (x * 2).sigmoid_().mul_(2).sub_(1)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        return torch.ops.aten.tanh_backward(g, y)


def _tanh(h: torch.Tensor) -> torch.Tensor:
    return _Tanh.apply(h) if torch.is_grad_enabled() else (h * 2).sigmoid_().mul_(2).sub_(1)


def _f64(values: Sequence[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64).unsqueeze(1)


class StackedEngine:
    """M models of one shape as one flat parameter tensor, with the stacked forward, loss, optimizer and evaluation."""

    def __init__(self, models: Sequence[nn.Module], datas: Sequence[DataBundle], cfgs: Sequence[TrainConfig]):
        if not models or not len(models) == len(datas) == len(cfgs):
            raise ValueError("the stacked engine needs one data bundle and one train config per model, and at least one model")
        keys = []
        for model, data, tc in zip(models, datas, cfgs):
            key, reason = stack_key(model, data, tc)
            if key is None:
                raise MessageError(N_("the stacked engine cannot train this model: {reason}"), reason=getattr(reason, "msg", reason))
            keys.append(key)
        for key in keys[1:]:
            if key != keys[0]:
                part = next(name for name, a, b in zip(_KEY_PARTS, keys[0], key) if a != b)
                raise ValueError(f"the stacked engine trains models of one kind; these differ in {part}")
        spec, _ = _spec(models[0])
        self.models, self.datas, self.spec = list(models), list(datas), spec
        self.M = M = len(models)
        self.task = datas[0].task
        self.onehot = self.task == "classification" and keys[0][-1] == "mse"  # squared error to one-hot targets
        self.split_names = [tuple(d.splits()) for d in datas]
        # parameter layout: the module's parameters in order, each a segment of flat, a Linear weight [out, in]
        # stored transposed as [in, out] and a bias as [1, out], so that the per-model views are exactly the
        # operands of baddbmm (no view, transpose or unsqueeze in the autograd graph)
        self.segments: list[tuple[int, int, tuple[int, ...]]] = []
        is_weight, trainable = [], []
        start = 0
        for name, p in models[0].named_parameters():
            shape = (p.shape[1], p.shape[0]) if p.ndim == 2 else (1, p.numel())
            self.segments.append((start, start + p.numel(), shape))
            is_weight += [penalised(name, p, False)] * p.numel()
            trainable += [p.requires_grad] * p.numel()
            start += p.numel()
        self.P = start
        self.flat = torch.stack([torch.cat([(p.detach().t() if p.ndim == 2 else p.detach()).reshape(-1) for p in m.parameters()])
                                 for m in models])
        train_mask = torch.tensor(trainable).unsqueeze(0)
        self.trainable = None if bool(train_mask.all()) else train_mask  # frozen elements are never updated
        self.frozen = [not p.requires_grad for p in models[0].parameters()]  # per segment: no gradient is computed
        # which elements weight decay and penalties act on: core.models.penalised, per model (decay_bias)
        decay_bias = torch.tensor([tc.decay_bias for tc in cfgs]).unsqueeze(1)
        pen_mask = torch.where(decay_bias, train_mask, torch.tensor(is_weight).unsqueeze(0))  # [M, P]
        pen = pen_mask.to(torch.float32)
        self.lr = _f64([tc.lr for tc in cfgs])  # float64: Adam's bias corrections are computed in double, as torch does
        self.optimizer, self.momentum, self.batch_size = cfgs[0].optimizer, cfgs[0].momentum, cfgs[0].batch_size
        per_model = lambda values: _f64(values).float() * pen if any(values) else None  # noqa: E731
        self.weight_decay = per_model([tc.weight_decay for tc in cfgs])
        penalties = [tc.penalty for tc in cfgs]
        self.l1 = per_model([q.l1 if q.l1_mode == "loss" else 0.0 for q in penalties])
        self.l2 = per_model([q.l2 for q in penalties])
        self.lp = per_model([q.lp for q in penalties])
        self.p_exp = _f64([q.p for q in penalties]).float()
        self.penalised = any(c is not None for c in (self.l1, self.l2, self.lp))
        prox_l1 = [q.l1 if q.l1_mode == "proximal" else 0.0 for q in penalties]
        self.shrink = (self.lr * _f64(prox_l1)).float() * pen if any(prox_l1) else None
        # optimizer state, per model: a step count (a model that sits out a step does not count it) and buffers
        self.opt_state: dict[str, torch.Tensor] = {"step": torch.zeros(M, 1, dtype=torch.float64)}
        if self.optimizer == "momentum":
            self.opt_state["buf"] = torch.zeros(M, self.P)
        if self.optimizer in ("adam", "adamw"):
            self.opt_state["exp_avg"] = torch.zeros(M, self.P)
            self.opt_state["exp_avg_sq"] = torch.zeros(M, self.P)
        # dropout: rates per site and model (0 where a model has no dropout layer there)
        run_sites = [_spec(m)[0].sites for m in models]
        self.sites = sorted({pos for s in run_sites for pos in s})
        self.rates = {pos: [s.get(pos, 0.0) for s in run_sites] for pos in self.sites}
        widths, width = {}, None
        for i, op in enumerate(spec.ops):
            if op.kind == "linear":
                width = op.n_out
            widths[i + 1] = width
        self.site_width = {pos: widths[pos] for pos in self.sites}
        self.scales = {pos: torch.tensor([1.0 - p for p in self.rates[pos]], dtype=torch.float32).view(M, 1, 1) for pos in self.sites}
        # data, as row pools
        self.evals = {name: _Rows([d.splits().get(name) for d in datas], spec.flatten) for name in ("train", "val", "test")}
        self.train = self.evals["train"]
        self.order_g = [torch.Generator().manual_seed(tc.seed) for tc in cfgs]
        self.drop_g = [torch.Generator().manual_seed(tc.seed + 2) for tc in cfgs]
        self.max_width = max([spec.ops[0].n_in] + [op.n_out for op in spec.ops if op.kind == "linear"])

    # forward ---------------------------------------------------------------------------------------

    def params(self) -> list[torch.Tensor]:
        """Each parameter segment of every model as a view of flat: weights [M, in, out], biases [M, 1, out]."""
        return [self.flat[:, a:b].view(self.M, *shape) for a, b, shape in self.segments]

    def forward(self, params: Sequence[torch.Tensor], h: torch.Tensor, keeps: dict[int, torch.Tensor] | None = None,
                sel: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs [M', n, out] of the stacked models for inputs [M' or 1, n, in], given the parameter segments
        as `params()` gives them (or their rows `sel`); dropout keep masks when training."""
        Mp = params[0].shape[0]
        seg = iter(params)
        for i, op in enumerate(self.spec.ops):
            if op.kind == "linear":
                W = next(seg)
                if h.shape[0] != Mp:
                    h = h.expand(Mp, *h.shape[1:])
                if op.bias:
                    h = torch.baddbmm(next(seg), h, W)
                else:
                    h = torch.bmm(h, W)
            elif op.act == "relu":
                h = torch.relu(h)
            elif op.act == "tanh":
                h = _tanh(h)
            elif op.act == "sigmoid":
                h = torch.sigmoid(h)
            else:
                h = F.leaky_relu(h, op.slope)
            if keeps is not None and (i + 1) in keeps:
                h = h * keeps[i + 1] / (self.scales[i + 1] if sel is None else self.scales[i + 1][sel])
        return h

    def summed_loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The per-example losses of `row_losses`, summed over every row of every model."""
        if self.onehot:
            return self.row_losses(out, y).sum()
        if self.task == "classification" and out.shape[-1] != 2:
            return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), reduction="sum")
        if self.task == "classification":
            return self.row_losses(out, y).sum()
        return (out - y).pow(2).sum() / out.shape[-1]

    def row_losses(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-example loss [M, n]: cross-entropy, or squared error averaged over output columns.

        With two classes the cross-entropy −log softmax(out)[y] is softplus of the other logit minus the true
        one: the same number, as elementwise work instead of a row-wise softmax over two columns (4× faster here).
        """
        if self.onehot:
            return (out - F.one_hot(y, out.shape[-1]).to(out.dtype)).pow(2).mean(-1)
        if self.task == "classification" and out.shape[-1] == 2:
            return F.softplus((out[..., 1] - out[..., 0]) * (1 - 2 * y))
        if self.task == "classification":
            return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1), reduction="none").view(out.shape[:2])
        return (out - y).pow(2).mean(-1)

    @staticmethod
    def predicted(out: torch.Tensor) -> torch.Tensor:
        """The predicted class of every row (the first of tied scores, as argmax)."""
        return (out[..., 1] > out[..., 0]).long() if out.shape[-1] == 2 else out.argmax(-1)

    # one epoch -------------------------------------------------------------------------------------

    def _layout(self, counts: list[int]) -> tuple[torch.Tensor, torch.Tensor | None, dict[int, torch.Tensor], list[int]]:
        """Row indices [M, slots·B], their validity (None: all valid), dropout keeps, and each model's batches.

        Model m takes counts[m] epochs: epoch e's permutation fills rows from e·nb_m·B (nb_m its batches per epoch),
        so slot s (rows [s·B, (s+1)·B)) is batch s mod nb_m of epoch s div nb_m, the last one partial.
        """
        B = self.batch_size
        sizes = self.train.counts.tolist()
        run_idx = [m for m in range(self.M) if counts[m] > 0]
        per_epoch = [-(-sizes[m] // B) for m in range(self.M)]
        nbatches = [per_epoch[m] * counts[m] for m in range(self.M)]
        slots = max(nbatches[m] for m in run_idx)
        n_max = max(sizes[m] for m in run_idx)
        if len(run_idx) == self.M and all(counts[m] == 1 and sizes[m] == n_max for m in run_idx):
            idx, valid = torch.stack([torch.randperm(n_max, generator=self.order_g[m]) for m in run_idx]), None
        else:
            idx = torch.zeros(self.M, slots * B, dtype=torch.long)
            valid = torch.zeros(self.M, slots * B, dtype=torch.bool)
            for m in run_idx:
                for e in range(counts[m]):
                    start = e * per_epoch[m] * B
                    idx[m, start : start + sizes[m]] = torch.randperm(sizes[m], generator=self.order_g[m])
                    valid[m, start : start + sizes[m]] = True
        idx = idx + self.train.offsets.unsqueeze(1)
        keeps = self._dropout_keeps(run_idx, counts, idx.shape[1]) if self.sites else {}
        return idx, valid, keeps, nbatches

    def _dropout_keeps(self, run_idx: list[int], counts: list[int], width: int) -> dict[int, torch.Tensor]:
        """Keep masks [M, rows, H] per dropout site, row r of model m aligned with its index row r.

        The serial Dropout layers draw torch.rand(b, H) per site per batch, in forward order, from the model's
        generator: for one epoch that is one stream of n·ΣH numbers, cut batch by batch and site by site.
        """
        B = self.batch_size
        keeps = {pos: torch.ones(self.M, width, self.site_width[pos]) for pos in self.sites}
        groups: dict[tuple, list[int]] = {}
        sizes = self.train.counts.tolist()
        for m in run_idx:
            active = tuple(pos for pos in self.sites if self.rates[pos][m] > 0)
            if active:
                groups.setdefault((sizes[m], counts[m], active), []).append(m)
        for (n, epochs, active), members in groups.items():
            H = [self.site_width[pos] for pos in active]
            total = sum(H)
            G, nf, rem = len(members), n // B, n % B
            p = {pos: torch.tensor([self.rates[pos][m] for m in members]).view(G, 1, 1) for pos in active}
            for e in range(epochs):
                start = e * -(-n // B) * B
                stream = torch.stack([torch.rand(n * total, generator=self.drop_g[m]) for m in members])
                full = stream[:, : nf * B * total].view(G, nf, B * total)
                tail = stream[:, nf * B * total :]
                off = 0
                for pos, h in zip(active, H):
                    u = full[:, :, off * B : (off + h) * B].reshape(G, nf * B, h)
                    if rem:
                        u = torch.cat([u, tail[:, off * rem : (off + h) * rem].reshape(G, rem, h)], dim=1)
                    keeps[pos][members, start : start + n] = (u >= p[pos]).to(torch.float32)
                    off += h
        return keeps

    def train_epoch(self, active: torch.Tensor) -> None:
        """One epoch of every active model: each its own batches, dropout masks, loss, penalty and step."""
        self.train_epochs(active, active.long())

    def train_epochs(self, active: torch.Tensor, counts: torch.Tensor) -> None:
        """counts[m] epochs of every active model m, in one sequence of steps: each its own batches, dropout masks,
        loss, penalty and step.

        A step computes only the models that take it (active, with a batch left): a stopped model, or one
        whose shorter training set has run out of batches, costs nothing.
        """
        B = self.batch_size
        counts_l = [int(c) if a else 0 for c, a in zip(counts.tolist(), active.tolist())]
        if not any(counts_l):
            return
        idx, valid, keeps, nbatches = self._layout(counts_l)
        for t in range(max(nbatches)):
            rows = slice(t * B, (t + 1) * B)
            sel = [m for m in range(self.M) if nbatches[m] > t]
            weights = None
            if valid is not None:
                v = valid[sel, rows]
                sizes = v.sum(1)
                if bool((sizes == sizes[0]).all()):  # one batch size: no row weights, rows past it unused
                    rows = slice(t * B, t * B + int(sizes[0]))
                else:
                    weights = v.to(torch.float32) / sizes.unsqueeze(1)
            self._train_step(None if len(sel) == self.M else torch.tensor(sel), idx, rows, keeps, weights)

    def _train_step(self, sel: torch.Tensor | None, idx: torch.Tensor, rows: slice, keeps: dict[int, torch.Tensor],
                    weights: torch.Tensor | None) -> None:
        """Forward, loss, gradients and optimizer step of the models `sel` (None: all) on their batch `rows`."""
        pick = (lambda t: t) if sel is None else (lambda t: t[sel])  # noqa: E731
        gidx = pick(idx)[:, rows]
        xb, yb = self.train.X[gidx], self.train.y[gidx]
        # one leaf per parameter segment: a gradient through slices of one flat leaf would fill and add a
        # whole [M, P] tensor per segment
        leaves = [pick(p).detach().requires_grad_(not frozen) for p, frozen in zip(self.params(), self.frozen)]
        out = self.forward(leaves, xb, {pos: pick(k)[:, rows] for pos, k in keeps.items()} if keeps else None, sel)
        if weights is None:  # Σ over models of each one's mean loss over its b rows = the sum over all rows / b
            total = self.summed_loss(out, yb) / out.shape[1]
        else:
            total = (self.row_losses(out, yb) * weights).sum()
        n = out.shape[0]
        if self.penalised:
            coefs = [None if c is None else pick(c) for c in (self.l1, self.l2, self.lp)]
            total = total + penalty_term(torch.cat([w.reshape(n, -1) for w in leaves], 1), *coefs, pick(self.p_exp))
        grads = iter(torch.autograd.grad(total, [w for w in leaves if w.requires_grad]))
        grad = torch.cat([(torch.zeros_like(w) if not w.requires_grad else next(grads)).reshape(n, -1) for w in leaves], 1)
        with torch.no_grad():
            self._step(grad, sel)

    def _step(self, g: torch.Tensor, sel: torch.Tensor | None) -> None:
        """The optimizer step (core.optim) of the models `sel` (None: all); frozen elements keep their values."""
        if sel is None:
            p, state, lr, wd, shrink = self.flat, self.opt_state, self.lr, self.weight_decay, self.shrink
        else:  # copies of the selected rows, written back below
            p, state, lr = self.flat[sel], {k: v[sel] for k, v in self.opt_state.items()}, self.lr[sel]
            wd = None if self.weight_decay is None else self.weight_decay[sel]
            shrink = None if self.shrink is None else self.shrink[sel]
        before = p.clone() if self.trainable is not None else None
        step_(self.optimizer, p, g, state, lr, wd, self.momentum)
        if before is not None:
            p.copy_(torch.where(self.trainable, p, before))
        if shrink is not None:  # penalised elements only, so frozen ones stay as they are
            soft_threshold_(p, shrink)
        if sel is not None:
            self.flat[sel] = p
            for k, v in state.items():
                self.opt_state[k][sel] = v

    # evaluation --------------------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(self) -> dict[str, torch.Tensor]:
        """{split}_loss / {split}_acc of every model (NaN where a model lacks the split), in eval mode."""
        out: dict[str, torch.Tensor] = {}
        params = self.params()
        for name, rows in self.evals.items():
            if not bool(rows.present.any()):
                continue
            loss_sum = torch.zeros(self.M, dtype=torch.float64)
            correct = torch.zeros(self.M, dtype=torch.float64)
            # a chunk's activations ([M, rows, width], ~2 MB) stay in the CPU's cache: 15% faster than 16 MB chunks
            chunk = max(1, min(EVAL_CHUNK, 500_000 // max(1, self.M * self.max_width)))
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
                logits = self.forward(params, x)
                losses = self.row_losses(logits, y)
                if mask is not None:
                    losses = losses * mask
                loss_sum += losses.sum(1).double()  # summed in float32, as the module engine's evaluation does
                if self.task == "classification":
                    hit = self.predicted(logits) == y
                    if mask is not None:
                        hit &= mask
                    correct += hit.sum(1)
            n = rows.counts.to(torch.float64).clamp_min(1)
            nan = torch.full((self.M,), math.nan, dtype=torch.float64)
            out[f"{name}_loss"] = torch.where(rows.present, loss_sum / n, nan)
            if self.task == "classification":
                out[f"{name}_acc"] = torch.where(rows.present, correct / n, nan)
        return out

    # weights ---------------------------------------------------------------------------------------

    def snapshot(self, mask: torch.Tensor, into: Any = None) -> torch.Tensor:
        """The weights of the models in `mask` copied into `into` (a new [M, P] copy when None)."""
        if into is None:
            return self.flat.clone()
        into[mask] = self.flat[mask]
        return into

    def restore(self, snapshot: torch.Tensor, mask: torch.Tensor) -> None:
        """Put the snapshot's weights back for the models in `mask`."""
        self.flat[mask] = snapshot[mask]

    def model(self, m: int) -> nn.Module:
        """Model m as its nn.Module (the one it was built as), now holding its current weights."""
        model = self.models[m]
        with torch.no_grad():
            for (a, b, shape), p in zip(self.segments, model.parameters()):
                w = self.flat[m, a:b].view(shape)
                p.copy_(w.t() if p.ndim == 2 else w.view(p.shape))
        return model
