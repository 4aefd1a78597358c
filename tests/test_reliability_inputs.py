"""Reliability under hostile values: configs of any type, model files, CSV cells a spreadsheet would run.

Each refusal is one line naming what is wrong; Hypothesis draws the values (fixed example counts, no deadline).
"""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save as st_save

from core import checkpoint
from core.checkpoint import CheckpointError
from core.store import Store
from core.studies import STUDIES, get_study, run_study
from core.tables import csv_text, export_runs, import_bytes, neutralise, restore

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# integers past int64, past a float, and past Python's 4300-digit text limit (built lazily: their repr can fail)
huge_ints = st.builds(lambda sign, digits: sign * 10**digits, st.sampled_from([1, -1]), st.sampled_from([19, 20, 30, 400, 5000]))
json_scalars = st.none() | st.booleans() | st.integers() | huge_ints | st.floats() | st.text(max_size=12)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=6)
# what a notebook user may hand in: JSON-like values, numpy and torch scalars and arrays, bytes, complex numbers
any_value = json_values | st.builds(np.array, st.lists(st.floats(), max_size=3)) | st.builds(
    lambda xs: torch.tensor(xs, dtype=torch.float64), st.lists(st.floats(allow_nan=False), max_size=3)) | st.builds(
    np.float64, st.floats()) | st.builds(np.int64, st.integers(-(2**63), 2**63 - 1)) | st.binary(max_size=8) | st.complex_numbers()
PARAMS = [(s.id, p) for s in STUDIES.values() for p in s.params]


def one_line(text: str) -> bool:
    return "\n" not in text and "\r" not in text and 0 < len(text) < 400


# --- configs --------------------------------------------------------------------------------------


@FUZZ
@given(index=st.integers(0, len(PARAMS) - 1), value=any_value)
def test_config_accepts_a_valid_value_or_names_the_parameter(index, value):
    study_id, param = PARAMS[index]
    try:
        cfg = get_study(study_id).config({param.name: value})
    except ValueError as exc:
        message = str(exc)
        assert message.startswith(f"{param.name}: ") and one_line(message), message
        return
    got = getattr(cfg, param.name)
    assert type(got) is param.kind
    if param.choices is not None:
        assert got in param.choices
    elif param.kind in (int, float):
        assert math.isfinite(got) and param.low <= got <= param.high


@pytest.mark.parametrize("value", [10**400, 10**5000, torch.tensor([0.1, 0.2]), np.array([0.1, 0.2]), None, [0.1], {"lr": 0.1},
                                   float("inf"), np.float64("nan"), b"0.1", 1 + 2j, "1e400", object()],
                         ids=lambda v: type(v).__name__)
def test_the_issue_s_config_values_are_refused_by_name(value):
    with pytest.raises(ValueError) as info:
        get_study("polynomial").config({"lr": value})
    assert str(info.value).startswith("lr: ") and "expected float in [1e-05, 10]" in str(info.value) and one_line(str(info.value))


def test_scalar_arrays_and_tensors_still_work():
    cfg = get_study("polynomial").config({"lr": np.array(0.5), "degree": torch.tensor(4), "seed": np.int64(3)})
    assert (cfg.lr, cfg.degree, cfg.seed) == (0.5, 4, 3) and type(cfg.degree) is int


# --- model files ------------------------------------------------------------------------------------


def model_file(config_text: str, tensors: dict | None = None, **meta) -> bytes:
    header = {"format": checkpoint.FORMAT, "study": "classification", "config": config_text, "data": "{}", **meta}
    return st_save(tensors or {"1.weight": torch.zeros(2)}, metadata=header)


@FUZZ
@given(config=json_values, study=st.sampled_from(["classification", "polynomial", "nope"]))
def test_any_model_header_config_is_refused_in_one_line(config, study):
    try:
        text = json.dumps(config)
    except ValueError:  # an integer too long for text: a file cannot hold it either
        return
    blob = model_file(text, study=study)
    with pytest.raises(CheckpointError) as info:
        checkpoint.rebuild(blob)
    assert one_line(str(info.value))


@FUZZ
@given(blob=st.binary(max_size=300), cut=st.integers(0, 2000))
def test_random_and_truncated_files_are_refused_in_one_line(blob, cut):
    good = model_file(json.dumps({"dataset": "moons", "hidden": 4}))
    for data in (blob, good[:cut], blob[:8] + good[8:]):
        with pytest.raises(CheckpointError) as info:
            checkpoint.rebuild(data)
        assert one_line(str(info.value))


HEADER_CASES = {  # config text → what the message says
    "[1, 2]": "not an object of parameters",
    "3": "not an object of parameters",
    '"hidden"': "not an object of parameters",
    "null": "not an object of parameters",
    json.dumps({"hidden": 10**400}): "hidden",
    json.dumps({"hidden": {"a": 1}}): "nests deeper",
    "[" * 100_000 + "]" * 100_000: "over 16,384 characters",
    "[" * 500 + "]" * 500: "nests deeper",
    json.dumps({"colour": "red"}): "unknown parameter(s) 'colour'",
    json.dumps({"dataset": "moons", "augment": True}): "augment",
}


@pytest.mark.parametrize("config_text", list(HEADER_CASES), ids=lambda t: t[:20])
def test_the_issue_s_model_headers_are_refused_by_what_is_wrong(config_text):
    with pytest.raises(CheckpointError) as info:
        checkpoint.rebuild(model_file(config_text))
    assert HEADER_CASES[config_text] in str(info.value) and one_line(str(info.value))


def test_a_small_file_describing_a_huge_model_is_refused_before_anything_is_allocated(monkeypatch):
    """hidden=4096, depth=16 is inside the ranges: only the tensor table gives the file away, and it is read first."""
    config = {**get_study("classification").defaults(), "hidden": 4096, "depth": 16}
    # the right tensor names, dtypes and shapes, but no data behind them
    tensors = checkpoint.expected_tensors("classification", config)
    header = {name: {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": [0, 0]} for name, t in tensors.items()}
    header["__metadata__"] = {"format": checkpoint.FORMAT, "study": "classification", "config": json.dumps(config), "data": "{}"}
    text = json.dumps(header).encode()
    blob = len(text).to_bytes(8, "little") + text
    devices = []
    real_generator = checkpoint.generator
    monkeypatch.setattr(checkpoint, "generator", lambda *a: devices.append(torch.empty(0).device.type) or real_generator(*a))
    monkeypatch.setattr(checkpoint, "_load_tensors", lambda b: pytest.fail("tensors were loaded"))
    with pytest.raises(CheckpointError, match=r"holds 0 bytes, its shape needs \d+"):
        checkpoint.rebuild(blob)
    assert devices == ["meta"]  # the model was only ever built on the meta device: no weights allocated
    # and a table whose shapes differ names the first tensor that does not fit
    wrong = model_file(json.dumps(config), {name: torch.zeros(1) for name in tensors})
    with pytest.raises(CheckpointError, match=r"1.weight is F32 \[1\] in the file, F32 \[4096, 64\] in the model"):
        checkpoint.rebuild(wrong)


def test_the_classification_page_shows_each_bad_upload_as_one_error(app_test, monkeypatch):
    import ui.runner

    monkeypatch.setattr(ui.runner, "run", lambda *a, **k: None)  # the upload is what is tested: train nothing
    huge = {**get_study("classification").defaults(), "hidden": 4096, "depth": 16}
    at = app_test("pages/classification.py")
    for text in ["[1, 2]", json.dumps({"hidden": 10**400}), "[" * 100_000 + "]" * 100_000, json.dumps(huge)]:
        at.file_uploader(key="clf.upload").set_value(("m.safetensors", model_file(text), "application/octet-stream")).run()
        assert not at.exception
        assert len(at.error) == 1 and at.error[0].value.startswith("m.safetensors: ") and one_line(at.error[0].value)


# --- CSV a spreadsheet opens ------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# text a store can hold: a lone surrogate is refused by the schema (test_a_lone_surrogate_is_refused_by_name)
nasty_text = st.text(alphabet=st.sampled_from(list("=+-@\t\r\n'\",;|a1 ")) | st.characters(exclude_categories=("Cs",)),
                     max_size=30)


def line_starts(text: str) -> list[str]:
    """Every line of a cell (a spreadsheet starts a formula at the start of any of them)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(nasty_text, min_size=1, max_size=4), numbers=st.lists(st.floats(allow_nan=False), min_size=1, max_size=4))
def test_csv_cells_never_start_a_formula_and_restore_exactly(texts, numbers):
    n = min(len(texts), len(numbers))
    frame = pd.DataFrame({"text": texts[:n], "number": numbers[:n]})
    out = csv_text(frame)
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert len(rows) == n + 1  # a line break inside a cell never makes a new row
    for (cell, number), original, value in zip(rows[1:], texts[:n], numbers[:n]):
        assert cell == neutralise(original) and restore(cell) == original
        assert not any(line.startswith(FORMULA_STARTS) for line in line_starts(cell))
        assert float(number) == value  # numbers stay numbers: -0.5 is written -0.5, unquoted
        assert not number.startswith("'")


def test_the_issue_s_file_name_exports_as_one_safe_row(tmp_path):
    """A file named runs\\r=2+5+cmd|'calc'!A0.csv, imported then exported: one row, no live formula."""
    source = Store(tmp_path / "a.db")
    run_study(get_study("polynomial"), {"epochs": 2}, store=source)
    name = "runs\r=2+5+cmd|'calc'!A0.csv"
    store = Store(tmp_path / "b.db")
    import_bytes(store, export_runs(source.records(), "csv"), name)
    out = export_runs(store.records(), "csv").decode()
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert len(rows) == 2
    cell = rows[1][rows[0].index("source")]
    assert cell == "import:runs\r'=2+5+cmd|'calc'!A0.csv" and restore(cell) == "import:" + name
    assert not any(line.startswith(FORMULA_STARTS) for row in rows for c in row for line in line_starts(c)[1:])
    assert rows[1][rows[0].index("test_loss")] == repr(store.records()[0]["metrics"]["test_loss"])
    again = import_bytes(store, out.encode(), "again.csv")  # the export re-imports unchanged: nothing new
    assert again.added == [] and again.skipped == 1


@pytest.mark.parametrize("text", ["=1+2", "+A1", "-2+3", "@SUM(A1)", "\tx", "\r=x", "a\n=b", "a\r\n@c", "'=x", "''+y", "ok"])
def test_formula_cases_are_neutralised_and_restored(text):
    out = neutralise(text)
    assert restore(out) == text
    assert not any(line.startswith(FORMULA_STARTS) for line in line_starts(out))
    assert (out == text) == (text == "ok")


def test_a_lone_surrogate_is_refused_by_name():
    """JSON may carry '\\ud800'; UTF-8 cannot: a text field holding one is refused, so no export of the store breaks."""
    from core.schema import SchemaError, text

    with pytest.raises(SchemaError, match="^source = "):
        text("bad\ud800", "source")
    assert text("好 = ok", "source") == "好 = ok"
