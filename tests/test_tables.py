"""Result tables: export → import keeps every value in every format; bad files are refused, the store unchanged."""

from __future__ import annotations

import csv
import io
import json
import math

import pandas as pd
import pytest

from core.store import Store
from core.studies import get_study, run_study
from core.tables import (
    FORMATS,
    ImportRefused,
    export_runs,
    import_bytes,
    import_file,
    neutralise_formulas,
)

EXT = {"csv": "csv", "json": "json", "parquet": "parquet", "markdown": "md"}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Store:
    """A store holding varied runs: several studies, folds, a diverged run, bools, strings, negative numbers."""
    store = Store(tmp_path_factory.mktemp("tables") / "source.db")
    run_study(get_study("polynomial"), {"epochs": 3, "degree": 5, "seed": 2}, folds=2, store=store)
    run_study(get_study("weight-decay"), {"lr": 10.0}, store=store)  # diverged: NaN metrics
    run_study(get_study("weight-decay"), {"epochs": 3, "l1": 0.05, "decay_bias": True}, store=store)
    run_study(get_study("linear-regression"), {"epochs": 2, "clear_grad": False, "noise": 0.123456789}, store=store)
    run_study(get_study("classification"), {"dataset": "moons", "epochs": 2, "n_train": 60, "n_test": 30, "batch_norm": True,
                                            "val_fraction": 0.2, "patience": 1}, store=store)
    run_study(get_study("capacity"), {"epochs": 2, "budget": 300, "depth": 2, "n_train": 30, "function": "step"}, store=store)
    return store


def canon(value):
    """A value with its type, NaN made comparable: 1, 1.0 and True are told apart."""
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    if isinstance(value, dict):
        return {k: canon(v) for k, v in value.items()}
    return (type(value).__name__, value)


def content(records, nan_is_absent: bool = False) -> list:
    """What a run is: study, status, config and metrics (typed). A table cell cannot tell a NaN metric
    from one the run never had (a blank either way), so for tables those two count as the same."""
    out = []
    for r in records:
        metrics = r["metrics"]
        if nan_is_absent:
            metrics = {k: v for k, v in metrics.items() if not (isinstance(v, float) and math.isnan(v))}
        out.append((r["study"], r["status"], canon(r["config"]), canon(metrics)))
    return out


def snapshot(store: Store):
    return content(store.records(with_history=False)), store.history().to_dict("records")


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_preserves_every_value(source, tmp_path, fmt):
    original = source.records(with_history=True)
    assert len(original) == 7 and "diverged" in {r["status"] for r in original}
    path = tmp_path / f"runs.{EXT[fmt]}"
    path.write_bytes(export_runs(original, fmt))
    target = Store(tmp_path / "target.db")
    report = import_file(target, path)
    assert len(report.added) == 7 and report.skipped == 0
    back = target.records(with_history=True)
    exact = fmt == "json"
    assert content(back, nan_is_absent=not exact) == content(original, nan_is_absent=not exact)
    # the runs table a user sees is the same, NaN where the diverged run has no loss
    shown = lambda st: st.runs().drop(columns=["source"])  # noqa: E731
    pd.testing.assert_frame_equal(shown(target), shown(source))
    assert math.isnan(target.runs().query("status == 'diverged'")["test_loss"].iloc[0])
    assert [r["created_at"] for r in back] == [r["created_at"] for r in original]
    assert all(r["source"] == f"import:{path.name}" for r in back)
    if fmt == "json":  # JSON carries the per-epoch histories too
        strip = lambda h: [canon(row) for row in h]  # noqa: E731
        assert [strip(r["history"]) for r in back] == [strip(r["history"]) for r in original]
    # importing the same export again adds nothing
    again = import_file(target, path)
    assert again.added == [] and again.skipped == 7 and target.count() == 7


def test_exported_tables_carry_full_configs(source):
    frame = pd.read_csv(io.BytesIO(export_runs(source.records(), "csv")))
    assert len(frame) == 7
    for col in ("id", "study", "status", "seed", "fold", "degree", "l1", "dataset", "budget", "train_loss", "test_loss"):
        assert col in frame.columns
    assert frame["status"].tolist().count("diverged") == 1


def make_csv(source, edit) -> bytes:
    frame = pd.read_csv(io.BytesIO(export_runs(source.records(), "csv")), dtype=str, keep_default_na=False)
    edit(frame)
    return frame.to_csv(index=False).encode()


def make_json(source, edit) -> bytes:
    records = json.loads(export_runs(source.records(), "json"))
    edit(records)
    return json.dumps(records).encode()


def set_cell(column, value, row=-1):
    def edit(frame):
        frame.loc[frame.index[row], column] = value
    return edit


BAD_FILES = {
    "unknown column": lambda s: ("x.csv", make_csv(s, lambda f: f.insert(3, "colour", "red"))),
    "unknown study": lambda s: ("x.csv", make_csv(s, set_cell("study", "nope"))),
    "wrong type param": lambda s: ("x.csv", make_csv(s, set_cell("degree", "abc", row=0))),
    "wrong type metric": lambda s: ("x.csv", make_csv(s, set_cell("test_loss", "lots"))),
    "int metric not whole": lambda s: ("x.csv", make_csv(s, set_cell("epochs_run", "2.5"))),
    "out of range": lambda s: ("x.csv", make_csv(s, set_cell("degree", "99", row=0))),
    "missing parameter": lambda s: ("x.csv", make_csv(s, lambda f: f.drop(columns="degree", inplace=True))),
    "bad status": lambda s: ("x.csv", make_csv(s, set_cell("status", "exploded"))),
    "json unknown study": lambda s: ("x.json", make_json(s, lambda r: r[-1].update(study="nope"))),
    "json wrong type": lambda s: ("x.json", make_json(s, lambda r: r[0]["config"].update(degree="three"))),
    "json unknown metric": lambda s: ("x.json", make_json(s, lambda r: r[0]["metrics"].update(happiness=1.0))),
    "json unknown param": lambda s: ("x.json", make_json(s, lambda r: r[0]["config"].update(colour="red"))),
    "json bad history": lambda s: ("x.json", make_json(s, lambda r: r[0].update(history=[{"epoch": 1, "split": "dev"}]))),
    "json not a list": lambda s: ("x.json", b'{"study": "polynomial"}'),
    "not json": lambda s: ("x.json", b"{not json"),
    "not parquet": lambda s: ("x.parquet", b"PAR1 this is not a parquet file"),
    "not a table": lambda s: ("x.csv", b"hello world\n"),
    "markdown without table": lambda s: ("x.md", b"# Results\n\nnothing here\n"),
    "unknown extension": lambda s: ("x.xlsx", b"PK\x03\x04"),
    "empty": lambda s: ("x.json", b"[]"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_malformed_import_is_refused_and_store_unchanged(source, tmp_path, case):
    target = Store(tmp_path / "target.db")
    import_bytes(target, export_runs(source.records()[:1], "json"), "seed.json")
    before = snapshot(target)
    name, data = BAD_FILES[case](source)
    with pytest.raises(ImportRefused) as info:
        import_bytes(target, data, name)
    assert name in str(info.value) and "\n" not in str(info.value)
    assert snapshot(target) == before


def test_refusals_name_the_problem(source, tmp_path):
    target = Store(tmp_path / "t.db")
    with pytest.raises(ImportRefused, match="colour"):
        import_bytes(target, BAD_FILES["unknown column"](source)[1], "x.csv")
    with pytest.raises(ImportRefused, match="nope"):
        import_bytes(target, BAD_FILES["unknown study"](source)[1], "x.csv")
    with pytest.raises(ImportRefused, match="degree"):
        import_bytes(target, BAD_FILES["out of range"](source)[1], "x.csv")
    with pytest.raises(ImportRefused, match="test_loss"):
        import_bytes(target, BAD_FILES["wrong type metric"](source)[1], "x.csv")
    assert target.count() == 0


def test_over_the_size_limit_is_refused(source, tmp_path):
    target = Store(tmp_path / "t.db")
    data = export_runs(source.records(), "csv")
    with pytest.raises(ImportRefused, match="limit"):
        import_bytes(target, data, "x.csv", max_bytes=len(data) - 1)
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    with pytest.raises(ImportRefused, match="limit"):
        import_file(target, path, max_bytes=100)
    assert target.count() == 0
    assert len(import_bytes(target, data, "x.csv", max_bytes=len(data)).added) == 7


def test_csv_neutralises_formula_cells():
    frame = pd.DataFrame({
        "text": ["=1+2", "+A1", "-2+3", "@SUM(A1)", "safe", "a=b"],
        "number": [-3.5, 1.0, 2.0, -1.0, 0.0, 5.0],
    })
    out = neutralise_formulas(frame)
    assert out["text"].tolist() == ["'=1+2", "'+A1", "'-2+3", "'@SUM(A1)", "safe", "a=b"]
    assert out["number"].tolist() == frame["number"].tolist()  # numbers are not formulas


def test_csv_export_of_stored_runs_is_safe(tmp_path):
    store = Store(tmp_path / "s.db")
    rec = {"study": "polynomial", "status": "ok", "config": get_study("polynomial").defaults(),
           "metrics": {"train_loss": -0.0, "w": -2.5}, "sweep_id": '=HYPERLINK("http://evil")', "source": "@cmd"}
    store.save_records([rec])
    rows = list(csv.DictReader(io.StringIO(export_runs(store.records(), "csv").decode())))
    assert rows[0]["sweep_id"] == "'" + rec["sweep_id"] and rows[0]["source"] == "'@cmd"
    assert rows[0]["w"] == "-2.5"
    assert not any(v.startswith(("=", "+", "@")) for v in rows[0].values())
