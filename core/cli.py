"""Command line: `python -m core studies | run | sweep | runs | summary | export | import | reproduce`.

Bad input (an unknown study or parameter, a value out of range, a refused import, a results file
that is not a usable store) exits with status 2 and one line naming what is wrong; nothing is stored.
A run that fails stores none of its folds; a sweep that fails keeps the runs it stored and says how many
and which points are missing; a Dask cluster that cannot take the sweep is named in one line (status 1).
Heavy modules (torch, pandas, scikit-learn) are imported by the commands that use them, so `studies`
answers at once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from .cluster import one_line
from .studies import STUDIES, get_study
from .sweeps import BACKENDS

TEXT_FORMATS = ("table", "csv", "json", "markdown")
EXPORT_FORMATS = ("csv", "json", "parquet", "markdown")  # core.tables.FORMATS, without importing pandas to parse flags
SUMMARY_FORMATS = ("markdown", "latex", "csv", "html")  # core.summary.FORMATS, likewise


class UsageError(ValueError):
    """Bad input from the command line: exit status 2."""


class RunFailed(RuntimeError):
    """Training failed (not because of the input): exit status 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, as for every other bad input
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m core", description="Overfit Lab: studies of overfitting and regularization with real PyTorch training.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    db = _Parser(add_help=False)
    db.add_argument("--db", help="SQLite results file (default: $OVERFIT_LAB_DB, else ./overfit_lab.db)")

    p = sub.add_parser("studies", help="list every study with its parameters")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")

    p = sub.add_parser("run", parents=[db], help="run a study, store it and print the result")
    p.add_argument("study", help="study id (see `studies`)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="set a parameter; repeatable")
    p.add_argument("--seed", type=int, help="random seed (same as --set seed=N)")
    p.add_argument("--folds", type=int, help="K-fold cross-validation: one run per fold, val_loss on the held-out fold")
    p.add_argument("--fold", type=int, help="with --folds: run only this fold (0-based), e.g. to re-run one stored run")
    p.add_argument("--format", choices=TEXT_FORMATS, default="table")
    p.add_argument("--no-store", action="store_true", help="print the result without storing it")

    p = sub.add_parser("sweep", parents=[db], help="sweep parameters over a grid, crossed with folds and seeds")
    p.add_argument("study", help="study id (see `studies`)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="fix a parameter; repeatable")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="sweep a parameter over a list, or a range low:high:steps[:log]; repeat to cross several "
                        "(none: the study's default sweep, see `studies`)")
    p.add_argument("--seed", type=int, help="first seed")
    p.add_argument("--seeds", type=int, default=1, help="number of seeds per point (seed, seed+1, ...)")
    p.add_argument("--folds", type=int, help="K-fold cross-validation at every point; val_loss is the held-out fold's")
    p.add_argument("--backend", choices=BACKENDS, default="auto", help="auto batches models where it can, else serial")
    p.add_argument("--scheduler", help="Dask scheduler address for --backend dask (default: $OVERFIT_LAB_DASK, else a local cluster)")
    p.add_argument("--workers", type=int, help="worker processes for --backend processes or a local Dask cluster")
    p.add_argument("--format", choices=TEXT_FORMATS, default="table")
    p.add_argument("--no-store", action="store_true", help="print the result without storing it")

    p = sub.add_parser("runs", parents=[db], help="list stored runs")
    p.add_argument("--study", help="only this study")
    p.add_argument("--format", choices=TEXT_FORMATS, default="table")

    p = sub.add_parser("summary", parents=[db], help="a summary table to share: mean ± std per setting, one study at a time")
    p.add_argument("--study", help="only this study")
    p.add_argument("--ids", help="only these run ids, comma-separated")
    p.add_argument("--sweep", help="only the runs of this stored sweep (its id)")
    p.add_argument("--metrics", nargs="+", metavar="METRIC",
                   help="metric columns, space- or comma-separated (default: the study's headline metrics)")
    p.add_argument("--format", choices=SUMMARY_FORMATS, default="markdown")

    p = sub.add_parser("export", parents=[db], help="export stored runs with their full configs")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
    p.add_argument("--out", help="file to write (default: standard output)")
    p.add_argument("--study", help="only this study")
    p.add_argument("--ids", help="only these run ids, comma-separated")

    p = sub.add_parser("import", parents=[db], help="import an exported file (csv, json, parquet, md)")
    p.add_argument("file")

    p = sub.add_parser("reproduce", parents=[db], help="re-run canonical published results and compare (none given: "
                                                       "the table of the latest stored re-runs)")
    p.add_argument("names", nargs="*", metavar="NAME", help="reproductions to re-run (see the table)")
    p.add_argument("--all", action="store_true", help="re-run every reproduction")
    p.add_argument("--size", choices=("small", "full"), default="small",
                   help="small: minutes at most, what CI runs; full: the closest setup the lab has")
    p.add_argument("--format", choices=("table", "csv", "markdown", "json"), default="table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except BrokenPipeError:  # the output was piped into a reader that stopped early (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def torch_threads() -> int:
    """$OVERFIT_LAB_THREADS (default 1: tiny models, one thread beats two fighting over small matrices)."""
    text = os.environ.get("OVERFIT_LAB_THREADS", "1")
    if not text.strip().isdigit() or int(text) < 1:
        raise UsageError(f"OVERFIT_LAB_THREADS: {text!r} is not allowed; expected a whole number >= 1")
    return int(text)


TRAINING = ("run", "sweep", "reproduce")  # the commands that need torch; listing, exporting and importing start without it


def _dispatch(args) -> int:
    if args.command == "studies":  # declarations only: no torch
        return cmd_studies(args)
    try:
        threads = torch_threads()
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    unavailable: tuple[type[BaseException], ...] = ()
    if args.command in TRAINING:
        import torch

        from .data import DataUnavailable
        from .cluster import ClusterError
        from .sweeps import SweepFailed

        torch.set_num_threads(threads)
        unavailable = (DataUnavailable, SweepFailed, ClusterError)
    try:
        return COMMANDS[args.command](args)
    except (UsageError, ValueError) as exc:  # ImportRefused is a ValueError too
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (RunFailed, *unavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise  # a reader that stopped early: main() ends quietly
    except OSError as exc:  # e.g. --out into a folder that does not exist
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:  # a sweep's message says what it stored; a run stores all or nothing
        print(f"interrupted: {str(exc) or 'nothing stored'}", file=sys.stderr)
        return 130


def cmd_studies(args) -> int:
    from .sweeps import default_command

    if args.format == "json":
        print(json.dumps([{"id": s.id, "title": s.title, "summary": s.summary, "params": [p.to_dict() for p in s.params],
                           "default_sweep": default_command(s)} for s in STUDIES.values()], indent=1))
        return 0
    for s in STUDIES.values():
        if args.format == "markdown":
            import pandas as pd

            from .tables import format_table

            print(f"### `{s.id}` — {s.title}\n\n{s.summary}\n")
            rows = pd.DataFrame([{"parameter": p.name, "default": p.default, "allowed": p.describe(), "help": p.help} for p in s.params])
            print(format_table(rows, "markdown"))
            if s.sweep is not None:
                print(f"\nDefault sweep: `{default_command(s)}`. {s.sweep.why}\n")
        else:
            print(f"{s.id}: {s.title}\n  {s.summary}")
            for p in s.params:
                print(f"    {p.name:<13} default {str(p.default):<9} {p.describe():<38} {p.help}")
            if s.sweep is not None:
                print(f"  default sweep: {default_command(s)}")
            print()
    return 0


def parse_config(study_id: str, pairs: Sequence[str], seed: int | None) -> tuple[Any, Any]:
    """The study and its validated config from --set pairs and --seed (ValueError names the problem)."""
    from .data.upload import pin

    study = get_study(study_id)
    values = study.parse(pairs)
    if seed is not None:
        values["seed"] = seed
    return study, study.config(pin(values))  # a CSV is read and checked now, and its hash and rows recorded


def progress_bar(total: int = 1000):
    """A tqdm bar on stderr and the `progress(fraction, text)` function that drives it."""
    from tqdm import tqdm

    bar = tqdm(total=total, file=sys.stderr, disable=None, leave=False, bar_format="{l_bar}{bar}| {elapsed}<{remaining}")

    def progress(fraction: float, text: str) -> None:
        bar.set_description_str(text)
        bar.update(max(0, round(fraction * total) - bar.n))

    return bar, progress


def cmd_run(args) -> int:
    from .data import DataUnavailable
    from .store import Store
    from .studies import check_run, run_study

    study, cfg = parse_config(args.study, args.set, args.seed)
    check_run(cfg, args.folds, args.fold)
    store = None if args.no_store else Store(args.db, for_writing=True)  # refused before training
    bar, progress = progress_bar()
    try:  # the terminal shows numbers only: the report's frames are not made
        results = run_study(study, cfg, folds=args.folds, fold=args.fold, progress=progress, store=store, report="metrics")
    except DataUnavailable:
        raise
    except Exception as exc:  # run_study stores all folds or none: say that none were
        failed = UsageError if isinstance(exc, ValueError) else RunFailed
        raise failed(f"{one_line(exc)}; nothing stored") from exc
    finally:
        bar.close()
    print_runs([r.to_record() for r in results], args.format)
    return 0


def print_runs(records: list[dict[str, Any]], fmt: str, show: Sequence[str] = ()) -> None:
    """Runs as JSON (a list of {config, metrics, status}) or as a table of the runs' columns."""
    if fmt == "json":
        from .store import to_json

        print(json.dumps(json.loads(to_json(records)), indent=1))
        return
    if not records and fmt == "table":
        return  # the caller has said on stderr that there is nothing
    from .metrics import METRICS
    from .store import runs_frame
    from .tables import format_table

    frame = runs_frame(records)
    if fmt == "table":  # the terminal gets the metrics; csv, json and markdown carry the full config
        metrics = [c for c in frame.columns if c in METRICS]
        frame = frame[["id", "study", "status", "seed", "fold", *show, *metrics]].dropna(axis=1, how="all")
    print(format_table(frame, fmt), end="" if fmt in ("csv", "markdown") else "\n")


def cmd_sweep(args) -> int:
    from .store import Store
    from .sweeps import SweepSpec, axis_text, default_command, default_spec, describe, parse_axis, run_sweep

    from .data.upload import pin

    study = get_study(args.study)
    base = pin(study.parse(args.set))
    if args.seed is not None:
        base["seed"] = args.seed
    if args.grid:
        spec = SweepSpec(study.id, base, tuple(parse_axis(study, g) for g in args.grid), args.folds, args.seeds)
    else:  # the study's default sweep; --set values win over the ones it fixes
        spec = default_spec(study, base, args.folds, args.seeds)
        print(f"no --grid: the default sweep of {study.id} ({default_command(study)})", file=sys.stderr)
    for axis in spec.axes:
        print(axis_text(axis), file=sys.stderr)
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers: {args.workers} is not allowed; expected an int >= 1")
    store = None if args.no_store else Store(args.db, for_writing=True)
    bar, progress = progress_bar()
    print(describe(spec), file=sys.stderr)
    # start-up, not sweep work: scikit-learn's splitters and data sets take 1-2 s to import
    import sklearn.datasets  # noqa: F401
    import sklearn.model_selection  # noqa: F401

    try:
        result = run_sweep(spec, store=store, backend=args.backend, scheduler=args.scheduler, workers=args.workers, progress=progress)
    finally:
        bar.close()
    sweep = f"sweep {result.sweep_id}: " if result.sweep_id else ""
    parts = ", ".join(f"{name} {result.timings[name]:.2f} s" for name in ("train", "evaluate", "report", "store", "setup")
                      if name in result.timings)
    print(f"{sweep}{len(result.results)} runs with the {result.backend} backend in {result.seconds:.2f} s"
          + (f" ({parts})" if parts else ""), file=sys.stderr)
    print_runs([r.to_record() for r in result.results], args.format, show=[a.name for a in spec.axes])
    return 0


def _warn_skipped(skipped: list[str]) -> None:
    for line in skipped:
        print(f"warning: {line}", file=sys.stderr)


def _selection(args, ids: list[int] | None = None):
    """The store and the filter of --study (and --ids) of a listing command."""
    from .query import RunFilter
    from .store import Store

    return Store(args.db), RunFilter(ids=tuple(ids) if ids is not None else None,
                                     studies=(args.study,) if args.study else ())


def _stream(store, filter, fmt: str, out, skipped: list[str], with_history: bool = False) -> int:
    """The selected runs written to `out` a chunk at a time (core.tables.write_runs); returns how many."""
    from .tables import write_runs

    return write_runs(store, filter, fmt, out, with_history=with_history, skipped=skipped)


def cmd_runs(args) -> int:
    store, filter = _selection(args)
    skipped: list[str] = []
    if args.format == "table":  # aligned columns need every row first: the terminal gets ids, settings and metrics only
        count = _print_table(store, filter, skipped)
    else:
        sys.stdout.flush()
        count = _stream(store, filter, "markdown" if args.format == "markdown" else args.format, sys.stdout.buffer, skipped)
        sys.stdout.buffer.flush()
    _warn_skipped(skipped)
    if not count:
        print("no runs stored yet: try `python -m core run polynomial`", file=sys.stderr)
    return 0


def _print_table(store, filter, skipped: list[str]) -> int:
    import pandas as pd

    from .metrics import METRICS
    from .store import runs_frame
    from .tables import format_table

    parts = []
    for records in store.iter_records(filter=filter, skipped=skipped):
        frame = runs_frame(records)
        parts.append(frame[["id", "study", "status", "seed", "fold", *(c for c in frame.columns if c in METRICS)]])
    if parts:
        frame = pd.concat(parts, ignore_index=True).dropna(axis=1, how="all")
        print(format_table(frame, "table"))
    return sum(len(p) for p in parts)


def parse_ids(text: str | None) -> list[int] | None:
    """--ids as a list of run ids (None when not given); UsageError for anything else."""
    if not text:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UsageError(f"--ids: {text!r} is not a comma-separated list of run ids") from None


def cmd_summary(args) -> int:
    from .store import Store
    from .summary import render_all, summaries

    store = Store(args.db)
    if args.study is not None:
        get_study(args.study)
    if args.sweep is not None and args.sweep not in set(store.sweeps()["id"]):
        raise UsageError(f"--sweep: no stored sweep {args.sweep!r} (the Sweeps page and `python -m core sweep` print sweep ids)")
    ids = parse_ids(args.ids)
    if ids:
        missing = sorted(set(ids) - {r["id"] for r in store.records(ids)})
        if missing:
            raise UsageError(f"--ids: no stored run with id {', '.join(map(str, missing))}")
    metrics = [m for part in args.metrics or [] for m in part.split(",") if m.strip()] or None
    tables = summaries(store, ids, study=args.study, sweep_id=args.sweep, metrics=metrics)
    if not tables:
        what = [f"study {args.study}" if args.study else "", f"sweep {args.sweep}" if args.sweep else "", "these ids" if ids else ""]
        where = " and ".join(w for w in what if w)
        print(f"no runs stored{' for ' + where if where else ' yet: try `python -m core run polynomial`'}", file=sys.stderr)
        return 0
    text = render_all(tables, args.format)
    if len(tables) > 1:
        print(f"{len(tables)} studies in these runs: one table each ({', '.join(t.study for t in tables)}); "
              "--study picks one", file=sys.stderr)
    sys.stdout.write(text)
    return 0


def cmd_export(args) -> int:
    store, filter = _selection(args, parse_ids(args.ids))
    skipped: list[str] = []
    if args.out:
        partial = Path(f"{args.out}.partial")  # the file appears whole or not at all
        try:
            with open(partial, "wb") as out:
                count = _stream(store, filter, args.format, out, skipped, with_history=args.format == "json")
            os.replace(partial, args.out)
        finally:
            partial.unlink(missing_ok=True)
        _warn_skipped(skipped)
        print(f"wrote {count} runs to {args.out}", file=sys.stderr)
        return 0
    if args.format == "parquet" and sys.stdout.isatty():
        raise UsageError("--format parquet is binary: give --out FILE")
    sys.stdout.flush()
    _stream(store, filter, args.format, sys.stdout.buffer, skipped, with_history=args.format == "json")
    sys.stdout.buffer.flush()
    _warn_skipped(skipped)
    return 0


def cmd_import(args) -> int:
    from .store import Store
    from .tables import ImportRefused, display_name, import_file

    store = Store(args.db, for_writing=True)
    try:
        report = import_file(store, args.file)
    except ImportRefused as exc:
        raise UsageError(f"import refused, nothing stored: {exc}") from None
    skipped = f", {report.skipped} already stored" if report.skipped else ""
    print(f"imported {len(report.added)} runs from {display_name(args.file)}{skipped}")
    return 0


def cmd_reproduce(args) -> int:
    """Re-run reproductions (names or --all) and print the table; exit 1 when a re-run one does not hold."""
    from .reproductions import REPRODUCTIONS, get_reproduction, latest, reproduce, table
    from .store import Store
    from .tables import format_table

    if args.all and args.names:
        raise UsageError("reproduce: give names or --all, not both")
    chosen = list(REPRODUCTIONS.values()) if args.all else [get_reproduction(n) for n in dict.fromkeys(args.names)]
    store = Store(args.db, for_writing=bool(chosen))
    outcomes, failed = [], []
    for i, rep in enumerate(chosen):
        bar, progress = progress_bar()
        print(f"[{i + 1}/{len(chosen)}] {rep.id} ({args.size})", file=sys.stderr)
        try:
            outcome = reproduce(rep, args.size, store, progress=progress)
        finally:
            bar.close()
        if outcome.skipped:
            print(f"skipped {rep.id}: {outcome.skipped}", file=sys.stderr)
        elif outcome.verdict is not None and outcome.verdict.holds is False:
            failed.append(rep.id)
        outcomes.append(outcome)
    if not chosen:  # the latest stored outcome of every reproduction, without training
        outcomes = [latest(store, rep) for rep in REPRODUCTIONS.values()]
        print("the latest stored re-run of each reproduction; re-run with `python -m core reproduce --all` or NAME",
              file=sys.stderr)
    frame = table(outcomes)
    if args.format == "table":
        frame = frame[["reproduction", "holds", "settings", "sweep", "lab"]]
    print(format_table(frame, args.format), end="" if args.format in ("csv", "markdown") else "\n")
    if failed:
        print(f"does not hold: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


COMMANDS = {"studies": cmd_studies, "run": cmd_run, "sweep": cmd_sweep, "runs": cmd_runs, "summary": cmd_summary,
            "export": cmd_export, "import": cmd_import, "reproduce": cmd_reproduce}
