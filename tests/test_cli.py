"""The command line `python -m core`: studies, run, runs, export, import; bad input exits 2 and stores nothing."""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.cli import main
from core.store import Store
from core.studies import STUDIES, get_study

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli(capsys):
    """Call the CLI in-process: returns (exit status, stdout, stderr)."""

    def call(*argv: str) -> tuple[int, str, str]:
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse's own errors
            rc = exc.code
        out, err = capsys.readouterr()
        return rc, out, err

    return call


def runs_in(db: Path) -> int:
    return Store(db).count() if db.exists() else 0


def run_json(cli, db, *args) -> list[dict]:
    rc, out, err = cli("run", *args, "--format", "json", "--db", db)
    assert rc == 0, err
    return json.loads(out)


def without_time(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "duration_s"}


def test_studies_lists_every_study_and_parameter(cli):
    rc, out, _ = cli("studies")
    assert rc == 0
    lines = out.splitlines()
    for study in STUDIES.values():
        start = lines.index(f"{study.id}: {study.title}")
        block = lines[start + 2 : start + 2 + len(study.params)]
        for p, line in zip(study.params, block):
            assert line.split()[0] == p.name
            assert f"default {p.default}" in line and p.describe() in line and p.help in line

    rc, out, _ = cli("studies", "--format", "json")
    listed = json.loads(out)
    assert [s["id"] for s in listed] == list(STUDIES)
    for entry in listed:
        declared = {p.name: p for p in STUDIES[entry["id"]].params}
        assert [p["name"] for p in entry["params"]] == list(declared)
        for p in entry["params"]:
            d = declared[p["name"]]
            assert (p["default"], p["low"], p["high"], p["help"]) == (d.default, d.low, d.high, d.help)
            assert p["choices"] == (list(d.choices) if d.choices else None)

    rc, out, _ = cli("studies", "--format", "markdown")
    assert rc == 0 and "### `weight-decay`" in out and "| weight_decay |" in out


def test_ranges_are_printed_exactly():
    """The allowed range a user reads is the range that is enforced (no rounding of the bounds)."""
    for study in STUDIES.values():
        for p in study.params:
            if p.low is None or p.high is None:
                continue
            text = p.describe().split("[", 1)[1].split("]", 1)[0]
            low, high = (float(x) for x in text.split(","))
            assert (low, high) == (p.low, p.high), f"{study.id}.{p.name}: {p.describe()}"


def test_run_json_has_config_metrics_status(cli, isolated_store):
    db = isolated_store.parent / "cli.db"
    runs = run_json(cli, db, "polynomial", "--set", "epochs=5", "--set", "degree=4", "--seed", "7")
    assert len(runs) == 1
    run = runs[0]
    assert {"config", "metrics", "status"} <= set(run) and run["status"] == "ok"
    params = [p.name for p in get_study("polynomial").params if not p.optional]  # optional ones at their default: left out
    assert list(run["config"]) == params
    assert run["config"]["seed"] == 7 and run["config"]["degree"] == 4 and run["config"]["epochs"] == 5
    assert run["config"]["lr"] == get_study("polynomial").param("lr").default
    for name in ("train_loss", "test_loss", "epochs_run", "duration_s"):
        assert name in run["metrics"]
    assert run["metrics"]["epochs_run"] == 5
    assert runs_in(db) == 1 and runs_in(isolated_store) == 0  # --db wins over OVERFIT_LAB_DB


def test_run_folds(cli, isolated_store):
    runs = run_json(cli, isolated_store, "polynomial", "--set", "epochs=3", "--folds", "3")
    assert [r["config"]["fold"] for r in runs] == [0, 1, 2]
    assert all(math.isfinite(r["metrics"]["val_loss"]) for r in runs)
    assert runs_in(isolated_store) == 3


def test_run_prints_table_csv_and_markdown(cli, isolated_store):
    rc, out, _ = cli("run", "polynomial", "--set", "epochs=2", "--db", isolated_store)
    assert rc == 0 and "test_loss" in out and "polynomial" in out
    rc, out, _ = cli("run", "polynomial", "--set", "epochs=2", "--set", "degree=2", "--format", "csv", "--db", isolated_store)
    frame = pd.read_csv(io.StringIO(out))
    assert rc == 0 and len(frame) == 1 and frame.loc[0, "degree"] == 2 and frame.loc[0, "epochs_run"] == 2
    rc, out, _ = cli("run", "polynomial", "--set", "epochs=2", "--format", "markdown", "--no-store", "--db", isolated_store)
    assert rc == 0 and out.startswith("| id | study |") and "| polynomial |" in out
    assert runs_in(isolated_store) == 2  # --no-store stored nothing


def test_same_seed_same_metrics(cli, isolated_store):
    args = ("classification", "--set", "dataset=moons", "--set", "epochs=3", "--set", "dropout=0.2", "--seed", "3")
    a, b = run_json(cli, isolated_store, *args)[0], run_json(cli, isolated_store, *args)[0]
    assert without_time(a["metrics"]) == without_time(b["metrics"])
    c = run_json(cli, isolated_store, *args[:-1], "4")[0]
    assert without_time(c["metrics"]) != without_time(a["metrics"])


BAD_INPUT = [
    (["run", "nope"], "nope"),
    (["run", "polynomial", "--set", "colour=red"], "colour"),
    (["run", "polynomial", "--set", "degree=abc"], "degree"),
    (["run", "polynomial", "--set", "degree=2.5"], "degree"),
    (["run", "polynomial", "--set", "degree=99"], "degree"),
    (["run", "polynomial", "--set", "lr=0"], "lr"),
    (["run", "polynomial", "--set", "optimizer=rmsprop"], "optimizer"),
    (["run", "polynomial", "--set", "degree"], "degree"),
    (["run", "polynomial", "--seed", "-1"], "seed"),
    (["run", "polynomial", "--seed", "abc"], "--seed"),
    (["run", "polynomial", "--folds", "1"], "folds"),
    (["run", "classification", "--set", "patience=3"], "patience"),
    (["run", "classification", "--set", "dataset=moons", "--set", "augment=true"], "augment"),
    (["run", "polynomial", "--format", "xml"], "--format"),
    (["export", "--format", "xlsx"], "--format"),
    (["bogus"], "bogus"),
]


@pytest.mark.parametrize("argv,name", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_exits_2_with_one_line_and_stores_nothing(cli, isolated_store, argv, name):
    rc, out, err = cli(*argv, "--db", isolated_store) if argv[0] != "bogus" else cli(*argv)
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and name in err and "Traceback" not in err
    assert out == ""
    assert runs_in(isolated_store) == 0


def test_bad_input_through_python_m_core(tmp_path):
    """The real entry point: exit status 2, one line, no traceback, no db written."""
    db = tmp_path / "sub.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "core", "run", "polynomial", "--set", "degree=99", "--db", str(db)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "degree" in proc.stderr and "[0, 20]" in proc.stderr
    assert proc.stdout == "" and runs_in(db) == 0


def test_missing_mnist_is_one_line_naming_digits(cli, isolated_store, tmp_path, monkeypatch):
    monkeypatch.setenv("OVERFIT_LAB_DATA", str(tmp_path / "nothing-here"))
    rc, out, err = cli("run", "classification", "--set", "dataset=mnist", "--set", "epochs=1", "--db", isolated_store)
    assert rc == 1  # not a usage error: the data is missing
    assert len(err.strip().splitlines()) == 1 and "digits" in err and "Traceback" not in err
    assert runs_in(isolated_store) == 0


def test_diverged_run_is_reported_and_stored(cli, isolated_store):
    [run] = run_json(cli, isolated_store, "weight-decay", "--set", "lr=10")
    assert run["status"] == "diverged" and run["metrics"]["test_loss"] is None  # NaN is null in strict JSON
    runs = Store(isolated_store).runs()
    assert runs["status"].tolist() == ["diverged"] and math.isnan(runs.loc[0, "test_loss"])


def test_runs_export_import(cli, isolated_store, tmp_path):
    run_json(cli, isolated_store, "polynomial", "--set", "epochs=2")
    run_json(cli, isolated_store, "weight-decay", "--set", "epochs=2", "--set", "l1=0.01")
    rc, out, _ = cli("runs", "--db", isolated_store)
    assert rc == 0 and "polynomial" in out and "weight-decay" in out and "test_loss" in out
    rc, out, _ = cli("runs", "--format", "json", "--db", isolated_store, "--study", "weight-decay")
    listed = json.loads(out)
    assert [r["study"] for r in listed] == ["weight-decay"] and listed[0]["config"]["l1"] == 0.01
    rc, out, _ = cli("runs", "--format", "csv", "--db", isolated_store)
    assert len(out.strip().splitlines()) == 3

    original = Store(isolated_store).records()
    for fmt, ext in [("csv", "csv"), ("json", "json"), ("parquet", "parquet"), ("markdown", "md")]:
        path = tmp_path / f"runs.{ext}"
        rc, _, err = cli("export", "--format", fmt, "--out", path, "--db", isolated_store)
        assert rc == 0 and path.stat().st_size > 0 and "2 runs" in err
        fresh = tmp_path / f"fresh-{fmt}.db"
        rc, out, err = cli("import", path, "--db", fresh)
        assert rc == 0, err
        assert "imported 2 runs" in out
        back = Store(fresh).records()
        assert [(r["study"], r["status"], r["config"]) for r in back] == [(r["study"], r["status"], r["config"]) for r in original]
        rc, out, _ = cli("import", path, "--db", fresh)  # the same file again: nothing new
        assert rc == 0 and "imported 0 runs" in out and "2 already stored" in out and runs_in(fresh) == 2

    rc, out, _ = cli("export", "--format", "csv", "--db", isolated_store, "--study", "polynomial")
    frame = pd.read_csv(io.StringIO(out))
    assert rc == 0 and frame["study"].tolist() == ["polynomial"]


def test_refused_import_exits_2_and_stores_nothing(cli, isolated_store, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("study,status,colour\npolynomial,ok,red\n")
    rc, out, err = cli("import", bad, "--db", isolated_store)
    assert rc == 2 and "colour" in err and len(err.strip().splitlines()) == 1
    assert runs_in(isolated_store) == 0
    rc, _, err = cli("import", tmp_path / "missing.json", "--db", isolated_store)
    assert rc == 2 and "no such file" in err


def test_listing_studies_loads_no_torch_pandas_or_scikit_learn():
    code = ("import sys; from core.cli import main; main(['studies']); "
            "print(sorted(m for m in ('torch', 'pandas', 'sklearn', 'scipy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_export_formats_are_the_tables_formats():
    from core.cli import EXPORT_FORMATS, SUMMARY_FORMATS
    from core.summary import FORMATS as summary_formats
    from core.tables import FORMATS

    assert EXPORT_FORMATS == FORMATS  # the CLI parses the flag without importing pandas
    assert SUMMARY_FORMATS == summary_formats
