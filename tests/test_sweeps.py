"""Sweeps: grids crossed with folds and seeds, every point stored, backends agree, cancel keeps finished runs."""

from __future__ import annotations

import dataclasses
import json
import math
import shlex

import pytest

from core.cli import build_parser, main
from core.compare import curve_turn
from core.store import Store
from core.studies import STUDIES, get_study, run_study
from core.sweeps import (
    Axis,
    SweepSpec,
    axis_text,
    choose_backend,
    default_command,
    default_spec,
    grid_values,
    parse_axis,
    run_sweep,
    sweep_frame,
)

FAST = {"epochs": 5}


def test_grid_values_linear_and_log():
    lr = get_study("polynomial").param("lr")
    assert grid_values(lr, 0.001, 1.0, 4, "log") == pytest.approx([0.001, 0.01, 0.1, 1.0])
    degree = get_study("polynomial").param("degree")
    assert grid_values(degree, 0, 20, 5, "linear") == [0, 5, 10, 15, 20]
    with pytest.raises(ValueError, match="lr"):
        grid_values(lr, 0.1, 0.01, 3, "linear")


def test_parse_axis_lists_ranges_and_errors():
    study = get_study("polynomial")
    assert parse_axis(study, "degree=1,3,20").values == (1, 3, 20)
    axis = parse_axis(study, "lr=0.001:0.1:3:log")
    assert axis.spacing == "log" and axis.values == pytest.approx((0.001, 0.01, 0.1))
    for bad, needle in [("degree=1,99", "degree"), ("nope=1", "nope"), ("degree", "key="), ("lr=1:2", "range")]:
        with pytest.raises(ValueError, match=needle):
            parse_axis(study, bad)


def test_spec_crosses_grid_seeds_and_folds():
    spec = SweepSpec("polynomial", FAST, (Axis("degree", (1, 3)), Axis("lr", (0.01, 0.05))), folds=3, seeds=2)
    assert spec.n_runs == 2 * 2 * 2 * 3
    configs = spec.configs()
    assert len(configs) == 8
    assert {(c.degree, c.lr, c.seed) for c in configs} == {(d, lr, s) for d in (1, 3) for lr in (0.01, 0.05) for s in (0, 1)}
    with pytest.raises(ValueError, match="seeds"):
        SweepSpec("polynomial", FAST, (Axis("seed", (1, 2)),), seeds=2)


def test_every_point_is_a_stored_run_with_fold_and_seed(tmp_path):
    store = Store(tmp_path / "s.db")
    spec = SweepSpec("polynomial", FAST, (Axis("degree", (1, 3)),), folds=2, seeds=2)
    result = run_sweep(spec, store=store, backend="serial")
    runs = store.runs(sweep_id=result.sweep_id)
    assert len(runs) == spec.n_runs == 8
    assert sorted(zip(runs["degree"], runs["seed"], runs["fold"])) == sorted(
        (d, s, f) for d in (1, 3) for s in (0, 1) for f in (0, 1))
    assert runs["val_loss"].notna().all()
    sweeps = store.sweeps()
    assert sweeps.loc[0, "settings"]["grid"] == {"degree": [1, 3]} and sweeps.loc[0, "runs"] == 8


def test_sweep_point_matches_a_single_run():
    spec = SweepSpec("polynomial", FAST, (Axis("degree", (2,)),), folds=2)
    for backend, engine in (("serial", "module"), ("auto", "auto")):  # the same engine gives the same numbers
        swept = run_sweep(spec, backend=backend).results
        alone = run_study(get_study("polynomial"), {**FAST, "degree": 2}, folds=2, engine=engine)
        assert [r.metrics["val_loss"] for r in swept] == [r.metrics["val_loss"] for r in alone]


def test_cancel_keeps_finished_runs(tmp_path):
    store = Store(tmp_path / "s.db")
    spec = SweepSpec("polynomial", FAST, (Axis("degree", (1, 2, 3, 4, 5)),))
    done = []
    result = run_sweep(spec, store=store, backend="serial", progress=lambda f, t: done.append(f),
                       should_stop=lambda: len(store.runs()) >= 2)
    assert result.cancelled
    stored = store.runs(sweep_id=result.sweep_id)
    assert len(stored) == 2 and (stored["status"] == "ok").all()


def test_processes_backend_stores_every_run_with_serial_numbers(tmp_path):
    store = Store(tmp_path / "s.db")
    spec = SweepSpec("polynomial", FAST, (Axis("degree", (1, 3)),), folds=2)
    result = run_sweep(spec, store=store, backend="processes", workers=2)
    serial = run_sweep(spec, backend="serial")
    assert len(store.runs(sweep_id=result.sweep_id)) == 4
    key = lambda r: (r.config["degree"], r.config["fold"])  # noqa: E731
    assert {key(r): r.metrics["val_loss"] for r in result.results} == pytest.approx({key(r): r.metrics["val_loss"] for r in serial.results})


def test_dask_local_cluster_sweep_stores_every_run(tmp_path, monkeypatch):
    """Also from inside a page: Streamlit makes the page script `__main__`, which spawned workers must not re-run."""
    pytest.importorskip("dask.distributed")
    import sys
    import types

    page = tmp_path / "page.py"
    page.write_text("raise RuntimeError('the page ran again inside a Dask worker')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    store = Store(tmp_path / "s.db")
    spec = SweepSpec("polynomial", FAST, (Axis("degree", (1, 3)),), folds=2)
    result = run_sweep(spec, store=store, backend="dask", workers=2)
    runs = store.runs(sweep_id=result.sweep_id)
    assert result.backend == "dask" and len(runs) == 4 and (runs["status"] == "ok").all()


def test_backend_choice():
    spec = SweepSpec("polynomial", FAST, (Axis("degree", (1,)),))
    assert choose_backend(spec, "serial")[0] == "serial"
    with pytest.raises(ValueError, match="backend"):
        choose_backend(spec, "gpu-farm")


def test_cli_sweep_json_and_bad_input(tmp_path, capsys):
    db = str(tmp_path / "c.db")
    assert main(["sweep", "polynomial", "--set", "epochs=3", "--grid", "degree=1,3", "--folds", "2", "--db", db,
                 "--backend", "serial", "--format", "json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert len(runs) == 4 and {r["config"]["degree"] for r in runs} == {1, 3}
    assert all(set(r) >= {"config", "metrics", "status"} and r["config"]["folds"] == 2 for r in runs)
    assert all(math.isfinite(r["metrics"]["val_loss"]) for r in runs)
    before = Store(db).count()
    for argv in (["--grid", "degree=1,30"], ["--grid", "bogus=1"], ["--grid", "lr=0:1:3:log"], ["--seeds", "0", "--grid", "degree=1"]):
        assert main(["sweep", "polynomial", "--db", db, *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and len(err.strip().splitlines()) == 1
    assert Store(db).count() == before


def test_auto_batches_group_by_group_and_matches_serial():
    """A sweep over widths crosses two model shapes: each shape trains as one batched group, with serial's numbers."""
    base = {"dataset": "moons", "n_train": 120, "n_test": 60, "epochs": 4, "hidden": 8, "activation": "tanh"}
    spec = SweepSpec("classification", base, (Axis("hidden", (4, 8)), Axis("weight_decay", (0.0, 0.01))), folds=2)
    backend, why = choose_backend(spec)
    assert backend == "batched" and "2 group(s)" in why
    batched = run_sweep(spec, backend="auto")
    serial = run_sweep(spec, backend="serial")
    key = lambda r: (r.config["hidden"], r.config["weight_decay"], r.config["fold"])  # noqa: E731
    got = {key(r): r.metrics["val_loss"] for r in batched.results}
    assert len(got) == spec.n_runs == 8
    assert got == pytest.approx({key(r): r.metrics["val_loss"] for r in serial.results}, rel=1e-4)


def test_forced_batched_refuses_batch_norm_with_the_reason():
    spec = SweepSpec("classification", {"epochs": 2, "batch_norm": True}, (Axis("lr", (0.01, 0.02)),))
    with pytest.raises(ValueError, match="batch norm"):
        choose_backend(spec, "batched")
    assert choose_backend(spec)[0] == "serial"


# --- default sweeps: declared once per study, used by the Sweeps page and `python -m core sweep STUDY` ------------


@pytest.mark.parametrize("study_id", list(STUDIES))
def test_every_study_has_a_default_sweep_that_validates(study_id):
    study = get_study(study_id)
    spec = default_spec(study)  # SweepSpec validates every point's config
    assert spec.axes and spec.n_runs <= 40  # small enough for the page
    for axis in spec.axes:
        param = study.param(axis.name)
        assert [param.validate(v) for v in axis.values] == list(axis.values)  # inside the declared range
        assert len(set(axis.values)) == len(axis.values) >= 2
        if param.kind is int:
            assert all(type(v) is int for v in axis.values)  # whole numbers, not 2.0 or 0.2 steps
    # the command line that README and `studies` print is the same sweep
    args = build_parser().parse_args(shlex.split(default_command(study))[3:])
    again = SweepSpec(study.id, study.parse(args.set), tuple(parse_axis(study, g) for g in args.grid))
    assert again == spec


def thinned(spec: SweepSpec, keep: int) -> SweepSpec:
    """The same sweep on about `keep` of its values (both ends kept): the turn on small settings, fast."""
    values = spec.axes[0].values
    step = max(1, len(values) // (keep - 1))
    picked = tuple(dict.fromkeys(values[::step] + values[-1:]))
    return dataclasses.replace(spec, axes=(dataclasses.replace(spec.axes[0], values=picked),))


def test_polynomial_default_sweep_turns_at_an_interior_degree():
    """Low degrees underfit, high degrees fit the noise of 20 points: the test loss is lowest inside 1..15."""
    spec = thinned(default_spec("polynomial"), 5)
    assert spec.axes[0].values[0] == 1 and spec.axes[0].values[-1] == 15
    runs = sweep_frame(run_sweep(spec, backend="serial").results)
    turn = curve_turn(runs, "degree", "test_loss")
    assert turn.turns, turn
    assert 2 <= turn.best_x <= 5
    assert turn.low >= 10 * turn.best and turn.high >= 3 * turn.best  # with a margin on both sides


def test_weight_decay_default_sweep_turns_at_an_interior_strength():
    """Too little λ memorises 50 examples with 200 weights, too much shrinks the fit away: an interior minimum."""
    spec = default_spec("weight-decay")
    runs = sweep_frame(run_sweep(spec).results)  # one batched computation
    turn = curve_turn(runs, "weight_decay", "test_loss")
    assert turn.turns, turn
    assert turn.low >= 5 * turn.best and turn.high >= 1.1 * turn.best


def test_integer_grids_are_exact_or_refused():
    degree = get_study("polynomial").param("degree")
    assert grid_values(degree, 1, 15, 15) == list(range(1, 16))
    assert grid_values(degree, 1, 15, 8) == [1, 3, 5, 7, 9, 11, 13, 15]
    with pytest.raises(ValueError, match=r"degree: 0\.\.6 in 5 steps is not a whole-number grid .*use 2, 3, 4 or 7 steps"):
        grid_values(degree, 0, 6, 5)  # 0, 1.5, 3, 4.5, 6 would round to 0, 2, 3, 4, 6
    hidden = get_study("capacity").param("hidden")
    assert grid_values(hidden, 1, 64, 7, "log") == [1, 2, 4, 8, 16, 32, 64]
    assert axis_text(parse_axis(get_study("capacity"), "hidden=1:100:5:log")) == "hidden = 1, 3, 10, 32, 100"  # rounded, shown


def test_cli_sweep_without_grid_runs_the_default_sweep(tmp_path, capsys):
    db = str(tmp_path / "d.db")
    assert main(["sweep", "polynomial", "--set", "epochs=2", "--db", db, "--backend", "serial", "--format", "json"]) == 0
    captured = capsys.readouterr()
    runs = json.loads(captured.out)
    assert [r["config"]["degree"] for r in runs] == list(range(1, 16))
    assert {r["config"]["n_train"] for r in runs} == {20} and {r["config"]["epochs"] for r in runs} == {2}  # --set wins
    assert "the default sweep of polynomial" in captured.err and "degree = 1, 2, 3" in captured.err
