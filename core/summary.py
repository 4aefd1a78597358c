"""Summary tables worth sharing: one row per setting, folds and seeds pooled into mean ± std, in four formats.

From the runs of ONE study: the parameters that vary in the selection are the first columns, then
`n` (the finished runs pooled in the row), then the study's headline metrics (or those asked for) as
mean ± sample std. What every row shares is stated once under the table, with how runs were pooled,
which runs were left out (diverged or cancelled runs never enter a mean; they are counted in a note),
and last the command that reproduces the table. One data model (`Summary`), four renderers:
GitHub Markdown, LaTeX (booktabs), CSV (the same numbers, through `core.tables.csv_text`) and HTML.

Rounding: a mean with a spread shows the spread to two significant digits and the mean to the same
decimal place (0.0095 ± 0.0012); a single value takes its column's decimals (those of the column's
spread cells, but at least two significant digits), or three significant digits in a column without
any spread. The best mean of each metric that has a direction (`Metric.better`) is marked.
"""

from __future__ import annotations

import html
import math
import re
import shlex
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .compare import config_columns
from .i18n import N_, MessageError
from .metrics import DERIVED, HEADLINE, METRICS, derive, metric_info
from .query import RunFilter
from .schema import RUN_COLUMNS
from .store import Store, runs_frame
from .tables import csv_text

FORMATS = ("markdown", "latex", "csv", "html")
SUFFIX = {"markdown": "md", "latex": "tex", "csv": "csv", "html": "html"}
MIME = {"markdown": "text/markdown", "latex": "application/x-tex", "csv": "text/csv", "html": "text/html"}
MISSING = "—"  # a cell without a value (a setting whose every run diverged)
MAX_RUN_COMMANDS = 8  # local runs that form no grid: at most this many `run` commands are listed

Segment = tuple[str, bool]  # (text, is_code): a footer line is a sequence of these, rendered per format


@dataclass(frozen=True)
class Cell:
    """One metric of one row: the raw mean and sample std, and how they are shown."""

    mean: float | None  # None: no finished run of the row recorded the metric
    std: float | None  # sample std (ddof=1); None with fewer than two values
    count: int  # values pooled
    text: str = ""  # the mean as shown
    spread: str | None = None  # the std as shown; None: shown without ±
    best: bool = False


@dataclass(frozen=True)
class Row:
    """One distinct setting of the varied parameters."""

    setting: tuple[Any, ...]  # values of Summary.params (None where a run lacks the parameter)
    n: int  # finished runs pooled in the row
    cells: tuple[Cell, ...]  # one per Summary.metrics


@dataclass(frozen=True)
class Summary:
    """A summary table of one study's runs and what is said under it."""

    study: str
    title: str
    params: tuple[str, ...]  # the varied parameters: the first columns
    metrics: tuple[str, ...]  # the metric columns
    rows: tuple[Row, ...]
    constants: tuple[tuple[str, Any], ...]  # (parameter, value) shared by every row
    pooled: str  # how runs were pooled, e.g. "2 folds × seeds 0–1"
    notes: tuple[str, ...]  # runs left out, values missing
    commands: tuple[str, ...]  # shell commands that reproduce the runs
    sources: tuple[str, ...]  # files the imported runs came from
    available: tuple[str, ...]  # every metric these runs can be summarised by (for pickers)


# --- building ------------------------------------------------------------------------------------


def known_metrics() -> list[str]:
    """Every metric name a summary accepts: the stored ones, then the derived ones (gap)."""
    return [*METRICS, *DERIVED]


def check_metric_names(metrics: Sequence[str]) -> None:
    """ValueError naming any metric that is neither stored nor derived."""
    unknown = [m for m in metrics if metric_info(m) is None]
    if unknown:
        raise ValueError(f"metrics: unknown metric(s) {', '.join(unknown)}; known: {', '.join(known_metrics())}")


def available_metrics(runs: pd.DataFrame) -> list[str]:
    """Metrics (stored or derived) with a value in at least one finished run of a runs table."""
    ok = derive(runs[runs["status"] == "ok"])
    return [m for m in known_metrics() if m in ok.columns and ok[m].notna().any()]


def headline(study_id: str, available: Sequence[str]) -> list[str]:
    """The metrics a summary of this study shows by default: the study's declared headline, else its task's
    (core.metrics.HEADLINE; a study whose runs record test_acc is a classification study), those recorded."""
    from .studies import STUDIES

    study = STUDIES.get(study_id)
    task = "classification" if "test_acc" in available else "regression"
    declared = study.headline if study is not None and study.headline else HEADLINE[task]
    chosen = [m for m in declared if m in available]
    return chosen or [m for m in available if m.endswith(("loss", "acc"))] or list(available[:3])


def metric_choices(runs: pd.DataFrame) -> tuple[list[str], list[str]]:
    """For a picker: every metric these runs (one study) can be summarised by, and the study's headline among them."""
    available = available_metrics(runs)
    study = str(runs["study"].iloc[0]) if len(runs) else ""
    return available, headline(study, available)


def summarize(records: Sequence[dict[str, Any]], metrics: Sequence[str] | None = None,
              sweeps: Mapping[str, dict[str, Any]] | None = None, *, strict: bool = True) -> Summary:
    """The summary table of the runs (store records) of one study; `sweeps` maps sweep id → stored settings.

    ValueError for no runs, runs of several studies, or metrics that are unknown or (with `strict`) recorded by
    no finished run; without `strict` such metrics are left out with a note.
    """
    if not records:
        raise MessageError(N_("no runs to summarise"))
    return summarize_runs(runs_frame(records), metrics, sweeps, strict=strict)


def summarize_runs(runs: pd.DataFrame, metrics: Sequence[str] | None = None,
                   sweeps: Mapping[str, dict[str, Any]] | None = None, *, strict: bool = True) -> Summary:
    """`summarize` from the runs table of the runs (core.store.runs_frame's columns), as the store reads it."""
    if runs.empty:
        raise MessageError(N_("no runs to summarise"))
    studies = sorted(runs["study"].unique())
    if len(studies) > 1:
        raise MessageError(N_("a summary is one study at a time; these runs come from {n} studies: {studies}"), n=len(studies),
                           studies=", ".join(studies))
    study_id = studies[0]
    runs = runs.reset_index(drop=True)
    params = _param_order(study_id, config_columns(runs))
    available = available_metrics(runs)
    if metrics:
        check_metric_names(metrics)
        absent = [m for m in metrics if m not in available]
        if absent and strict:
            raise MessageError(N_("metrics: {absent} not recorded by any finished {study} run; recorded: {recorded}"),
                               absent=", ".join(absent), study=study_id, recorded=", ".join(available) or "none")
        chosen = [m for m in dict.fromkeys(metrics) if m in available]
    else:
        absent, chosen = [], headline(study_id, available) if available else []
    runs = derive(runs)
    ok = (runs["status"] == "ok").to_numpy()

    varied = [p for p in params if _varies(runs[p])]
    if "folds" in runs.columns and _varies(runs["folds"]):
        varied.append("folds")  # K changes how much each run trains on: a setting, not something to pool
    groups = _groups(runs, varied)
    keys = sorted(groups, key=lambda k: tuple(_sort_key(study_id, p, v) for p, v in zip(varied, k)))

    finished = {k: groups[k][ok[groups[k]]] for k in keys}  # diverged and cancelled runs enter no mean
    cells = {m: _mark_best(m, _format_column(m, [_stats(runs[m].iloc[finished[k]]) for k in keys])) for m in chosen}
    rows = tuple(Row(k, len(finished[k]), tuple(cells[m][i] for m in chosen)) for i, k in enumerate(keys))

    constants = [(p, _plain(runs[p].dropna().iloc[0])) for p in params if p not in varied and runs[p].notna().any()]
    seeds = sorted({int(s) for s in runs["seed"].dropna().unique()})
    if len(seeds) == 1:
        constants.insert(0, ("seed", seeds[0]))
    notes = _left_out(runs, varied, groups, keys)
    for m in chosen:
        recorded, total = sum(c.count for c in cells[m]), sum(r.n for r in rows)
        if recorded < total:
            notes.append(f"{m}: recorded by {recorded} of {total} finished runs")
    if absent:
        notes.append(f"not recorded by these runs: {', '.join(absent)}")
    commands, sources = _reproduce_runs(study_id, runs, sweeps or {})
    from .studies import STUDIES

    return Summary(
        study=study_id, title=STUDIES[study_id].title if study_id in STUDIES else study_id,
        params=tuple(varied), metrics=tuple(chosen), rows=rows, constants=tuple(constants),
        pooled=_pooled(runs, varied, seeds), notes=tuple(notes), commands=tuple(commands), sources=tuple(sources),
        available=tuple(available),
    )


def _groups(runs: pd.DataFrame, varied: Sequence[str]) -> dict[tuple, np.ndarray]:
    """Row positions per distinct setting of the varied parameters (a missing value is a setting of its own)."""
    if not varied:
        return {(): np.arange(len(runs))}
    out: dict[tuple, list[np.ndarray]] = {}
    for key, rows in runs.groupby(list(varied), dropna=False, sort=False).indices.items():
        key = tuple(_plain(v) for v in (key if isinstance(key, tuple) else (key,)))
        out.setdefault(key, []).append(rows)  # 1 and 1.0 are one setting, as in a set
    return {k: np.sort(np.concatenate(v)) for k, v in out.items()}


def summaries(store: Store, ids: Sequence[int] | None = None, *, study: str | None = None, sweep_id: str | None = None,
              metrics: Sequence[str] | None = None, filter: RunFilter | None = None,
              runs: pd.DataFrame | None = None) -> list[Summary]:
    """Summaries of stored runs (those selected, and only those are read; or `runs`, their runs table already read),
    one per study (registry order), reproduced by their stored sweeps' commands.

    An empty list when no run matches; metrics asked for must be known and recorded by some finished run.
    """
    if metrics:
        check_metric_names(metrics)
    if runs is None:
        runs = store.runs(ids, study=study, sweep_id=sweep_id, filter=filter)
    if runs.empty:
        return []
    by_study = {s: part for s, part in runs.groupby("study", sort=False)}
    if metrics and len(by_study) > 1:
        recorded = set(available_metrics(runs))
        absent = [m for m in metrics if m not in recorded]
        if absent:
            raise MessageError(N_("metrics: {absent} not recorded by any finished run of {studies}"), absent=", ".join(absent),
                               studies=", ".join(by_study))
    sweeps = {row.id: row.settings for row in store.sweeps(runs["sweep_id"].dropna().unique().tolist()).itertuples()}
    from .studies import STUDIES

    order = {name: i for i, name in enumerate(STUDIES)}
    return [summarize_runs(_own_columns(by_study[s]), metrics, sweeps, strict=len(by_study) == 1)
            for s in sorted(by_study, key=lambda s: (order.get(s, len(order)), s))]


def _own_columns(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs table of one study's runs without the parameters and metrics of the other studies read with them."""
    return runs.drop(columns=[c for c in runs.columns if c not in RUN_COLUMNS and runs[c].isna().all()])


def _param_order(study_id: str, columns: Sequence[str]) -> list[str]:
    from .studies import STUDIES

    if study_id not in STUDIES:
        return list(columns)
    declared = [p.name for p in STUDIES[study_id].params if p.name in columns and p.name != "seed"]
    return declared + [c for c in columns if c not in declared]


def _plain(v: Any) -> Any:
    """A cell as a plain Python value; None for NaN and NA."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        return _plain(v.item())
    return v


def _varies(column: pd.Series) -> bool:
    """Whether a column holds more than one setting (no value counts as one)."""
    present = column.dropna()
    distinct = len({_plain(v) for v in present.unique()}) if len(present) else 0
    return distinct + (1 if len(present) < len(column) else 0) > 1


def _sort_key(study_id: str, name: str, value: Any) -> tuple:
    if value is None:
        return (1, 0.0, "")
    if isinstance(value, str):
        from .studies import STUDIES

        choices = ()
        if study_id in STUDIES and name in STUDIES[study_id].param_map:
            choices = STUDIES[study_id].param(name).choices or ()
        return (0, float(choices.index(value)) if value in choices else float(len(choices)), value)
    return (0, float(value), "")


def _stats(values: pd.Series) -> tuple[float | None, float | None, int]:
    x = values.dropna().to_numpy(dtype=float)
    if len(x) == 0:
        return None, None, 0
    return float(np.mean(x)), float(np.std(x, ddof=1)) if len(x) > 1 else None, len(x)


# --- rounding --------------------------------------------------------------------------------------

MAX_DECIMALS = 8  # finer than this (or numbers from a million up) are shown in scientific notation


def _sig_decimals(x: float, digits: int) -> int:
    """Decimals that show `digits` significant digits of x (never negative)."""
    return max(0, digits - 1 - math.floor(math.log10(abs(x)))) if x else 0


def _fixed(x: float, decimals: int) -> str:
    text = f"{x:.{decimals}f}"
    return text.lstrip("-") if float(text) == 0 else text  # no "-0.000"


def _fits_fixed(x: float, decimals: int) -> bool:
    return decimals <= MAX_DECIMALS and abs(x) < 1e6


def _format_column(metric: str, stats: list[tuple[float | None, float | None, int]]) -> list[Cell]:
    info = metric_info(metric)
    integer = info is not None and info.kind in (int, bool)
    spread_decimals = [_sig_decimals(s, 2) for m, s, _ in stats if s and _fits_fixed(m, _sig_decimals(s, 2))]
    column = max(spread_decimals) if spread_decimals else None
    out = []
    for mean, std, count in stats:
        if mean is None:
            out.append(Cell(None, None, 0))
            continue
        if std:  # a spread: two significant digits of it, the mean to the same place
            d = _sig_decimals(std, 2)
            if _fits_fixed(mean, d):
                out.append(Cell(mean, std, count, _fixed(mean, d), _fixed(std, d)))
            else:
                digits = max(1, min(6, math.floor(math.log10(max(abs(mean), std))) - math.floor(math.log10(std)) + 1))
                out.append(Cell(mean, std, count, f"{mean:.{digits}e}", f"{std:.1e}"))
            continue
        if integer and float(mean).is_integer() and abs(mean) < 1e15:
            text = str(int(mean))
        else:
            d = max(column, _sig_decimals(mean, 2)) if column is not None else _sig_decimals(mean, 3)
            text = _fixed(mean, d) if _fits_fixed(mean, d) else f"{mean:.2e}"
        out.append(Cell(mean, std, count, text, "0" if std == 0 else None))
    return out


def _mark_best(metric: str, cells: list[Cell]) -> list[Cell]:
    info = metric_info(metric)
    means = [c.mean for c in cells if c.mean is not None]
    if info is None or info.better is None or len(means) < 2:
        return cells
    best = min(means) if info.better == "lower" else max(means)
    return [Cell(c.mean, c.std, c.count, c.text, c.spread, True) if c.mean == best else c for c in cells]


# --- what is said under the table ----------------------------------------------------------------------


def _text(v: Any) -> str:
    """A parameter value as a table cell and as a command-line value (exact, and short where that is exact)."""
    v = _plain(v)
    if v is None:
        return MISSING
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        short = f"{v:g}"
        return short if float(short) == v else repr(v)
    return str(v)


def _setting_label(varied: Sequence[str], key: tuple) -> str:
    return ", ".join(f"{p}={_text(v)}" for p, v in zip(varied, key))


def _left_out(runs: pd.DataFrame, varied: Sequence[str], groups: dict[tuple, np.ndarray], keys: list[tuple]) -> list[str]:
    """One note per status other than ok: how many runs, and of which settings."""
    notes = []
    statuses = runs["status"].to_numpy()
    for status in sorted(set(runs["status"]) - {"ok"}):
        where: list[str] = []
        total = 0
        for k in keys:
            count = int((statuses[groups[k]] == status).sum())
            total += count
            if count and varied:
                where.append(_setting_label(varied, k) + (f" ×{count}" if count > 1 else ""))
        shown = "; ".join(where[:5]) + ("; …" if len(where) > 5 else "")
        notes.append(f"left out of the means: {total} {status} run{'s' if total > 1 else ''}" + (f" ({shown})" if shown else ""))
    return notes


def _seed_list(seeds: Sequence[int]) -> str:
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds[:8])) + (", …" if len(seeds) > 8 else "")


def _pooled(runs: pd.DataFrame, varied: Sequence[str], seeds: list[int]) -> str:
    parts = []
    folds = sorted({int(k) for k in runs["folds"].dropna()}) if "folds" in runs.columns else []
    if folds and "folds" not in varied:
        parts.append(f"{folds[0]} folds")
    if len(seeds) > 1:
        parts.append(f"seeds {_seed_list(seeds)}")
    return " × ".join(parts)


def footer(s: Summary) -> list[list[Segment]]:
    """The lines under the table, as (text, is_code) segments: constants, pooling and marks, notes, reproduction."""
    lines: list[list[Segment]] = []
    line: list[Segment] = [("Study ", False), (s.study, True)]
    if s.constants:
        line.append((", the same in every row: ", False))
        for i, (name, value) in enumerate(s.constants):
            line += [((", " if i else ""), False), (f"{name}={_text(value)}", True)]
    lines.append(line + [(".", False)])
    how = f" ({s.pooled})" if s.pooled else ""
    pooled = any(r.n > 1 for r in s.rows)
    line = [(f"Each row: mean ± sample std over its n finished runs{how}; a single run is shown without ±." if pooled
             else "Each row: one run.", False)]
    marked = {d: [m for m in s.metrics if (metric_info(m).better if metric_info(m) else None) == d] for d in ("lower", "higher")}
    if (marked["lower"] or marked["higher"]) and sum(1 for r in s.rows if r.n) > 1:
        line.append((" Bold: the best mean (", False))
        for i, (word, direction) in enumerate((("lowest", "lower"), ("highest", "higher"))):
            names = marked[direction]
            if names:
                line.append(("; " if i and marked["lower"] else "", False))
                line.append((word + " ", False))
                for j, m in enumerate(names):
                    line += [((", " if j else ""), False), (m, True)]
        line.append((").", False))
    if "gap" in s.metrics:
        line.append((" gap = test_loss − train_loss.", False))
    lines.append(line)
    if s.notes:
        lines.append([("Note: " + "; ".join(s.notes) + ".", False)])
    for source in s.sources:
        lines.append([("Imported from ", False), (source, True), (".", False)])
    for command in s.commands:
        lines.append([("Reproduce: ", False), (command, True)] if command.startswith("python") else [(command, False)])
    return lines


# --- the command that reproduces the table -----------------------------------------------------------


def reproduce(study_id: str, records: Sequence[dict[str, Any]], sweeps: Mapping[str, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """The commands that reproduce these runs (a stored sweep's `sweep` command rebuilt from its settings; local runs
    as one equivalent `sweep` or `run` command where they form a grid, else `run` commands) and imported files."""
    return _reproduce_runs(study_id, runs_frame(records), sweeps) if records else ([], [])


def _reproduce_runs(study_id: str, runs: pd.DataFrame, sweeps: Mapping[str, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """`reproduce` from the runs table of one study's runs."""
    source = runs["source"].fillna("local").astype(str)
    imported = source.str.startswith("import:").to_numpy()
    sources = [s[len("import:"):] for s in pd.unique(source[imported])]
    in_sweep = (~imported) & runs["sweep_id"].isin(list(sweeps)).to_numpy()
    commands = []
    local = ~imported & ~in_sweep
    for sweep_id, rows in runs[in_sweep].groupby("sweep_id", sort=False).indices.items():
        part = runs[in_sweep].iloc[rows]
        try:
            commands.append(_sweep_command(sweeps[sweep_id], part))
        except (ValueError, KeyError, TypeError):  # settings this version cannot read: rebuild from the runs instead
            local |= runs["id"].isin(part["id"]).to_numpy()
    if local.any():
        commands += _local_commands(study_id, _configs(runs[local]))
    return commands, sources


def _configs(runs: pd.DataFrame) -> list[dict[str, Any]]:
    """Each run's config (as `{"config": {...}}`) from the runs table: its parameters with a value, seed, fold, folds."""
    names = ["seed", *(c for c in config_columns(runs) if c not in DERIVED), *(c for c in ("folds", "fold") if c in runs.columns)]
    columns = {n: runs[n].tolist() for n in names}
    return [{"config": {n: v for n in names if (v := _plain(columns[n][i])) is not None}} for i in range(len(runs))]


def _grid_text(study_id: str, name: str, values: list) -> str:
    """A grid axis as the CLI takes it: low:high:steps[:log] where that gives exactly these values and is shorter, else a list."""
    from .studies import STUDIES
    from .sweeps import grid_values

    listed = f"{name}=" + ",".join(_text(v) for v in values)
    param = STUDIES[study_id].param_map.get(name) if study_id in STUDIES else None
    if param is not None and len(values) > 2 and param.kind in (int, float):
        for spacing in ("linear", "log"):
            ranged = f"{name}={_text(values[0])}:{_text(values[-1])}:{len(values)}" + (":log" if spacing == "log" else "")
            try:
                if len(ranged) < len(listed) and grid_values(param, values[0], values[-1], len(values), spacing) == values:
                    return ranged
            except ValueError:
                pass
    return listed


def _sweep_command(settings: dict[str, Any], runs: pd.DataFrame) -> str:
    """`python -m core sweep …` rebuilt from a stored sweep's settings, its grid narrowed to the values these runs have
    (the runs table of the sweep's runs)."""
    spec = _stored_sweep(settings)
    args = ["python", "-m", "core", "sweep", spec.study]
    for name, value in spec.base.items():
        if name != "seed":
            args += ["--set", f"{name}={_text(value)}"]
    if "seed" in spec.base:
        args += ["--seed", _text(spec.base["seed"])]
    for axis in spec.axes:
        present = {_plain(v) for v in runs[axis.name].unique()} if axis.name in runs else {None}
        values = [v for v in axis.values if v in present] or list(axis.values)
        args += ["--grid", _grid_text(spec.study, axis.name, values)]
    if spec.folds:
        args += ["--folds", str(spec.folds)]
    if spec.seeds > 1:
        args += ["--seeds", str(spec.seeds)]
    return shlex.join(args)


def _stored_sweep(settings: dict[str, Any]):
    """A stored sweep's settings as a SweepSpec, each value checked against its parameter (not each config, as running
    the sweep did: that took a while for a large grid): ValueError, KeyError or TypeError if this version cannot read it."""
    from .studies import get_study
    from .sweeps import Axis, SweepSpec

    study = get_study(settings["study"])
    base = dict(settings.get("base", {}))
    study.config(base)
    spacing = settings.get("spacing", {})
    axes = tuple(Axis(k, tuple(v), spacing.get(k, "list")) for k, v in settings.get("grid", {}).items())
    for axis in axes:
        for v in axis.values:
            study.param(axis.name).validate(v)
    spec = object.__new__(SweepSpec)  # the fields only: __post_init__ would check every config of the grid again
    for name, value in (("study", study.id), ("base", base), ("axes", axes), ("folds", settings.get("folds")),
                        ("seeds", int(settings.get("seeds", 1)))):
        object.__setattr__(spec, name, value)
    return spec


def _local_commands(study_id: str, recs: Sequence[dict[str, Any]]) -> list[str]:
    """Runs trained one by one: one `sweep` (or `run`) command when they form a full grid × seeds × folds, else a
    `run` command per run (at most MAX_RUN_COMMANDS, then a count)."""
    from .studies import STUDIES

    defaults = STUDIES[study_id].defaults() if study_id in STUDIES else {}
    points: dict[tuple, dict[int | None, set]] = {}
    for rec in recs:
        cfg = rec["config"]
        setting = tuple(sorted((k, _plain(v)) for k, v in cfg.items() if k not in ("seed", "fold", "folds")))
        folds = _plain(cfg.get("folds"))
        points.setdefault((setting, folds), {}).setdefault(_plain(cfg.get("seed")), set()).add(_plain(cfg.get("fold")))
    settings = [dict(s) for s, _ in points]
    names = list(dict.fromkeys(k for s in settings for k in s))
    varied = [n for n in names if len({s.get(n) for s in settings}) > 1]
    fold_counts = {k for _, k in points}
    seed_sets = {frozenset(by_seed) for by_seed in points.values()}
    seeds = sorted(next(iter(seed_sets)), key=lambda x: (x is None, x or 0)) if len(seed_sets) == 1 else []
    complete = all(folds == (set(range(k)) if k else {None}) for (_, k), by_seed in points.items() for folds in by_seed.values())
    grid = math.prod(len({s.get(n) for s in settings}) for n in varied)
    first = settings[0]
    order = _param_order(study_id, names)
    fixed = [f"{k}={_text(first[k])}" for k in order
             if k in first and k not in varied and first[k] is not None and defaults.get(k, object()) != first[k]]
    if (len(fold_counts) == 1 and seeds and None not in seeds and seeds == list(range(seeds[0], seeds[0] + len(seeds)))
            and complete and grid == len(points)):
        k = next(iter(fold_counts))
        one_run = len(points) == 1 and len(seeds) == 1
        args = ["python", "-m", "core", "run" if one_run else "sweep", study_id]
        for pair in fixed:
            args += ["--set", pair]
        if seeds[0] != defaults.get("seed", 0):
            args += ["--seed", str(seeds[0])]
        for n in varied:
            values = sorted({s[n] for s in settings if s.get(n) is not None}, key=lambda v: _sort_key(study_id, n, v))
            args += ["--grid", _grid_text(study_id, n, values)]
        if k:
            args += ["--folds", str(k)]
        if len(seeds) > 1:
            args += ["--seeds", str(len(seeds))]
        return [shlex.join(args)]
    commands = []
    for (setting, k), by_seed in points.items():
        values = dict(setting)
        pairs = [f"{n}={_text(values[n])}" for n in order if n in values and values[n] is not None and defaults.get(n, object()) != values[n]]
        base = ["python", "-m", "core", "run", study_id, *[a for p in pairs for a in ("--set", p)]]
        for seed, folds in sorted(by_seed.items(), key=lambda item: (item[0] is None, item[0] or 0)):
            args = base + (["--seed", str(seed)] if seed is not None else [])
            if not k:
                commands.append(shlex.join(args))
            elif folds == set(range(k)):
                commands.append(shlex.join(args + ["--folds", str(k)]))
            else:
                commands += [shlex.join(args + ["--folds", str(k), "--fold", str(f)]) for f in sorted(f for f in folds if f is not None)]
    if len(commands) > MAX_RUN_COMMANDS:
        extra = len(commands) - MAX_RUN_COMMANDS
        commands = commands[:MAX_RUN_COMMANDS] + [f"… and {extra} more run commands (python -m core export lists every run's full config)."]
    return commands


# --- renderers -------------------------------------------------------------------------------------


# `|` ends a cell; $ starts math on GitHub; the rest is markup. An underscore inside a word is never emphasis in GFM,
# so weight_decay stays readable in the source.
_MD_SPECIAL = re.compile(r"[\\`*\[\]<>|~&#$]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def md_escape(text: str) -> str:
    """Text safe in a GitHub Markdown table cell: markup characters and `|` backslash-escaped, one line."""
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), str(text).replace("\r", " ").replace("\n", " "))


def _md_code(text: str) -> str:
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
        "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
        # the few non-ASCII characters the lines under a table use, so no input encoding or font package is needed
        "±": r"$\pm$", "−": "$-$", "×": r"$\times$", "–": "--", "—": "---", "…": r"\ldots{}"}


def tex_escape(text: str) -> str:
    """Text safe in LaTeX: every special character escaped (weight_decay → weight\\_decay)."""
    return "".join(_TEX.get(ch, ch) for ch in str(text).replace("\n", " "))


def _cell_text(cell: Cell) -> str:
    return cell.text if cell.spread is None else f"{cell.text} ± {cell.spread}"


def _columns(s: Summary) -> list[str]:
    return [*s.params, "n", *s.metrics]


def _setting_texts(row: Row) -> list[str]:
    return [_text(v) for v in row.setting]


def _numeric_param(s: Summary, i: int) -> bool:
    return all(isinstance(_plain(r.setting[i]), (int, float)) and not isinstance(_plain(r.setting[i]), bool)
               for r in s.rows if _plain(r.setting[i]) is not None)


def to_markdown(s: Summary, heading: bool = False) -> str:
    """GitHub Markdown: the table (best in bold, `|` escaped), then the lines under it."""
    lines = [f"### {_md_code(s.study)} — {md_escape(s.title)}", ""] if heading else []
    lines.append("| " + " | ".join(md_escape(c) for c in _columns(s)) + " |")
    align = ["---:" if _numeric_param(s, i) else "---" for i in range(len(s.params))] + ["---:"] * (1 + len(s.metrics))
    lines.append("|" + "|".join(align) + "|")
    for row in s.rows:
        cells = [md_escape(t) for t in _setting_texts(row)] + [str(row.n)]
        for c in row.cells:
            text = md_escape(_cell_text(c)) if c.mean is not None else MISSING
            cells.append(f"**{text}**" if c.best else text)
        lines.append("| " + " | ".join(cells) + " |")
    for line in footer(s):
        lines += ["", "".join(_md_code(t) if code else md_escape(t) for t, code in line)]
    return "\n".join(lines) + "\n"


def _tex_number(text: str) -> str:
    m = re.fullmatch(r"(-?[\d.]+)e([+-]\d+)", text)
    return f"{m.group(1)}\\times 10^{{{int(m.group(2))}}}" if m else text


def to_latex(s: Summary) -> str:
    """LaTeX with booktabs: a captioned table, numbers in math mode with \\pm, best in \\mathbf, special characters escaped."""
    spec = "".join("r" if _numeric_param(s, i) else "l" for i in range(len(s.params))) + "r" * (1 + len(s.metrics))
    header = [tex_escape(c) for c in s.params] + ["$n$"] + [tex_escape(m) for m in s.metrics]
    out = ["% Overfit Lab summary; needs \\usepackage{booktabs}", "\\begin{table}[ht]", "\\centering",
           f"\\caption{{{tex_escape(s.title)} (\\texttt{{{tex_escape(s.study)}}})}}"]
    out += [f"\\begin{{tabular}}{{{spec}}}", "\\toprule", " & ".join(header) + " \\\\", "\\midrule"]
    for row in s.rows:
        cells = [tex_escape(t) for t in _setting_texts(row)] + [str(row.n)]
        for c in row.cells:
            if c.mean is None:
                cells.append("---")
                continue
            number = _tex_number(c.text) + (f" \\pm {_tex_number(c.spread)}" if c.spread is not None else "")
            cells.append(f"$\\mathbf{{{number}}}$" if c.best else f"${number}$")
        out.append(" & ".join(cells) + " \\\\")
    out += ["\\bottomrule", "\\end{tabular}", "", "\\medskip", "{\\footnotesize"]
    for line in footer(s):
        out.append("".join(f"\\texttt{{{tex_escape(t)}}}" if code else tex_escape(t) for t, code in line) + "\\par")
    out += ["}", "\\end{table}"]
    return "\n".join(out) + "\n"


def to_csv(s: Summary) -> str:
    """CSV of the same numbers as shown: the varied parameters, n, then each metric's mean and std columns."""
    frame = pd.DataFrame({p: [_plain(r.setting[i]) for r in s.rows] for i, p in enumerate(s.params)})
    frame["n"] = [r.n for r in s.rows]
    for j, m in enumerate(s.metrics):
        frame[f"{m} mean"] = [float(r.cells[j].text) if r.cells[j].mean is not None else math.nan for r in s.rows]
        frame[f"{m} std"] = [float(r.cells[j].spread) if r.cells[j].spread is not None else math.nan for r in s.rows]
    return csv_text(frame)


_CELL_STYLE = "border-bottom:1px solid #ddd;padding:4px 10px"


def to_html(s: Summary, heading: bool = False) -> str:
    """HTML for e-mail: inline styles, entities escaped, best in <b>, the lines under the table as a paragraph."""
    esc = lambda t: html.escape(str(t), quote=True)  # noqa: E731
    out = [f"<h3>{esc(s.title)} (<code>{esc(s.study)}</code>)</h3>"] if heading else []
    out.append('<table style="border-collapse:collapse;font-family:sans-serif;font-size:14px">')
    right = [_numeric_param(s, i) for i in range(len(s.params))] + [True] * (1 + len(s.metrics))
    align = lambda r: "right" if r else "left"  # noqa: E731
    out.append("<thead><tr>" + "".join(f'<th style="border-bottom:2px solid #333;padding:4px 10px;text-align:{align(r)}">{esc(c)}</th>'
                                       for c, r in zip(_columns(s), right)) + "</tr></thead>")
    out.append("<tbody>")
    for row in s.rows:
        texts = _setting_texts(row) + [str(row.n)]
        cells = [esc(t) for t in texts]
        for c in row.cells:
            text = esc(_cell_text(c)) if c.mean is not None else esc(MISSING)
            cells.append(f"<b>{text}</b>" if c.best else text)
        out.append("<tr>" + "".join(f'<td style="{_CELL_STYLE};text-align:{align(r)}">{c}</td>' for c, r in zip(cells, right)) + "</tr>")
    out.append("</tbody>")
    out.append("</table>")
    lines = ["".join(f"<code>{esc(t)}</code>" if code else esc(t) for t, code in line) for line in footer(s)]
    out.append('<p style="font-family:sans-serif;font-size:12px;color:#444">' + "<br>\n".join(lines) + "</p>")
    # numeric character references for everything beyond ASCII (±, —, ×): safe in any mail client's charset
    return "\n".join(out).encode("ascii", "xmlcharrefreplace").decode("ascii") + "\n"


def render(s: Summary, fmt: str, heading: bool = False) -> str:
    """One summary in one of FORMATS; `heading` names the study above the table (several tables in one text)."""
    if fmt not in FORMATS:
        raise ValueError(f"format: {fmt!r} is not allowed; expected one of {'|'.join(FORMATS)}")
    if fmt == "csv":
        return to_csv(s)
    if fmt == "latex":
        return to_latex(s)  # a LaTeX table always has its caption
    return to_markdown(s, heading) if fmt == "markdown" else to_html(s, heading)


def render_all(items: Sequence[Summary], fmt: str) -> str:
    """Several summaries (one per study) as one text, each under its study's name; CSV holds one table only."""
    if fmt == "csv" and len(items) > 1:
        raise ValueError(f"format: csv holds one table, and these runs come from {len(items)} studies "
                         f"({', '.join(s.study for s in items)}); pick one with --study")
    return "\n".join(render(s, fmt, heading=len(items) > 1) for s in items)
