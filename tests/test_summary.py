"""Summary tables: golden files per format, pooled numbers against pandas, marks, escaping, reproduction, CLI messages.

The fixture tests/data/summary_runs.json holds real runs (without histories) and the settings of the two sweeps
they came from; it is imported into a temporary store, so nothing trains here and the golden files under
tests/golden/ never shift with torch versions. After an intended change of the output, regenerate the goldens
and read their diff:

    UPDATE_GOLDEN=1 python -m pytest tests/test_summary.py

Rebuild the fixture itself (it trains for a few seconds) with `python tests/data/make_summary_runs.py`, then
regenerate the goldens.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import shlex
import shutil
from pathlib import Path

import pandas as pd
import pytest

from core.cli import build_parser, parse_config
from core.metrics import metric_info
from core.store import Store
from core.studies import config_dict
from core.summary import (
    FORMATS,
    SUFFIX,
    _format_column,
    headline,
    render,
    reproduce,
    summaries,
    summarize,
)
from core.sweeps import SweepSpec, parse_axis
from core.tables import import_file
from tests.test_cli import cli  # noqa: F401  (the in-process CLI fixture)

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "summary_runs.json"
GOLDEN = ROOT / "tests" / "golden"


def fixture_data() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Store:
    """The fixture imported as a user would: every run's source names the file."""
    store = Store(tmp_path_factory.mktemp("summary") / "imported.db")
    assert len(import_file(store, FIXTURE).added) == 19
    return store


def store_as_trained(path: Path) -> tuple[Store, dict[str, str]]:
    """The fixture stored as if trained here: sweeps with their settings, runs tied to them; returns the sweep ids."""
    store = Store(path)
    data = fixture_data()
    ids = {s["id"]: store.create_sweep(s["study"], s["settings"]) for s in data["sweeps"]}
    for rec in data["runs"]:
        store.save_records([{**rec, "sweep_id": ids.get(rec["sweep_id"]), "source": "local"}])
    return store, {s["study"]: ids[s["id"]] for s in data["sweeps"]}


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> tuple[Store, dict[str, str]]:
    return store_as_trained(tmp_path_factory.mktemp("summary") / "local.db")


def one(store: Store, **kwargs):
    [summary] = summaries(store, **kwargs)
    return summary


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 python -m pytest {Path(__file__).name}"
    assert text == path.read_text(), f"{name} differs from its golden file (see the module docstring to regenerate)"


@pytest.mark.parametrize("fmt", FORMATS)
def test_golden_imported_polynomial(imported, fmt):
    check_golden(f"summary-polynomial.{SUFFIX[fmt]}", render(one(imported, study="polynomial"), fmt))


def test_golden_trained_here_and_classification(imported, local):
    store, _ = local
    check_golden("summary-polynomial-local.md", render(one(store, study="polynomial"), "markdown"))
    check_golden("summary-classification.md", render(one(imported, study="classification"), "markdown"))


def test_mean_and_std_match_pandas(imported):
    s = one(imported, study="polynomial")
    assert s.params == ("degree", "lr") and s.metrics == ("test_loss", "train_loss", "gap")
    runs = imported.runs(study="polynomial")
    runs = runs[runs["status"] == "ok"].assign(gap=lambda f: f["test_loss"] - f["train_loss"])
    expected = runs.groupby(["degree", "lr"])[list(s.metrics)].agg(["mean", "std", "count"])
    shown = {(r.setting[0], r.setting[1]): r for r in s.rows if r.n}
    assert set(shown) == set(expected.index)
    for key, row in shown.items():
        assert row.n == expected.loc[key, ("test_loss", "count")]
        for metric, cell in zip(s.metrics, row.cells):
            assert cell.mean == pytest.approx(expected.loc[key, (metric, "mean")], rel=1e-12)
            if row.n > 1:
                assert cell.std == pytest.approx(expected.loc[key, (metric, "std")], rel=1e-12)
            else:
                assert cell.std is None and cell.spread is None
    # the shown text is the mean rounded to the spread's second significant digit
    cell = shown[(9, 0.05)].cells[2]
    assert (cell.text, cell.spread) == ("0.302", "0.064") and abs(float(cell.text) - cell.mean) <= 0.0005


def test_single_runs_are_shown_without_pm(imported):
    s = one(imported, study="polynomial")
    singles = [r for r in s.rows if r.n == 1]
    assert [r.setting for r in singles] == [(2, 0.05), (20, 0.05)]
    lines = render(s, "markdown").splitlines()
    for r in singles:
        row = next(line for line in lines if line.startswith(f"| {r.setting[0]} | 0.05 | 1 |"))
        assert "±" not in row
    pooled = next(line for line in lines if line.startswith("| 3 | 0.05 | 4 |"))
    assert pooled.count("±") == 3


def header_of(text: str, fmt: str) -> list[str]:
    """The column names of a rendered table."""
    if fmt == "markdown":
        return [c.strip() for c in text.splitlines()[0].strip("|").split("|")]
    if fmt == "csv":
        return list(pd.read_csv(io.StringIO(text)).columns)
    if fmt == "latex":
        line = text.splitlines()[text.splitlines().index("\\toprule") + 1]
        return [c.strip().replace("\\_", "_") for c in line.removesuffix("\\\\").split("&")]
    return re.findall(r"<th[^>]*>([^<]*)</th>", text)


@pytest.mark.parametrize("fmt", FORMATS)
def test_constants_are_stated_under_the_table_never_as_columns(imported, fmt):
    s = one(imported, study="polynomial")
    constants = dict(s.constants)
    assert constants["epochs"] == 20 and constants["n_train"] == 100 and "degree" not in constants
    text = render(s, fmt)
    columns = header_of(text, fmt)
    assert columns[:3] == ["degree", "lr", "n" if fmt != "latex" else "$n$"]
    assert not set(constants) & {c.split(" ")[0] for c in columns}
    if fmt != "csv":  # CSV carries the numbers only
        table_end = text.index("epochs=20")
        assert text.count("epochs=20") == 1 and table_end > text.index("0.302")


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_no_column_is_empty_for_every_row(tmp_path, fmt):
    """A run set where some headline metrics were never recorded: those columns are left out, not shown empty."""
    data = fixture_data()
    records = [copy.deepcopy(r) for r in data["runs"] if r["study"] == "polynomial" and r["sweep_id"]]
    for r in records:
        del r["metrics"]["train_loss"]  # no train_loss: no gap either
    s = summarize(records)
    assert s.metrics == ("test_loss",)
    text = render(s, fmt)
    if fmt == "csv":
        frame = pd.read_csv(io.StringIO(text))
        assert not [c for c in frame.columns if c.endswith("mean") and frame[c].isna().all()]
        assert list(frame.columns) == ["degree", "n", "test_loss mean", "test_loss std"]
    else:
        assert header_of(text, fmt) == ["degree", "n", "test_loss"]
        body = [line for line in text.splitlines()[2:] if line.startswith("|")]
        assert all(line.count("|") == 4 for line in body)


def best_rows(text: str, fmt: str) -> list[list[int]]:
    """Per metric column, the row numbers marked best in a rendered table."""
    mark = {"markdown": r"\*\*", "latex": r"\\mathbf", "html": r"<b>"}[fmt]
    if fmt == "markdown":
        rows = [line.strip("|").split("|") for line in text.splitlines()[2:] if line.startswith("|")]
    elif fmt == "latex":
        lines = text.splitlines()
        rows = [line.split("&") for line in lines[lines.index("\\midrule") + 1:lines.index("\\bottomrule")]]
    else:
        rows = [re.findall(r"<td[^>]*>(.*?)</td>", line) for line in text.splitlines() if line.startswith("<tr><td")]
    return [[i for i, row in enumerate(rows) if re.search(mark, row[col])] for col in range(len(rows[0]))]


@pytest.mark.parametrize("fmt", ["markdown", "latex", "html"])
def test_best_value_marked_in_each_metric_column(imported, fmt):
    for study in ("polynomial", "classification"):
        s = one(imported, study=study)
        marked = best_rows(render(s, fmt), fmt)
        first_metric = len(s.params) + 1
        assert all(not m for m in marked[:first_metric])  # parameters and n are never marked
        for j, metric in enumerate(s.metrics):
            means = [r.cells[j].mean for r in s.rows]
            present = [m for m in means if m is not None]
            best = (min if metric_info(metric).better == "lower" else max)(present)
            assert marked[first_metric + j] == [i for i, m in enumerate(means) if m == best], (study, metric)
    # accuracy is best when highest, loss when lowest
    s = one(imported, study="classification")
    assert s.metrics[0] == "test_acc" and metric_info("test_acc").better == "higher"


def test_a_metric_without_direction_is_not_marked(imported):
    s = one(imported, study="polynomial", metrics=["epochs_run", "test_loss"])
    assert s.metrics == ("epochs_run", "test_loss")
    assert not any(r.cells[0].best for r in s.rows) and any(r.cells[1].best for r in s.rows)
    assert {r.cells[0].text for r in s.rows if r.n} == {"20"}  # whole numbers stay whole


def test_diverged_runs_are_left_out_and_counted(imported):
    s = one(imported, study="polynomial")
    diverged = next(r for r in s.rows if r.setting == (20, 10.0))
    assert diverged.n == 0 and all(c.mean is None for c in diverged.cells)
    assert s.notes == ("left out of the means: 1 diverged run (degree=20, lr=10)",)
    assert "| 20 | 10 | 0 | — | — | — |" in render(s, "markdown")


def test_rounding_from_the_spread():
    cells = _format_column("test_loss", [(0.00951, 0.00123, 4), (0.68242733, None, 1), (-0.00001, 0.004, 3)])
    # a single run takes its column's decimals; a mean that rounds to zero loses its minus sign
    assert [(c.text, c.spread) for c in cells] == [("0.0095", "0.0012"), ("0.6824", None), ("0.0000", "0.0040")]
    assert [c.text for c in _format_column("test_loss", [(0.68242733, None, 1), (0.00952, None, 1)])] == ["0.682", "0.00952"]
    assert [(c.text, c.spread) for c in _format_column("test_loss", [(1234.5, 12.3, 3)])] == [("1234", "12")]
    tiny = _format_column("test_loss", [(3.21e-7, 1.1e-8, 2)])[0]
    assert (tiny.text, tiny.spread) == ("3.21e-07", "1.1e-08")
    assert _format_column("test_loss", [(0.5, 0.0, 2)])[0].spread == "0"  # identical runs: ± 0, not a single run


def odd_records() -> list[dict]:
    """Runs whose parameter values hold every character a format must escape."""
    data = fixture_data()
    records = [copy.deepcopy(r) for r in data["runs"] if r["study"] == "polynomial" and r["config"]["degree"] == 3]
    for r in records[:2]:
        r["config"]["optimizer"] = "a|b_c&d<e>#%$~^{}\\"
    return records


def test_special_characters_escaped_per_format(tmp_path):
    s = summarize(odd_records())
    assert s.params == ("optimizer",)
    odd = "a|b_c&d<e>#%$~^{}\\"
    md = render(s, "markdown")
    assert "| a\\|b_c\\&d\\<e\\>\\#%\\$\\~^{}\\\\ |" in md
    tex = render(s, "latex")
    assert ("a\\textbar{}b\\_c\\&d\\textless{}e\\textgreater{}\\#\\%\\$\\textasciitilde{}\\textasciicircum{}"
            "\\{\\}\\textbackslash{}") in tex
    assert "optimizer & $n$ & test\\_loss & train\\_loss & gap" in tex and "weight\\_decay=0" in tex
    html = render(s, "html")
    assert "a|b_c&amp;d&lt;e&gt;#%$~^{}\\" in html and odd not in html
    frame = pd.read_csv(io.StringIO(render(s, "csv")))
    assert odd in set(frame["optimizer"])  # CSV quotes, the value comes back as it was

    # an imported file's name is untrusted too: it is named under the table in every format
    name = "runs|a_b&c<d>.json"
    shutil.copy(FIXTURE, tmp_path / name)
    store = Store(tmp_path / "odd.db")
    import_file(store, tmp_path / name)
    t = one(store, study="classification")
    assert t.sources == (name,)
    assert f"Imported from `{name}`." in render(t, "markdown")
    assert "\\texttt{runs\\textbar{}a\\_b\\&c\\textless{}d\\textgreater{}.json}" in render(t, "latex")
    assert "<code>runs|a_b&amp;c&lt;d&gt;.json</code>" in render(t, "html")


def test_sweep_command_rebuilt_from_stored_settings(local):
    store, sweep_ids = local
    s = one(store, sweep_id=sweep_ids["polynomial"])
    assert s.commands == ("python -m core sweep polynomial --set epochs=20 --grid degree=1,3,9 --folds 2 --seeds 2",)
    stored = SweepSpec.from_dict(store.sweeps().set_index("id").loc[sweep_ids["polynomial"], "settings"])
    assert rebuilt_spec(s.commands[0]) == stored

    # a part of the sweep: the grid narrows to the values shown
    ids = [int(i) for i in store.runs(sweep_id=sweep_ids["polynomial"]).query("degree != 9")["id"]]
    part = one(store, ids=ids)
    assert part.commands == ("python -m core sweep polynomial --set epochs=20 --grid degree=1,3 --folds 2 --seeds 2",)


def rebuilt_spec(command: str) -> SweepSpec:
    """The sweep a printed command would run, parsed by the real CLI parser."""
    args = build_parser().parse_args(shlex.split(command)[3:])
    study, _ = parse_config(args.study, args.set, args.seed)
    base = study.parse(args.set) | ({"seed": args.seed} if args.seed is not None else {})
    return SweepSpec(study.id, base, tuple(parse_axis(study, g) for g in args.grid), args.folds, args.seeds)


def test_local_runs_get_run_commands_or_one_equivalent_sweep(local):
    store, _ = local
    s = one(store, study="polynomial")
    singles = [c for c in s.commands if " run " in c]
    assert len(singles) == 3
    by_id = {r["id"]: r for r in store.records(study="polynomial") if r["sweep_id"] is None}
    for command in singles:  # each command trains exactly a stored run's config
        args = build_parser().parse_args(shlex.split(command)[3:])
        _, cfg = parse_config(args.study, args.set, args.seed)
        config = {**config_dict(cfg), "fold": args.fold, "folds": args.folds}
        assert config in [r["config"] for r in by_id.values()]

    # runs trained one by one that happen to form a grid × seeds × folds: one equivalent sweep command
    sweep_runs = [r for r in store.records(study="polynomial") if r["sweep_id"] is not None]
    commands, sources = reproduce("polynomial", [{**r, "sweep_id": None} for r in sweep_runs], {})
    assert commands == ["python -m core sweep polynomial --set epochs=20 --grid degree=1,3,9 --folds 2 --seeds 2"] and not sources
    spec = rebuilt_spec(commands[0])
    trained = sorted((vars(c)["degree"], vars(c)["seed"]) for c in spec.configs())
    assert trained == sorted({(r["config"]["degree"], r["config"]["seed"]) for r in sweep_runs})


def test_headline_declared_once_with_task_defaults():
    from core.studies import STUDIES

    assert headline("polynomial", ["train_loss", "test_loss", "val_loss", "gap"]) == ["test_loss", "train_loss", "gap"]
    assert headline("classification", ["test_acc", "train_acc", "test_loss", "train_loss", "gap"]) == ["test_acc", "test_loss", "gap"]
    assert headline("weight-decay", ["test_loss", "train_loss", "gap", "weight_norm", "zero_weights"]) == list(STUDIES["weight-decay"].headline)
    # a study nobody declared a headline for gets its task's, from what its runs record
    assert headline("a-new-study", ["test_acc", "test_loss", "train_loss", "gap"]) == ["test_acc", "test_loss", "gap"]
    for study in STUDIES.values():
        assert all(metric_info(m) is not None for m in study.headline)
    import dataclasses

    with pytest.raises(ValueError, match="happiness"):
        dataclasses.replace(STUDIES["polynomial"], headline=("test_loss", "happiness"))


def test_mixed_studies_one_table_each_or_refused(imported):
    tables = summaries(imported)
    assert [t.study for t in tables] == ["polynomial", "classification"]
    with pytest.raises(ValueError, match="polynomial.*classification|classification.*polynomial"):
        summarize(imported.records())


def test_cli_summary_messages(cli, imported, local, isolated_store, tmp_path):  # noqa: F811
    rc, out, err = cli("summary", "--db", isolated_store)
    rc_runs, out_runs, _ = cli("runs", "--db", isolated_store)
    assert (rc, out) == (rc_runs, out_runs) == (0, "") and "no runs stored" in err  # as `runs` does
    rc, out, err = cli("summary", "--study", "weight-decay", "--db", imported.path)
    assert rc == 0 and out == "" and "no runs stored for study weight-decay" in err

    rc, out, err = cli("summary", "--db", imported.path)
    assert rc == 0 and out.count("| n |") == 2 and "### `polynomial`" in out and "### `classification`" in out
    assert "polynomial, classification" in err and "--study" in err
    rc, out, err = cli("summary", "--format", "csv", "--db", imported.path)
    assert rc == 2 and out == "" and "polynomial, classification" in err and len(err.strip().splitlines()) == 1

    rc, out, _ = cli("summary", "--study", "polynomial", "--format", "latex", "--db", imported.path)
    assert rc == 0 and out == render(one(imported, study="polynomial"), "latex")
    store, sweep_ids = local
    rc, out, _ = cli("summary", "--sweep", sweep_ids["classification"], "--metrics", "test_acc,train_acc", "--db", store.path)
    assert rc == 0 and out.splitlines()[0] == "| dropout | n | test_acc | train_acc |"
    assert "python -m core sweep classification" in out.splitlines()[-1]

    for argv, name in [(["--metrics", "test_loss", "happiness"], "happiness"), (["--study", "polynomial", "--metrics", "test_acc"], "test_acc"),
                       (["--sweep", "nope"], "nope"), (["--ids", "1,999"], "999"), (["--ids", "x"], "--ids"), (["--format", "xlsx"], "--format"),
                       (["--study", "nope"], "nope")]:
        rc, out, err = cli("summary", *argv, "--db", imported.path)
        assert rc == 2 and out == "" and name in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, argv
    assert imported.count() == 19  # nothing was stored or changed


def test_edge_selections_render_in_every_format():
    """One run alone, and a setting whose every run diverged: still a readable table, nothing empty."""
    data = fixture_data()
    [single] = [r for r in data["runs"] if r["config"].get("degree") == 2]
    s = summarize([single])
    assert s.params == () and [r.n for r in s.rows] == [1] and not any(c.best for c in s.rows[0].cells)
    assert "Each row: one run." in render(s, "markdown") and "±" not in render(s, "markdown").split("\n\n")[0]
    assert ("seed", 1) in s.constants and ("degree", 2) in s.constants

    diverged = [r for r in data["runs"] if r["status"] == "diverged"]
    d = summarize(diverged)
    assert d.metrics == () and [r.n for r in d.rows] == [0] and d.notes == ("left out of the means: 1 diverged run",)
    for fmt in FORMATS:
        assert render(d, fmt)
    assert render(d, "markdown").splitlines()[:3] == ["| n |", "|---:|", "| 0 |"]
