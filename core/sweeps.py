"""Parameter sweeps: a grid of values crossed with folds and seeds, each point one stored run.

Sweeping is a loop *around* runs (as in scikit-learn's `validation_curve`): the grid and the
backends live here; every backend trains through the run pipeline (`core.pipeline`). Backends:

- serial    — one run after another in this process (the module engine);
- batched   — models that differ only in numbers train together as one stacked computation, group by
              group of one model shape (the stacked engine); refuses a sweep with a point it cannot stack;
- auto      — batched for the groups that allow it, serial for the rest (`core.pipeline.plan`);
- processes — points in parallel worker processes (joblib), one thread each; they end with this process;
- dask      — points on a Dask cluster (`scheduler` address, $OVERFIT_LAB_DASK, or a LocalCluster); this
              checkout's code is shipped to the cluster and every machine checked first (`core.cluster`).

Finished runs are stored as they arrive (a stacked group in one transaction), so a cancelled,
interrupted or failed sweep keeps every finished run, and remote workers need no access to the store.
A sweep that stops early says how many runs it stored and which points are missing.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .i18n import N_, MessageError, Msg, MsgText, _, message
from .metrics import value_text
from .params import Param
from .studies import RunResult, Study, check_run, config_dict, get_study

BACKENDS = ("auto", "serial", "batched", "processes", "dask")
ENGINE_OF = {"auto": "auto", "serial": "module", "batched": "stacked"}  # backends that train in this process
MAX_POINTS = 5000


@dataclass(frozen=True)
class Axis:
    """One swept parameter and the values it takes."""

    name: str
    values: tuple
    spacing: str = "list"  # 'list', 'linear' or 'log': how the values were made (charts use a log axis for 'log')


def grid_values(param: Param, low: float, high: float, steps: int, spacing: str = "linear") -> list:
    """`steps` values of a numeric parameter from low to high, evenly spaced on a linear or log scale."""
    if param.kind not in (int, float):
        raise MessageError(N_("{name}: only numeric parameters take a range; give a list of values instead"), name=param.name)
    if not 1 <= steps <= 200:
        raise MessageError(N_("{name}: steps {steps} is not allowed; expected an int in [1, 200]"), name=param.name, steps=steps)
    if spacing not in ("linear", "log"):
        raise MessageError(N_("{name}: spacing {spacing!r} is not allowed; expected linear or log"), name=param.name, spacing=spacing)
    import numpy as np

    low, high = param.validate(low), param.validate(high)
    if low > high:
        raise MessageError(N_("{name}: the range {low:g}..{high:g} is empty (min is above max)"), name=param.name, low=low, high=high)
    if spacing == "log":
        if low <= 0:
            raise MessageError(N_("{name}: a log-spaced range must start above 0, got {low:g}"), name=param.name, low=low)
        raw = np.geomspace(low, high, steps)
    else:
        raw = np.linspace(low, high, steps)
    if param.kind is int:
        if spacing == "linear" and not np.allclose(raw, np.round(raw)):
            # rounding an uneven linear range gives an uneven grid (0:6 in 5 steps: 0, 2, 3, 4, 6): refuse, say what fits
            fits = [n for n in range(2, min(int(high - low) + 1, 200) + 1) if int(high - low) % (n - 1) == 0]
            raise MessageError(N_("{name}: {low}..{high} in {steps} steps is not a whole-number grid ({first}, …); use {fits} "
                                  "steps, or list the values"), name=param.name, low=low, high=high, steps=steps,
                               first=", ".join(f"{v:.4g}" for v in raw[:3]), fits=_either(fits))
        values = sorted({int(round(v)) for v in raw})
    else:
        values = [float(f"{v:.6g}") for v in raw]
    return [param.validate(v) for v in values]


def _either(options: Sequence[int]) -> str | Msg:
    shown = [str(o) for o in options[:8]] + (["…"] if len(options) > 8 else [])
    return shown[0] if len(shown) == 1 else Msg(N_("{some} or {last}"), some=", ".join(shown[:-1]), last=shown[-1])


def parse_axis(study: Study, text: str) -> Axis:
    """`key=v1,v2,...` (a list) or `key=low:high:steps[:log]` (a range) into a validated Axis."""
    if "=" not in text:
        raise MessageError(N_("--grid {text!r}: expected key=v1,v2,... or key=low:high:steps[:log]"), text=text)
    name, spec = (part.strip() for part in text.split("=", 1))
    param = study.param(name)
    if param.free_text:
        raise MessageError(N_("--grid {name}: a text parameter (a file or column names) is set with --set, not swept"), name=name)
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("log", "linear")):
            raise MessageError(N_("--grid {name}: a range is low:high:steps or low:high:steps:log"), name=name)
        try:
            steps = int(parts[2])
        except ValueError:
            raise MessageError(N_("--grid {name}: steps {steps!r} is not a whole number"), name=name, steps=parts[2]) from None
        spacing = parts[3] if len(parts) == 4 else "linear"
        return Axis(name, tuple(grid_values(param, param.parse(parts[0]), param.parse(parts[1]), steps, spacing)), spacing)
    values = [param.parse(v) for v in spec.split(",") if v.strip()]
    if not values:
        raise MessageError(N_("--grid {name}: no values given"), name=name)
    return Axis(name, tuple(dict.fromkeys(values)), "list")


@dataclass(frozen=True)
class SweepSpec:
    """What to sweep: a study, fixed values, axes crossed with each other, K folds and N seeds."""

    study: str
    base: dict[str, Any] = field(default_factory=dict)
    axes: tuple[Axis, ...] = ()
    folds: int | None = None
    seeds: int = 1

    def __post_init__(self) -> None:
        study = get_study(self.study)
        names = [a.name for a in self.axes]
        if len(set(names)) != len(names):
            raise MessageError(N_("grid: a parameter is swept twice ({names})"), names=", ".join(names))
        if "seed" in names and self.seeds > 1:
            raise MessageError(N_("seeds: sweep either the seed parameter or --seeds, not both"))
        if not 1 <= self.seeds <= 100:
            raise MessageError(N_("seeds: {seeds} is not allowed; expected an int in [1, 100]"), seeds=self.seeds)
        for axis in self.axes:
            param = study.param(axis.name)
            if not axis.values:
                raise MessageError(N_("grid {name}: no values"), name=axis.name)
            for v in axis.values:
                param.validate(v)
        if self.n_runs > MAX_POINTS:
            raise MessageError(N_("grid: {n} runs is over the limit of {limit}; use fewer values, folds or seeds"), n=self.n_runs,
                               limit=MAX_POINTS)
        for cfg in self.configs():  # every point must be a valid config before anything trains
            check_run(cfg, self.folds)

    @property
    def n_runs(self) -> int:
        return math.prod(len(a.values) for a in self.axes) * self.seeds * (self.folds or 1)

    def configs(self) -> list[Any]:
        """Every crossed config (grid × seeds), validated; folds are applied when each config runs."""
        study = get_study(self.study)
        base = study.config(self.base)
        out = []
        for combo in itertools.product(*(a.values for a in self.axes)):
            for s in range(self.seeds):
                values = dict(zip((a.name for a in self.axes), combo))
                if self.seeds > 1:
                    values["seed"] = base.seed + s
                out.append(study.config({**dataclasses.asdict(base), **values}))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"study": self.study, "base": self.base, "folds": self.folds, "seeds": self.seeds,
                "grid": {a.name: list(a.values) for a in self.axes}, "spacing": {a.name: a.spacing for a in self.axes}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SweepSpec":
        spacing = d.get("spacing", {})
        axes = tuple(Axis(k, tuple(v), spacing.get(k, "list")) for k, v in d.get("grid", {}).items())
        return cls(d["study"], dict(d.get("base", {})), axes, d.get("folds"), int(d.get("seeds", 1)))


@dataclass
class SweepResult:
    sweep_id: str | None
    results: list[RunResult]
    backend: str
    cancelled: bool = False
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds spent in setup, train, evaluate, report, store


def points(spec: SweepSpec) -> list[Any]:
    """The sweep's points (config × fold) in order, for the run pipeline."""
    from .pipeline import expand

    return expand(get_study(spec.study), spec.configs(), spec.folds)


def _plan(spec: SweepSpec, backend: str, pts: list[Any], bases: dict | None = None) -> tuple[str, str, list[Any]]:
    from .pipeline import plan

    try:
        groups = plan(get_study(spec.study), pts, ENGINE_OF[backend], bases)
    except ValueError as exc:  # a point the stacked engine refuses, under --backend batched
        raise MessageError(N_("backend: batched training does not apply here; {problem}"), problem=message(exc)) from None
    stacked = [g for g in groups if g.engine == "stacked"]
    if backend == "serial":
        return "serial", "asked for", groups
    if stacked:
        n = sum(len(g.points) for g in stacked)
        return "batched", f"{n} of {spec.n_runs} runs train batched, in {len(stacked)} group(s) of one model shape", groups
    return "serial", groups[0].reason if groups else "no runs", groups


def choose_backend(spec: SweepSpec, backend: str = "auto") -> tuple[str, str]:
    """The backend to use and why: 'auto' batches the groups of models that allow it, else runs one by one."""
    if backend not in BACKENDS:
        raise ValueError(f"backend: {backend!r} is not allowed; expected one of {'|'.join(BACKENDS)}")
    if backend in ("serial", "processes", "dask"):
        return backend, "asked for"
    chosen, why, _ = _plan(spec, backend, points(spec))
    return chosen, why


class SweepFailed(RuntimeError):
    """A sweep that stopped before every point was stored: one line with the cause, what was stored and what is
    missing. Every run stored before it stopped stays stored."""

    def __init__(self, message: str, sweep_id: str | None = None, stored: int = 0, missing: Sequence[Any] = ()):
        super().__init__(message)
        self.sweep_id, self.stored, self.missing = sweep_id, stored, list(missing)
        self.msg = getattr(message, "msg", None)  # what a page translates (error_text)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; its message says what was stored and what is missing."""


def run_sweep(
    spec: SweepSpec,
    *,
    store=None,
    backend: str = "auto",
    scheduler: str | None = None,
    workers: int | None = None,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    sweep_id: str | None = None,
) -> SweepResult:
    """Run every point of a sweep, storing finished runs (with the sweep id) as they arrive.

    `progress(fraction, text)` after each epoch (in this process) or each finished run (processes, Dask);
    `should_stop()` cancels: finished runs are kept, nothing new starts. Runs store their metrics and
    history, not the report's frames (a page that wants a run's charts re-runs it). A point that fails
    stops the sweep: the runs stored so far stay, and SweepFailed (SweepInterrupted for Ctrl-C) says how
    many were stored and which points are missing. A Dask cluster that cannot run the sweep raises
    `core.cluster.ClusterError` before anything is stored.
    """
    from .pipeline import train

    started = time.perf_counter()
    if backend not in BACKENDS:
        raise ValueError(f"backend: {backend!r} is not allowed; expected one of {'|'.join(BACKENDS)}")
    pts = points(spec)
    study = get_study(spec.study)
    bases: dict = {}
    chosen, groups = backend, None
    if backend in ENGINE_OF:
        chosen, _, groups = _plan(spec, backend, pts, bases)
    stop = should_stop or (lambda: False)
    timings: dict[str, float] = {}
    results: list[RunResult] = []

    def finished(result: RunResult) -> None:
        if store is not None and result.status != "cancelled":
            t0 = time.perf_counter()
            store.save_results([result], sweep_id=sweep_id)
            timings["store"] = timings.get("store", 0.0) + time.perf_counter() - t0
        results.append(result)
        if progress:
            progress(len(results) / len(pts), MsgText(Msg(N_("{done}/{total} runs"), done=len(results), total=len(pts))))

    with _session(backend, scheduler, workers) as client:  # a cluster that cannot run the sweep stores nothing
        if store is not None and sweep_id is None:
            sweep_id = store.create_sweep(spec.study, {**spec.to_dict(), "backend": chosen})
        try:
            if backend in ENGINE_OF:  # each group is stored in one transaction as it finishes, then reported here
                results[:] = train(study, pts, engine=ENGINE_OF[backend], progress=progress, should_stop=stop,
                                   store=store, sweep_id=sweep_id, report="metrics", timings=timings, bases=bases,
                                   groups=groups, on_result=results.append)  # in point order once all are done
            elif backend == "processes":
                _processes(spec.study, pts, finished, stop, workers)
            else:
                _dask(spec.study, pts, finished, stop, client)
        except KeyboardInterrupt:
            raise SweepInterrupted(_account(spec, pts, results, store, sweep_id)) from None
        except Exception as exc:
            done = [r for r in results if r.status != "cancelled"]
            raise SweepFailed(_account(spec, pts, results, store, sweep_id, exc), sweep_id,
                              len(done) if store is not None else 0, missing_points(pts, done)) from exc
    cancelled = stop() or any(r.status == "cancelled" for r in results)
    return SweepResult(sweep_id, results, chosen, cancelled, time.perf_counter() - started, timings)


# --- what a sweep that stopped early kept ----------------------------------------------------------


def _key(config: dict[str, Any], fold: int | None) -> tuple:
    return tuple(sorted((k, v) for k, v in config.items() if k not in ("fold", "folds"))), fold


def missing_points(pts: Sequence[Any], done: Sequence[RunResult]) -> list[Any]:
    """The points (in order) that none of the finished runs `done` is."""
    have: dict[tuple, int] = {}
    for r in done:
        key = _key(r.config, r.config.get("fold"))
        have[key] = have.get(key, 0) + 1
    out = []
    for p in pts:
        key = _key(config_dict(p.config), p.fold)  # as a run's config is stored: optional defaults left out
        if have.get(key, 0):
            have[key] -= 1
        else:
            out.append(p)
    return out


def describe_points(some: Sequence[Any], pts: Sequence[Any], limit: int = 20) -> str:
    """Points by the values that vary across the sweep's points, folds grouped: `degree=3 (folds 0, 2), degree=9`."""
    if len(some) == len(pts):
        return f"all {len(pts)}" if len(pts) > 1 else "the one run"
    configs = [dataclasses.asdict(p.config) for p in pts]
    varying = [k for k in configs[0] if len({repr(c[k]) for c in configs}) > 1]
    show = lambda v: str(v).lower() if isinstance(v, bool) else str(v)  # noqa: E731
    groups: dict[str, list[int]] = {}
    for p in some:
        c = dataclasses.asdict(p.config)
        label = " ".join(f"{k}={show(c[k])}" for k in varying) or "the run"
        groups.setdefault(label, []).extend([] if p.fold is None else [p.fold])
    parts = [label + (f" (fold{'s' if len(folds) > 1 else ''} {', '.join(map(str, folds))})" if folds else "")
             for label, folds in groups.items()]
    more = len(parts) - limit
    return ", ".join(parts[:limit]) + (f" and {more} more" if more > 0 else "")


def _account(spec: SweepSpec, pts: Sequence[Any], results: Sequence[RunResult], store, sweep_id: str | None,
             exc: BaseException | None = None) -> MsgText:
    """One line: why the sweep stopped, how many runs were stored, which points are missing (English; a page shows
    its message translated, the points themselves are parameter values)."""
    from .cluster import one_line

    done = [r for r in results if r.status != "cancelled"]
    missing = missing_points(pts, done)
    kept = (Msg(N_("stored {done} of {total} runs"), done=len(done), total=len(pts)) if store is not None
            else Msg(N_("{done} of {total} runs finished, none stored"), done=len(done), total=len(pts)))
    head = Msg(N_("sweep {id}"), id=sweep_id) if sweep_id else Msg(N_("sweep of {study}"), study=spec.study)
    values: dict[str, Any] = dict(head=head, kept=kept, missing=describe_points(missing, pts) if missing else "")
    if exc is not None:
        values["why"] = exc.msg if isinstance(getattr(exc, "msg", None), Msg) else one_line(exc)
        msgid = N_("{head} stopped: {why}; {kept}; missing: {missing}") if missing else N_("{head} stopped: {why}; {kept}")
    else:
        msgid = N_("{head} stopped: {kept}; missing: {missing}") if missing else N_("{head} stopped: {kept}")
    return MsgText(Msg(msgid, **values))


# --- backends that send points elsewhere -----------------------------------------------------------


def _wire(point: Any) -> tuple[dict[str, Any], int | None, int | None]:
    return dataclasses.asdict(point.config), point.fold, point.folds


def run_point(study_id: str, config: dict[str, Any], fold: int | None, folds: int | None) -> RunResult:
    """Train one sweep point (a config and a fold) — the unit of work sent to processes and Dask workers."""
    import torch

    from .pipeline import Point, train

    torch.set_num_threads(1)  # one thread per worker: workers do not fight over cores
    study = get_study(study_id)
    result = train(study, [Point(study.config(config), fold, folds)], engine="module", report="metrics")[0]
    result.model = None  # models stay on the worker; the store needs the numbers only
    return result


@contextmanager
def _session(backend: str, scheduler: str | None, workers: int | None):
    """A connected, checked Dask client for the dask backend; None for the others."""
    if backend != "dask":
        yield None
        return
    from .cluster import connect

    with connect(scheduler, workers) as client:
        yield client


def _processes(study_id: str, pts: Sequence[Any], finished, stop, workers: int | None = None) -> None:
    from joblib import Parallel, delayed

    from .cluster import end_with_parent

    n_jobs = workers or max(1, (os.cpu_count() or 1))
    # return_as="generator_unordered" hands back each run as soon as it is done, so it is stored at once;
    # end_with_parent: the workers end when this process does, even after kill -9
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered", backend="loky",
                        initializer=end_with_parent, initargs=(os.getpid(),))
    for result in parallel(delayed(run_point)(study_id, *_wire(p)) for p in pts):
        finished(result)
        if stop():
            break  # leaving the generator cancels the points not yet started


def _dask(study_id: str, pts: Sequence[Any], finished, stop, client) -> None:
    from dask.distributed import as_completed

    from .cluster import WORKER_WAIT_S, one_line

    futures = {client.submit(run_point, study_id, *_wire(p), pure=False): p for p in pts}
    left, alone_since, looked = set(futures), None, time.monotonic()
    arriving = as_completed(futures)
    try:
        while left:
            done = arriving.next_batch(block=False)
            for future in done:
                left.discard(future)
                if future.status == "finished":
                    finished(future.result())
            failed = next((f for f in done if f.status in ("error", "cancelled")), None)
            if failed is not None:
                for future in arriving.next_batch(block=False):  # keep what finished meanwhile
                    left.discard(future)
                    if future.status == "finished":
                        finished(future.result())
                why = (one_line(failed.exception()) if failed.status == "error"
                       else "cancelled there (by another client, or a restarted scheduler)")
                raise RuntimeError(f"{describe_points([futures[failed]], pts)} failed on the cluster: {why}")
            if stop():
                break
            if left and not done:  # nothing arrived: wait a little, and look at the cluster once a second
                time.sleep(0.2)
                if time.monotonic() - looked >= 1:
                    looked = time.monotonic()
                    alone = not client.scheduler_info(n_workers=1)["workers"]
                    alone_since = (alone_since or looked) if alone else None
                    if alone_since is not None and looked - alone_since > 3 * WORKER_WAIT_S:
                        raise RuntimeError(f"every Dask worker has left the cluster (none for {3 * WORKER_WAIT_S} s)")
    finally:
        client.cancel(list(left))


def sweep_frame(results: Sequence[RunResult]) -> "Any":
    """The runs of a sweep as the store's runs table (a row per run)."""
    from .store import runs_frame

    return runs_frame([{**r.to_record(), "id": r.run_id} for r in results])


def describe(spec: SweepSpec) -> str:
    """One line: what the sweep crosses."""
    axes = " × ".join(f"{a.name} ({len(a.values)})" for a in spec.axes) or _("no grid")
    extra = (_(" × {n} folds").format(n=spec.folds) if spec.folds else "") + (
        _(" × {n} seeds").format(n=spec.seeds) if spec.seeds > 1 else "")
    return _("{study}: {axes} = {n} runs").format(study=spec.study, axes=axes + extra, n=spec.n_runs)


def axis_text(axis: Axis, limit: int = 20) -> str:
    """An axis and every value it takes (`degree = 1, 2, 3`), so a rounded grid is seen before it runs."""
    shown = [value_text(v, 3) for v in axis.values]
    if len(shown) > limit:
        shown = shown[: limit - 3] + ["…"] + shown[-2:]
    return f"{axis.name} = {', '.join(shown)}"


def default_spec(study: Study | str, base: dict[str, Any] | None = None, folds: int | None = None,
                 seeds: int = 1) -> SweepSpec:
    """The study's declared default sweep as a SweepSpec; `base` values win over the ones it fixes."""
    study = get_study(study) if isinstance(study, str) else study
    if study.sweep is None:
        raise ValueError(f"study {study.id} declares no default sweep; give the parameters to sweep (--grid)")
    fixed = {**study.parse(study.sweep.set), **(base or {})}
    axes = tuple(parse_axis(study, g) for g in study.sweep.grid)
    return SweepSpec(study.id, fixed, axes, folds, seeds)


def default_command(study: Study | str) -> str:
    """`python -m core sweep STUDY …`: the study's default sweep as one command line."""
    import shlex

    study = get_study(study) if isinstance(study, str) else study
    if study.sweep is None:
        return ""
    return shlex.join(["python", "-m", "core", "sweep", study.id, *study.sweep.args()])
