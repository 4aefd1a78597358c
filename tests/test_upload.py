"""Tables of your own: a CSV checked before use (core.data.upload), trained from the command line and from a page."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.upload import MAX_BYTES, MAX_ROWS, UploadError, load_table, read_table, rerun_refusal, table_bundle
from core.playground import stop_all
from core.store import Store
from core.studies import get_study, run_study
from test_cli import cli as cli_call  # noqa: F401  (the CLI called in-process, a fixture)


def table(rows: int = 60, seed: int = 0, classes: int = 2) -> str:
    """Two numeric features (negative numbers among them) and a text label, in CSV."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, classes, rows)
    x1 = rng.normal(size=rows) + 2 * label
    x2 = rng.normal(size=rows) - label
    lines = ["height,weight,kind"] + [f"{a:.3f},{b:.3f},k{c}" for a, b, c in zip(x1, x2, label)]
    return "\n".join(lines) + "\n"


def with_cell(text: str, line: int, column: int, value: str) -> bytes:
    """The table with one cell replaced (line 1 is the header)."""
    lines = text.splitlines()
    cells = lines[line - 1].split(",")
    cells[column] = value
    lines[line - 1] = ",".join(cells)
    return ("\n".join(lines) + "\n").encode()


def check(data: bytes, x: str = "height,weight", y: str = "kind", task: str = "classification"):
    return table_bundle(read_table(data, "t.csv"), x, y, task, seed=0, test_fraction=0.25)


@pytest.mark.parametrize("data, message", [
    (b"a,b\n" + b"1,2\n" * (MAX_BYTES // 4 + 1), "MB limit"),
    (b"a,b,c\n" + b"1,2,0\n1,3,1\n" * (MAX_ROWS // 2 + 1), "more than 100,000 rows"),
    (with_cell(table(), 5, 0, ""), "missing value"),
    (with_cell(table(), 5, 1, "heavy"), "non-numeric value"),
    (with_cell(table(), 7, 0, "=SUM(A1:A3)"), "spreadsheet formula"),
    (with_cell(table(), 7, 1, "+cmd|' /C calc'!A0"), "spreadsheet formula"),
    (with_cell(table(), 7, 0, "-2+3+cmd"), "spreadsheet formula"),
    (with_cell(table(), 7, 1, "@SUM(1)"), "spreadsheet formula"),
    (with_cell(table(), 7, 2, "=HYPERLINK(1)"), "spreadsheet formula"),
    (table(classes=1).encode(), "a single class"),
    (("height,weight,kind\n" + "".join(f"{i},{i % 7},{i}\n" for i in range(40))).encode(), "at most 10 classes"),
    (("height,weight,kind\n" + "".join(f"{i},5,{i % 2}\n" for i in range(40))).encode(), "is constant"),
    (b"height;weight\n1;2\n", "at least 10 are needed"),
    (b"\x00\x01binary", "binary file"),
], ids=["size", "rows", "missing", "text", "formula=", "formula+", "formula-", "formula@", "label formula", "one class",
        "11 classes", "constant", "few rows", "binary"])
def test_each_malformed_table_is_refused_with_one_line(data, message):
    with pytest.raises(UploadError, match=message) as info:
        check(data)
    assert "\n" not in str(info.value)


def test_negative_numbers_are_numbers_and_features_are_standardised_by_the_training_rows():
    bundle = check(table(rows=80).encode())
    assert (bundle.train.X < 0).any() and bundle.n_classes == 2 and bundle.meta["classes"] == ["k0", "k1"]
    assert len(bundle.test.X) == 20
    train = bundle.train.X.double()
    assert np.allclose(train.mean(0), 0, atol=1e-6) and np.allclose(train.std(0, unbiased=False), 1, atol=1e-5)
    assert not np.allclose(bundle.test.X.double().mean(0), 0, atol=1e-3)  # the test rows' statistics were not used


@pytest.fixture
def files(tmp_path):
    clf = tmp_path / "points.csv"
    clf.write_text(table(rows=80, classes=3))
    reg = tmp_path / "fit.csv"
    x = np.linspace(-2, 2, 40)
    reg.write_text("x,y\n" + "".join(f"{a:.3f},{a ** 3 - a:.3f}\n" for a in x))
    return clf, reg


def test_the_command_line_trains_both_shapes_and_records_the_file_not_the_data(cli_call, files, isolated_store):
    clf, reg = files
    rc, out, err = cli_call("run", "classification", "--set", "dataset=csv", "--set", f"data_path={clf}", "--set",
                            "x=height,weight", "--set", "y=kind", "--set", "epochs=3", "--set", "hidden=8")
    assert rc == 0, err
    rc, out, err = cli_call("run", "polynomial", "--set", "dataset=csv", "--set", f"data_path={reg}", "--set", "x=x",
                            "--set", "y=y", "--set", "epochs=3", "--set", "degree=3")
    assert rc == 0, err
    runs = {r["study"]: r for r in Store(isolated_store).records()}
    config = runs["classification"]["config"]
    assert config["data_path"] == str(clf) and config["data_rows"] == 80 and len(config["data_hash"]) == 16
    assert runs["polynomial"]["config"]["x"] == "x" and np.isfinite(runs["polynomial"]["metrics"]["test_loss"])


def test_the_command_line_refuses_a_bad_table_and_stores_nothing(cli_call, files, isolated_store):
    clf, _ = files
    clf.write_bytes(with_cell(clf.read_text(), 4, 0, "=1+1"))
    rc, out, err = cli_call("run", "classification", "--set", "dataset=csv", "--set", f"data_path={clf}", "--set",
                            "x=height,weight", "--set", "y=kind", "--set", "epochs=2")
    assert rc != 0 and "spreadsheet formula" in err and len(err.strip().splitlines()) == 1
    rc, out, err = cli_call("run", "classification", "--set", "dataset=csv", "--set", f"data_path={clf}", "--set",
                            "x=height", "--set", "y=kind")
    assert rc != 0 and "two feature columns" in err
    assert not isolated_store.exists() or Store(isolated_store).count() == 0


def test_a_sweep_trains_on_a_table_and_refuses_to_sweep_the_file(cli_call, files, isolated_store):
    clf, _ = files
    common = ["--set", "dataset=csv", "--set", f"data_path={clf}", "--set", "x=height,weight", "--set", "y=kind",
              "--set", "epochs=2", "--backend", "serial"]
    rc, out, err = cli_call("sweep", "classification", *common, "--grid", "hidden=4,8", "--seeds", "2")
    assert rc == 0, err
    records = Store(isolated_store).records()
    assert sorted((r["config"]["hidden"], r["config"]["seed"]) for r in records) == [(4, 0), (4, 1), (8, 0), (8, 1)]
    assert {(r["config"]["data_path"], r["config"]["data_rows"], len(r["config"]["data_hash"])) for r in records} == \
        {(str(clf), 80, 16)}
    assert all(np.isfinite(r["metrics"]["test_loss"]) for r in records)
    rc, out, err = cli_call("sweep", "classification", *common, "--grid", f"data_path={clf},{clf}")
    assert rc == 2 and "data_path" in err and len(err.strip().splitlines()) == 1
    rc, out, err = cli_call("sweep", "classification", *common[:2], "--set", f"data_path={clf}.missing", *common[4:],
                            "--grid", "hidden=4,8")
    assert rc == 2 and "no such file" in err and len(err.strip().splitlines()) == 1
    assert Store(isolated_store).count() == 4  # the refused sweeps stored nothing


def test_a_changed_file_is_refused_by_its_hash(files):
    clf, _ = files
    first = load_table(str(clf))
    clf.write_text(table(rows=80, seed=1))
    with pytest.raises(UploadError, match="has changed"):
        load_table(str(clf), first.digest)


def test_a_csv_run_from_an_imported_table_is_never_re_run_from_its_path():
    record = {"id": 4, "source": "import:shared.csv", "config": {"dataset": "csv", "data_path": "/etc/passwd"}}
    assert "never reads a data_path" in rerun_refusal(record)
    assert rerun_refusal({**record, "source": "local"}) is None
    assert rerun_refusal({**record, "config": {"dataset": "moons"}}) is None


def test_the_playground_trains_an_uploaded_table_and_refuses_a_bad_one(app_test, isolated_store):
    at = app_test("pages/playground.py", {"pg.dataset": "csv"})
    assert not at.exception and at.info  # asks for a file
    bad = with_cell(table(), 3, 1, "@cmd")
    at.file_uploader(key="pg.csv.file").set_value(("bad.csv", bad, "text/csv")).run()
    assert any("spreadsheet formula" in e.value for e in at.error) and not at.exception
    assert not isolated_store.exists() or Store(isolated_store).count() == 0
    at.file_uploader(key="pg.csv.file").set_value(("good.csv", table(rows=80).encode(), "text/csv")).run()
    assert not at.error and not at.exception
    assert [at.selectbox(key=f"pg.csv.col{i}").value for i in range(3)] == ["height", "weight", "kind"]
    at.button(key="pg.step").click().run()
    at.button(key="pg.save").click().run()
    stop_all()
    config = Store(isolated_store).records()[0]["config"]
    assert config["dataset"] == "csv" and config["data_path"] == "good.csv" and config["data_rows"] == 80


def test_the_runs_page_does_not_offer_to_re_run_an_imported_csv_run(app_test, files, isolated_store):
    clf, _ = files
    store = Store(isolated_store)
    config = {"dataset": "csv", "data_path": str(clf), "x": "height,weight", "y": "kind", "data_rows": 80,
              "data_hash": load_table(str(clf)).digest, "epochs": 2}
    result = run_study(get_study("classification"), config)[0]
    record = {"study": "classification", "status": "ok", "config": result.config, "metrics": result.metrics}
    [rid] = store.save_records([record], source="import:shared.csv")  # as a shared table brings it
    at = app_test("pages/runs.py", {"runs.rerun": str(rid)})
    assert not at.exception
    assert any("never reads a data_path" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "runs.rerun_button"]


def test_the_classification_and_regression_pages_train_an_upload(app_test, files, isolated_store):
    clf, reg = files
    at = app_test("pages/classification.py")
    before = Store(isolated_store).count()
    at.file_uploader(key="clf.csv.file").set_value(("points.csv", clf.read_bytes(), "text/csv")).run()
    assert not at.exception and not at.error
    assert float(next(m.value for m in at.metric if m.label == "your table: test accuracy").rstrip("%")) > 50
    assert Store(isolated_store).count() == before + 1
    at = app_test("pages/regression.py")
    before = Store(isolated_store).count()
    at.file_uploader(key="reg.csv.file").set_value(("fit.csv", with_cell(reg.read_text(), 3, 1, "-SUM(1)"), "text/csv")).run()
    assert any("spreadsheet formula" in e.value for e in at.error) and Store(isolated_store).count() == before
    at.file_uploader(key="reg.csv.file").set_value(("fit.csv", reg.read_bytes(), "text/csv")).run()
    assert not at.exception and not at.error and Store(isolated_store).count() == before + 1
    assert [at.selectbox(key=f"reg.csv.col{i}").value for i in range(2)] == ["x", "y"]
    assert any(m.label == "test MSE (standardised)" for m in at.metric)
