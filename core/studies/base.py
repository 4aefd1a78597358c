"""A study: its parameters, how to get its data and model, and what to report — declared once.

`run_study` is the one way to run any study: it validates the config, prepares the data
(subsample, validation hold-out or K-fold, label noise), builds the model, trains it with the
one loop (`core.training.fit`) and returns `RunResult`s; with a store it saves each run.
Folds and expansions (e.g. a learning curve's training sizes) are loops *around* runs.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import pandas as pd
import torch
from torch import nn

from ..callbacks import Callback, Cancel, EarlyStopping, Progress
from ..data.bundle import DataBundle, generator
from ..data.splits import prepare
from ..metrics import metric_info
from ..params import P, Param
from ..training import FitResult, TrainConfig, fit

Config = Any  # an instance of a study's generated config dataclass


@dataclass
class Report:
    """What a study adds after training: extra metrics and tidy DataFrames for its charts."""

    metrics: dict[str, float] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class RunResult:
    """One trained run: its full config (with seed and fold), metrics, status, history and chart data."""

    study: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    status: str
    history: pd.DataFrame
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    model: nn.Module | None = None
    run_id: int | None = None

    def to_record(self) -> dict[str, Any]:
        """The JSON shape of a run: {"config", "metrics", "status"} (plus id and study)."""
        record: dict[str, Any] = {"study": self.study, "config": self.config, "metrics": self.metrics, "status": self.status}
        if self.run_id is not None:
            record = {"id": self.run_id, **record}
        return record


@dataclass(frozen=True)
class DefaultSweep:
    """A study's default sweep, written as the CLI takes it: the parameter that matters, over a range that shows the
    turn, and the fixed values that let it show (e.g. few training points). `core.sweeps.default_spec` builds it."""

    grid: tuple[str, ...]  # --grid texts: 'degree=1:15:15', 'weight_decay=0.0001:100:13:log', 'augment=false,true'
    set: tuple[str, ...] = ()  # --set texts for the values the sweep fixes, e.g. 'n_train=20'
    why: str = ""  # why this range and these fixed values (the setup, not a claim about the results)

    def args(self) -> list[str]:
        """The `python -m core sweep STUDY` arguments that run this sweep."""
        return [a for s in self.set for a in ("--set", s)] + [a for g in self.grid for a in ("--grid", g)]


@dataclass(frozen=True)
class Study:
    """A study declared once: parameters, data, model, training settings and report."""

    id: str
    title: str
    summary: str
    params: tuple[Param, ...]
    data: Callable[[Config], DataBundle]
    model: Callable[[Config, DataBundle, torch.Generator], nn.Module]
    train_config: Callable[[Config], TrainConfig]
    report: Callable[[Config, nn.Module, DataBundle, FitResult], Report] | None = None
    check: Callable[[Config], None] | None = None  # cross-parameter rules, raising ValueError
    expand: Callable[[Config], list[Config]] | None = None  # one config → several runs (e.g. training sizes)
    headline: tuple[str, ...] = ()  # metrics a summary shows by default; empty: core.metrics.HEADLINE for the task
    sweep: DefaultSweep | None = None  # the Sweeps page's and `python -m core sweep STUDY`'s default
    config_class: type = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names) or "seed" not in names:
            raise ValueError(f"study {self.id}: parameter names must be unique and include seed")
        unknown = [m for m in self.headline if metric_info(m) is None]
        if unknown:
            raise ValueError(f"study {self.id}: headline names unknown metric(s) {', '.join(unknown)}")
        object.__setattr__(self, "config_class", _make_config_class(self))

    @property
    def param_map(self) -> dict[str, Param]:
        return {p.name: p for p in self.params}

    def param(self, name: str) -> Param:
        """The declared parameter `name`, or ValueError listing the known ones."""
        try:
            return self.param_map[name]
        except KeyError:
            raise ValueError(f"unknown parameter {name!r} for study {self.id}; known: {', '.join(self.param_map)}") from None

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def config(self, values: Mapping[str, Any] | None = None, **more: Any) -> Config:
        """A validated config: defaults overridden by `values`; ValueError names any bad parameter."""
        values = {**(values or {}), **more}
        for name in values:
            self.param(name)
        cfg = self.config_class(**{name: self.param(name).validate(v) for name, v in values.items()})
        if self.check is not None:
            self.check(cfg)
        return cfg

    def parse(self, pairs: Sequence[str]) -> dict[str, Any]:
        """Parse `key=value` strings (the CLI's --set) into validated values."""
        out: dict[str, Any] = {}
        for pair in pairs:
            if "=" not in pair:
                raise ValueError(f"--set {pair!r}: expected key=value")
            key, text = pair.split("=", 1)
            out[key.strip()] = self.param(key.strip()).parse(text)
        return out


def _make_config_class(study: Study) -> type:
    fields = [(p.name, p.kind, field(default=p.default)) for p in study.params]
    cls_name = "".join(part.title() for part in study.id.split("-")) + "Config"
    return dataclasses.make_dataclass(cls_name, fields, frozen=True)


def config_dict(cfg: Config) -> dict[str, Any]:
    """A config as a plain dict."""
    return dataclasses.asdict(cfg)


def train_config_from(cfg: Config, **fixed: Any) -> TrainConfig:
    """The loop's settings from the study parameters that share their names (lr, epochs, l1, ...)."""
    from ..penalties import Penalty

    get = lambda name: getattr(cfg, name, getattr(P, name).default if hasattr(P, name) else None)  # noqa: E731
    penalty = Penalty(l1=get("l1"), l2=get("l2"), lp=get("lp"), p=get("p"), l1_mode=get("l1_mode"))
    values = dict(
        epochs=cfg.epochs,
        lr=cfg.lr,
        batch_size=cfg.batch_size,
        optimizer=get("optimizer"),
        weight_decay=get("weight_decay"),
        decay_bias=get("decay_bias"),
        clear_grad=get("clear_grad"),
        penalty=penalty,
        seed=cfg.seed,
    )
    values.update(fixed)
    return TrainConfig(**values)


class Cancelled(Exception):
    """Raised inside a run when the user cancelled; finished runs are kept."""


def run_study(
    study: Study,
    config: Config | Mapping[str, Any] | None = None,
    *,
    folds: int | None = None,
    fold: int | None = None,
    callbacks: Sequence[Callback] = (),
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    store=None,
    sweep_id: str | None = None,
) -> list[RunResult]:
    """Run a study (each fold and expansion is one run); store finished runs when a store is given.

    With `folds`, every fold is a run, or only fold `fold` when given (to re-run one stored run).
    `progress(fraction, text)` is called after every epoch; `should_stop()` cancels: the run in
    flight ends with status 'cancelled' (not stored) and no further run starts.
    """
    cfg = config if dataclasses.is_dataclass(config) else study.config(config or {})
    check_run(cfg, folds, fold)
    configs = study.expand(cfg) if study.expand else [cfg]
    fold_list: list[int | None] = ([fold] if fold is not None else list(range(folds))) if folds else [None]
    total = len(configs) * len(fold_list)
    results: list[RunResult] = []
    for cfg_i in configs:
        base = study.data(cfg_i)
        for fold in fold_list:
            done = len(results)
            extra: list[Callback] = list(callbacks)
            if progress is not None:
                label = f"run {done + 1}/{total}" if total > 1 else "training"
                extra.append(Progress(lambda f, logs, d=done, label=label: progress((d + f) / total, f"{label}: epoch {logs['epoch']}")))
            if should_stop is not None:
                extra.append(Cancel(should_stop))
            result = run_one(study, cfg_i, base, fold=fold, folds=folds, callbacks=extra)
            if store is not None and result.status != "cancelled":
                result.run_id = store.save_run(result, sweep_id=sweep_id)
            results.append(result)
            if result.status == "cancelled":
                return results
    return results


def check_run(cfg: Config, folds: int | None, fold: int | None = None) -> None:
    """Rules that involve how a config is run (ValueError naming the parameter)."""
    if folds is not None and not 2 <= folds <= 50:
        raise ValueError(f"folds: {folds} is not allowed; expected an int in [2, 50]")
    if fold is not None and (folds is None or not 0 <= fold < folds):
        raise ValueError(f"fold: {fold} is not allowed; expected an int in [0, folds - 1] together with folds")
    if getattr(cfg, "patience", 0) > 0 and getattr(cfg, "val_fraction", 0.0) == 0 and not folds:
        raise ValueError("patience: early stopping watches val_loss, so it needs a validation set: set val_fraction > 0 or use folds")


def run_one(
    study: Study,
    cfg: Config,
    base: DataBundle,
    *,
    fold: int | None = None,
    folds: int | None = None,
    callbacks: Sequence[Callback] = (),
) -> RunResult:
    """Prepare the data for one run (fold), build and train the model, and collect its report."""
    started = time.perf_counter()
    get = lambda name, default: getattr(cfg, name, default)  # noqa: E731
    data = prepare(
        base,
        cfg.seed,
        train_size=get("train_size", 1.0),
        val_fraction=get("val_fraction", 0.0),
        label_noise=get("label_noise", 0.0),
        fold=fold,
        folds=folds,
    )
    model = study.model(cfg, data, generator(cfg.seed, "init"))
    cbs = list(callbacks)
    if get("patience", 0) > 0:
        cbs.insert(0, EarlyStopping("val_loss", cfg.patience, get("min_delta", 0.0), get("restore_best", True)))
    result = fit(model, data, study.train_config(cfg), cbs)
    report = study.report(cfg, model, data, result) if study.report and result.status != "diverged" else Report()
    metrics = {**result.metrics, **report.metrics}
    metrics["train_examples"] = len(data.train)
    metrics["duration_s"] = round(time.perf_counter() - started, 4)
    config = config_dict(cfg)
    if folds:
        config.update(fold=fold, folds=folds)
    return RunResult(study.id, config, _clean(metrics), result.status, result.history, report.frames, model)


def _clean(metrics: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in metrics.items():
        if isinstance(v, torch.Tensor):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            v = math.nan
        out[k] = v
    return out
