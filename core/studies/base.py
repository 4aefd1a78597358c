"""A study: its parameters, how to get its data and model, and what to report — declared once.

Declaring a study needs no torch (so `python -m core studies` starts fast): data, model and report
functions import what they use when they run. `run_study` is the one way to run any study: it expands the
config into points (folds, expansions such as a learning curve's training sizes), and the run pipeline
(`core.pipeline`) prepares the data, builds the models, trains them under the one loop and returns
`RunResult`s; with a store it saves them.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ..i18n import N_, MessageError, Msg
from ..metrics import metric_info
from ..params import P, Param

if TYPE_CHECKING:  # annotations only: importing a study declares it without loading torch or pandas
    import pandas as pd
    import torch
    from torch import nn

    from ..callbacks import Callback
    from ..data.bundle import DataBundle
    from ..training import FitResult, TrainConfig

Config = Any  # an instance of a study's generated config dataclass


@dataclass
class Report:
    """What a study adds after training: extra metrics and tidy DataFrames for its charts.

    A frame may be given as a function that makes it: it is called only when the frames are wanted
    (pages), not for runs that only store their numbers (the CLI, sweeps).
    """

    metrics: dict[str, float] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame | Callable[[], pd.DataFrame]] = field(default_factory=dict)


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
    engine: str = "module"  # which engine trained it: 'module' or 'stacked' (not stored; the numbers agree to 1e-4)

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
    # parameters added after runs of this study were first stored, whose default is what those runs did: a stored or
    # imported run without them is read with the default (e.g. polynomial's function=cubic, x_range=normal)
    backfill: tuple[str, ...] = ()
    # at most this many evaluations in a run's history (every ceil(epochs / history_points) epochs, and the last):
    # for studies whose runs train for very different numbers of epochs, so they take about as many loop steps and
    # train together; None: every epoch
    history_points: int | None = None
    config_class: type = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names) or "seed" not in names:
            raise ValueError(f"study {self.id}: parameter names must be unique and include seed")
        if not set(self.backfill) <= set(names):
            raise ValueError(f"study {self.id}: backfill names unknown parameter(s) {', '.join(set(self.backfill) - set(names))}")
        unknown = [m for m in self.headline if metric_info(m) is None]
        if unknown:
            raise ValueError(f"study {self.id}: headline names unknown metric(s) {', '.join(unknown)}")
        object.__setattr__(self, "config_class", _make_config_class(self))

    @functools.cached_property
    def param_map(self) -> dict[str, Param]:
        """The parameters by name (made once: every config check and every stored run looks names up here)."""
        return {p.name: p for p in self.params}

    def param(self, name: str) -> Param:
        """The declared parameter `name`, or ValueError listing the known ones."""
        try:
            return self.param_map[name]
        except KeyError:
            raise MessageError(Msg(N_("unknown parameter {name!r} for study {study}; known: {known}"), name=name, study=self.id,
                                   known=", ".join(self.param_map))) from None

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
    cls = dataclasses.make_dataclass(cls_name, fields, frozen=True)
    cls.optional_defaults = {p.name: p.default for p in study.params if p.optional}  # what config_dict leaves out
    return cls


def config_dict(cfg: Config) -> dict[str, Any]:
    """A config as a plain dict, without the optional parameters that are at their default (see `Param.optional`):
    the form a run's config is stored, exported and compared in."""
    optional = getattr(type(cfg), "optional_defaults", {})
    return {k: v for k, v in dataclasses.asdict(cfg).items() if k not in optional or v != optional[k]}


def train_config_from(cfg: Config, **fixed: Any) -> TrainConfig:
    """The loop's settings from the study parameters that share their names (lr, epochs, l1, ...)."""
    from ..penalties import Penalty
    from ..training import TrainConfig

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
    engine: str = "auto",
    report: str = "full",
) -> list[RunResult]:
    """Run a study (each fold and expansion is one run); with a store, store its runs — all of them or none.

    With `folds`, every fold is a run, or only fold `fold` when given (to re-run one stored run). Runs of one
    model shape (the folds, a learning curve's sizes) train as one stacked computation with engine='auto';
    engine='module' trains them one by one. `progress(fraction, text)` is called after every epoch;
    `should_stop()` cancels: the runs in flight end with status 'cancelled' and no further run starts.
    The runs are stored in one transaction once every one has finished (ok or diverged): a cancel or a
    failure in any fold stores nothing. report='metrics' skips the report's frames (for callers that only
    store numbers).
    """
    from ..pipeline import expand, train

    cfg = config if dataclasses.is_dataclass(config) else study.config(config or {})
    points = expand(study, [cfg], folds, fold)
    results = train(study, points, engine=engine, callbacks=callbacks, progress=progress, should_stop=should_stop,
                    report=report)
    if store is not None and len(results) == len(points) and all(r.status != "cancelled" for r in results):
        store.save_results(results, sweep_id=sweep_id)
    return results


def check_run(cfg: Config, folds: int | None, fold: int | None = None) -> None:
    """Rules that involve how a config is run (ValueError naming the parameter)."""
    if folds is not None and not 2 <= folds <= 50:
        raise MessageError(Msg(N_("folds: {folds} is not allowed; expected an int in [2, 50]"), folds=folds))
    if fold is not None and (folds is None or not 0 <= fold < folds):
        raise MessageError(Msg(N_("fold: {fold} is not allowed; expected an int in [0, folds - 1] together with folds"), fold=fold))
    if getattr(cfg, "patience", 0) > 0 and getattr(cfg, "val_fraction", 0.0) == 0 and not folds:
        raise MessageError(Msg(N_("patience: early stopping watches val_loss, so it needs a validation set: set val_fraction > 0 "
                                  "or use folds")))
