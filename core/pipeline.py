"""The one run pipeline: configs → points → set up → trained by an engine under the one loop → RunResults.

- `expand(study, configs, folds, fold)`: configs into points (config × expansion × fold), in run order;
- `setup(study, point, bases)`: a point's data (the study's base data, cached per distinct config, then
  `prepare`: subsample, validation hold-out or fold, label noise), its model
  (`study.model(cfg, data, generator(seed, "init"))`) and its loop settings (TrainConfig, early stopping);
- `finish(study, setup, fit, model, seconds)`: a trained point into a `RunResult` (final metrics, the study's
  report, train_examples, duration_s, the config with fold/folds);
- `plan(study, points)`: the points grouped by what the stacked engine needs to be equal (`stack_key`);
- `train(study, points)`: each group trained as one stacked computation where it can be, else one by one with
  the module engine; results in point order; with a store, each finished group is saved in one transaction.

`run_study`, the sweep backends (serial, batched, processes, Dask) and the pages (`ui.runner`) all go through
here, so there is one way to turn a config into a stored run.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import nn

from .callbacks import Callback, EarlyStopping
from .data.bundle import DataBundle, generator
from .data.splits import prepare
from .engines import ModuleEngine, StackedEngine, stack_key
from .i18n import N_, MessageError, Msg, MsgText
from .loop import FitResult, Loop
from .studies.base import Report, RunResult, Study, check_run, config_dict
from .training import TrainConfig

ENGINES = ("auto", "module", "stacked")
REPORTS = ("full", "metrics")
MAX_MODELS = 512  # models trained together at most; more of one shape are trained in consecutive groups


@dataclass(frozen=True)
class Point:
    """One run to train: a study config, and which fold of how many (None without K-fold)."""

    config: Any
    fold: int | None = None
    folds: int | None = None


@dataclass
class Setup:
    """A point ready to train: its prepared data, its freshly initialised model and its loop settings."""

    point: Point
    data: DataBundle
    model: nn.Module
    train: TrainConfig
    patience: int = 0
    min_delta: float = 0.0
    restore_best: bool = True
    started: float = field(default_factory=time.perf_counter)
    every: int = 1  # evaluated every `every` epochs (and after the last): see `history_every`


@dataclass
class Group:
    """Points that train together: indices into the point list, the engine, and why."""

    points: list[int]
    engine: str  # 'stacked' or 'module'
    reason: str


def expand(study: Study, configs: Sequence[Any], folds: int | None = None, fold: int | None = None) -> list[Point]:
    """Configs into points in run order: config, expansion (e.g. training sizes), fold.

    A config is a study config or a dict of values; a dict may carry `fold` and `folds` (as a RunResult's
    config does) to name one fold. `folds=K` runs every config on all K folds, or only `fold` when given.
    """
    out: list[Point] = []
    for item in configs:
        fold_of, folds_of = fold, folds
        if dataclasses.is_dataclass(item):
            cfg = item
        else:
            values = dict(item)
            if "fold" in values:
                fold_of = values.pop("fold")
            folds_of = values.pop("folds", None) or folds
            cfg = study.config(values)
        check_run(cfg, folds_of, fold_of)
        fold_list = [fold_of] if fold_of is not None else (list(range(folds_of)) if folds_of else [None])
        for cfg_i in study.expand(cfg) if study.expand else [cfg]:
            out.extend(Point(cfg_i, f, folds_of) for f in fold_list)
    return out


def base_data(study: Study, cfg: Any, bases: dict | None = None) -> DataBundle:
    """The study's data for a config, from `bases` when this config's data was made before."""
    if bases is None:
        return study.data(cfg)
    if cfg not in bases:
        bases[cfg] = study.data(cfg)
    return bases[cfg]


def setup(study: Study, point: Point, bases: dict | None = None) -> Setup:
    """Prepare a point's data, build its model from the seed and read its loop settings."""
    started = time.perf_counter()
    cfg = point.config
    get = lambda name, default: getattr(cfg, name, default)  # noqa: E731
    data = prepare(base_data(study, cfg, bases), cfg.seed, train_size=get("train_size", 1.0),
                   val_fraction=get("val_fraction", 0.0), label_noise=get("label_noise", 0.0),
                   fold=point.fold, folds=point.folds)
    model = study.model(cfg, data, generator(cfg.seed, "init"))
    train = study.train_config(cfg)
    patience = get("patience", 0)
    return Setup(point, data, model, train, patience, get("min_delta", 0.0), get("restore_best", True), started,
                 history_every(study, train.epochs, patience))


def history_every(study: Study, epochs: int, patience: int = 0) -> int:
    """How often a run of this study is evaluated: every epoch, or, for a study that caps its history at
    `history_points` evaluations, every ceil(epochs / history_points) epochs (early stopping needs every epoch)."""
    if study.history_points is None or patience > 0:
        return 1
    return max(1, -(-epochs // study.history_points))


def finish(study: Study, s: Setup, fit: FitResult, model: nn.Module, seconds: float, report: str = "full",
           engine: str = "module") -> RunResult:
    """A trained point as a RunResult: fit metrics, the study's report (frames only with report='full'),
    train_examples, duration_s (`seconds` plus the report's time) and the config with fold/folds."""
    if report not in REPORTS:
        raise ValueError(f"report: {report!r} is not allowed; expected one of {'|'.join(REPORTS)}")
    t0 = time.perf_counter()
    cfg = s.point.config
    rep = study.report(cfg, model, s.data, fit) if study.report and fit.status != "diverged" else Report()
    frames = {k: (v() if callable(v) else v) for k, v in rep.frames.items()} if report == "full" else {}
    metrics = {**fit.metrics, **rep.metrics, "train_examples": len(s.data.train),
               "duration_s": round(seconds + time.perf_counter() - t0, 4)}
    config = config_dict(cfg)
    if s.point.folds:
        config.update(fold=s.point.fold, folds=s.point.folds)
    return RunResult(study.id, config, _clean(metrics), fit.status, fit.history, frames, model, engine=engine)


def _clean(metrics: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in metrics.items():
        if isinstance(v, torch.Tensor):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            v = math.nan
        out[k] = v
    return out


def plan(study: Study, points: Sequence[Point], engine: str = "auto", bases: dict | None = None,
         max_models: int = MAX_MODELS) -> list[Group]:
    """Group points by model shape and settings: a stacked group per kind where the stacked engine applies.

    engine='auto' trains single points and points the stacked engine refuses with the module engine;
    'stacked' raises ValueError naming the first point it refuses; 'module' trains every point alone.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine: {engine!r} is not allowed; expected one of {'|'.join(ENGINES)}")
    if engine == "module":
        return [Group([i], "module", "asked for") for i in range(len(points))]
    bases = {} if bases is None else bases
    keys: dict[Any, tuple] = {}
    by_key: dict[tuple, list[int]] = {}
    groups: list[Group] = []
    steps: dict[int, int] = {}  # loop steps each point takes: its epochs, or its evaluations with a sparse history
    for i, p in enumerate(points):
        cfg = p.config
        if cfg not in keys:  # one model per distinct config: folds share it
            data = base_data(study, cfg, bases)
            train_cfg = study.train_config(cfg)
            key, reason = stack_key(study.model(cfg, data, generator(cfg.seed, "init")), data, train_cfg)
            every = history_every(study, train_cfg.epochs, getattr(cfg, "patience", 0))
            keys[cfg] = key, reason, -(-train_cfg.epochs // every)
        key, reason, steps[i] = keys[cfg]
        if key is None:
            if engine == "stacked":
                raise MessageError(N_("the stacked engine does not apply: {reason}"), reason=getattr(reason, "msg", reason))
            groups.append(Group([i], "module", reason))
        else:
            by_key.setdefault(key, []).append(i)
    for members in by_key.values():
        for chunk in _chunks(members, steps, max_models, engine == "auto"):
            if len(chunk) == 1 and engine == "auto":
                groups.append(Group(chunk, "module", "a single run"))
            else:
                n = len(chunk)
                groups.append(Group(chunk, "stacked", f"{n} run{'s' if n != 1 else ''} of one model shape train as one stacked computation"))
    return sorted(groups, key=lambda g: g.points[0])


def _chunks(members: list[int], steps: dict[int, int], max_models: int, by_steps: bool) -> list[list[int]]:
    """Members in groups of at most max_models; with `by_steps` ('auto'), only points whose numbers of loop steps are
    within 2x of each other share a group: a stack steps until its longest member is done, so a learning curve
    evaluated every epoch (400 steps for its smallest set, 20 for its largest) ran 2.5x slower stacked than alone."""
    if not by_steps:
        return [members[i : i + max_models] for i in range(0, len(members), max_models)]
    out: list[list[int]] = []
    for i in sorted(members, key=lambda i: (steps[i], i)):
        if out and len(out[-1]) < max_models and steps[i] <= 2 * steps[out[-1][0]]:
            out[-1].append(i)
        else:
            out.append([i])
    return [sorted(chunk) for chunk in out]


def start_group(study: Study, points: Sequence[Point], engine: str = "module", *, bases: dict | None = None,
                callbacks: Sequence[Callback] = (), epochs: Sequence[int] | None = None) -> tuple[list[Setup], Any, Loop]:
    """Set these points up and make the one loop over one engine that trains them, not yet stepped: (setups, engine,
    loop). `epochs` overrides each point's epoch budget (a view that steps the loop itself and stops it when it likes)."""
    setups = [setup(study, p, bases) for p in points]
    if engine == "stacked":
        eng: Any = StackedEngine([s.model for s in setups], [s.data for s in setups], [s.train for s in setups])
    elif len(setups) == 1:
        eng = ModuleEngine(setups[0].model, setups[0].data, setups[0].train)
    else:
        raise ValueError("the module engine trains one point at a time")
    cbs: list[Callback] = []
    if any(s.patience > 0 for s in setups):  # per model: patience 0 leaves that model alone
        cbs.append(EarlyStopping("val_loss", [s.patience for s in setups], [s.min_delta for s in setups],
                                 [s.restore_best for s in setups]))
    budget = list(epochs) if epochs is not None else [s.train.epochs for s in setups]
    every = [1] * len(setups) if epochs is not None else [s.every for s in setups]
    return setups, eng, Loop(eng, budget, cbs + list(callbacks), every)


def train_group(study: Study, points: Sequence[Point], engine: str = "module", *, bases: dict | None = None,
                callbacks: Sequence[Callback] = (), progress: Callable[[float, str], None] | None = None,
                should_stop: Callable[[], bool] | None = None, report: str = "full",
                timings: dict[str, float] | None = None) -> list[RunResult]:
    """Set up these points, train them with one engine under the one loop, and finish each into a RunResult."""
    started = time.perf_counter()
    setups, eng, loop = start_group(study, points, engine, bases=bases, callbacks=callbacks)
    t0 = time.perf_counter()
    fits = loop.run(progress, should_stop)
    t1 = time.perf_counter()
    per_model = (t1 - started) / len(setups)
    results = [finish(study, s, fit, eng.model(m), per_model, report, engine) for m, (s, fit) in enumerate(zip(setups, fits))]
    if timings is not None:
        for name, seconds in (("setup", t0 - started), ("train", loop.seconds["train"]),
                              ("evaluate", loop.seconds["evaluate"]), ("report", time.perf_counter() - t1)):
            timings[name] = timings.get(name, 0.0) + seconds
    return results


def train(study: Study, points: Sequence[Point], *, engine: str = "auto", callbacks: Sequence[Callback] = (),
          progress: Callable[[float, str], None] | None = None, should_stop: Callable[[], bool] | None = None,
          store: Any = None, sweep_id: str | None = None, report: str = "full", max_models: int = MAX_MODELS,
          on_result: Callable[[RunResult], None] | None = None, timings: dict[str, float] | None = None,
          bases: dict | None = None, groups: Sequence[Group] | None = None) -> list[RunResult]:
    """Train every point, stacked where the models allow (see `plan`); one RunResult per trained point, in point order.

    `progress(fraction, text)` after every epoch; when `should_stop()` turns True the runs in flight end
    'cancelled' (not stored) and no further group starts. With a store, each finished group's runs are saved
    in one transaction (with `sweep_id`) before the next group starts; `on_result(result)` is called for each.
    `timings` collects seconds per phase (setup, train, evaluate, report, store); `bases` caches base data;
    `groups` is a plan of these points made before (`plan`), so it is not made twice.
    """
    bases = {} if bases is None else bases
    groups = plan(study, points, engine, bases, max_models) if groups is None else groups
    slots: list[RunResult | None] = [None] * len(points)
    total, done = len(points), 0
    for group in groups:
        if done and should_stop is not None and should_stop():
            break  # cancelled between groups: start nothing new
        n = len(group.points)
        part = None
        if progress is not None:
            label = (Msg(N_("{n} runs together"), n=n) if n > 1 else Msg(N_("run {i}/{total}"), i=group.points[0] + 1, total=total)
                     ) if total > 1 else Msg(N_("training"))
            # the text stays English for the CLI and carries its message for a page to translate (ui.runner)
            part = lambda f, text, done=done, n=n, label=label: progress(  # noqa: E731
                (done + f * n) / total, MsgText(Msg(N_("{label}: {text}"), label=label, text=getattr(text, "msg", text))))
        results = train_group(study, [points[i] for i in group.points], group.engine, bases=bases, callbacks=callbacks,
                              progress=part, should_stop=should_stop, report=report, timings=timings)
        if store is not None:
            t0 = time.perf_counter()
            store.save_results([r for r in results if r.status != "cancelled"], sweep_id=sweep_id)
            if timings is not None:
                timings["store"] = timings.get("store", 0.0) + time.perf_counter() - t0
        for i, r in zip(group.points, results):
            slots[i] = r
            if on_result is not None:
                on_result(r)
        done += n
        if any(r.status == "cancelled" for r in results):
            break
    return [r for r in slots if r is not None]


def can_stack(study: Study, points: Sequence[Point]) -> tuple[bool, str]:
    """Whether these points train as one stacked computation, and why (or why not)."""
    if not points:
        return False, "no runs to train"
    try:
        groups = plan(study, points, "stacked")
    except ValueError as exc:
        return False, str(exc)
    if len(groups) > 1:
        return False, "the runs build models of different shapes or settings (layers, widths, optimizer, batch size)"
    return True, groups[0].reason


def config_data(study: Study, config: Any) -> DataBundle:
    """The prepared data of a config (a study config, or a dict as a RunResult's config holds it, fold and folds
    included): exactly the splits that run trains and is measured on."""
    point = expand(study, [config])[0] if not dataclasses.is_dataclass(config) else Point(config)
    return setup(study, point).data
