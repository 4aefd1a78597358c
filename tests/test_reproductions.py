"""Reproductions: every row's check holds on small settings, runs are stored as a tagged sweep, the table exports."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from core.reproductions import REPRODUCTIONS, judge_belkin, latest, reproduce, table
from core.store import Store
from core.sweeps import Axis, SweepSpec, run_sweep, sweep_frame
from core.tables import csv_text, parse_markdown, to_markdown
from tests.test_cli import cli  # noqa: F401  (the in-process CLI fixture)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory) -> Store:
    return Store(tmp_path_factory.mktemp("repro") / "runs.db")


@pytest.mark.parametrize("name", list(REPRODUCTIONS))
def test_each_reproduction_holds_on_small_settings(request, shared_store, name):
    rep = REPRODUCTIONS[name]
    if rep.needs_mnist:
        request.getfixturevalue("mnist_dir")  # skipped, with the reason, where the MNIST sample is missing
    outcome = reproduce(rep, "small", shared_store)
    assert not outcome.skipped
    assert outcome.verdict is not None and outcome.verdict.holds, outcome.verdict
    # its runs are stored as one sweep tagged with the reproduction, which the page and `latest` find again
    runs = shared_store.runs(sweep_id=outcome.sweep_id)
    assert len(runs) == outcome.runs == rep.spec("small").n_runs and set(runs["study"]) == {rep.study}
    again = latest(shared_store, rep)
    assert again.sweep_id == outcome.sweep_id and again.verdict == outcome.verdict and again.size == "small"


def test_the_check_can_fail():
    """With a strong ridge there is no peak at P = n: the Belkin row's check says so."""
    spec = SweepSpec("double-descent", {"l2": 0.01}, (Axis("hidden", (50, 200, 1600)),))
    runs = sweep_frame(run_sweep(spec).results)
    verdict = judge_belkin(runs.assign(status="ok"), pd.DataFrame())
    assert verdict.holds is False and "P = 200" in verdict.lab


def test_table_marks_unrun_rows_and_exports(tmp_path):
    store = Store(tmp_path / "t.db")
    outcomes = [latest(store, rep) for rep in REPRODUCTIONS.values()]
    outcomes[3] = reproduce(REPRODUCTIONS["sklearn-underfitting"], "small", store)
    frame = table(outcomes)
    assert list(frame["reproduction"]) == list(REPRODUCTIONS)
    assert frame["holds"].tolist().count("not run") == len(REPRODUCTIONS) - 1
    row = frame.iloc[3]
    assert row["holds"] == "yes" and "4.08e-01" in row["published"] and "degree 4" in row["lab"]
    back = pd.read_csv(io.StringIO(csv_text(frame)), keep_default_na=False)
    assert back["lab"].tolist() == frame["lab"].tolist()
    assert parse_markdown(to_markdown(frame))["published"].tolist() == frame["published"].tolist()


def test_cli_reproduce(cli, isolated_store):
    db = str(isolated_store.parent / "cli.db")
    rc, out, err = cli("reproduce", "belkin-double-descent", "--db", db, "--format", "csv")
    assert rc == 0, err
    [row] = pd.read_csv(io.StringIO(out)).to_dict("records")
    assert row["holds"] == "yes" and row["settings"] == "small" and row["runs"] == 5
    rc, out, err = cli("reproduce", "--db", db)  # no name: the stored table, nothing trained
    assert rc == 0 and "belkin-double-descent" in out and "not run" in out and "--all" in err
    assert len(Store(db).runs()) == 5
    rc, _, err = cli("reproduce", "belkin", "--db", db)
    assert rc == 2 and "unknown reproduction 'belkin'" in err and "belkin-double-descent" in err
    rc, _, err = cli("reproduce", "--all", "belkin-double-descent", "--db", db)
    assert rc == 2 and "not both" in err
