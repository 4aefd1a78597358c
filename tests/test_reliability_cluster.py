"""A real Dask cluster, and worker processes that end with their parent.

The scheduler and the workers are started as the README says (`dask scheduler`, `dask worker ADDRESS`), as
subprocesses bound to 127.0.0.1, from a folder outside the checkout and without it on their path: the project's
code reaches them only because the sweep ships it. Every process a test starts is ended by the test.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from core.cli import main
from core.store import Store
from core.sweeps import Axis, SweepFailed, SweepSpec, describe_points, points, run_sweep

psutil = pytest.importorskip("psutil")  # installed with dask.distributed
pytest.importorskip("dask.distributed")

ROOT = Path(__file__).resolve().parents[1]
FAST = {"epochs": 5}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "OVERFIT_LAB_DB")}
    env.update(extra)
    return env


def _end(proc: subprocess.Popen) -> None:
    """End a process group started with start_new_session=True: TERM, then KILL what is left."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def _wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """`dask scheduler` and `dask worker ADDRESS --nworkers 2 --nthreads 1`, started in an empty folder, with an
    empty data folder (so MNIST is missing there) and no network; yields (address, a client for the test)."""
    from dask.distributed import Client

    home = tmp_path_factory.mktemp("cluster")
    env = _env(OVERFIT_LAB_OFFLINE="1", OVERFIT_LAB_DATA=str(home / "no-data"), DASK_TEMPORARY_DIRECTORY=str(home))
    started = []
    try:
        started.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(home / "scheduler.json")],
            cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        info = _wait_for(lambda: (home / "scheduler.json").exists() and (home / "scheduler.json").read_text(), 60,
                         "the scheduler")
        address = json.loads(info)["address"]
        assert address.startswith("tcp://127.0.0.1:")
        started.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "2", "--nthreads", "1",
             "--host", "127.0.0.1", "--no-dashboard"],
            cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        client = Client(address, timeout="30s")
        client.wait_for_workers(2, timeout=60)
        try:
            yield address, client
        finally:
            client.close()
    finally:
        for proc in reversed(started):
            _end(proc)


def _serial(spec: SweepSpec) -> dict:
    return {(r.config["degree"], r.config["fold"]): r.metrics for r in run_sweep(spec, backend="serial").results}


def test_a_sweep_on_a_real_cluster_stores_every_run_with_serial_numbers(cluster, tmp_path, capsys):
    address, client = cluster
    # the workers cannot import the project by themselves: only the code the sweep ships reaches them
    assert set(client.run(importlib.util.find_spec, "core").values()) == {None}
    db = tmp_path / "runs.db"
    argv = ["sweep", "polynomial", "--set", "epochs=5", "--grid", "degree=1,2,3", "--folds", "2", "--backend", "dask",
            "--scheduler", address, "--db", str(db), "--format", "json"]
    assert main(argv) == 0
    runs = json.loads(capsys.readouterr().out)
    stored = {(r["config"]["degree"], r["config"]["fold"]): r["metrics"] for r in Store(db).records()}
    assert len(runs) == len(stored) == 6
    serial = _serial(SweepSpec("polynomial", FAST, (Axis("degree", (1, 2, 3)),), folds=2))
    for key, metrics in serial.items():
        for name in ("train_loss", "val_loss", "test_loss", "coef_error"):
            assert stored[key][name] == pytest.approx(metrics[name], rel=1e-9), (key, name)


def test_the_latest_shipped_code_runs_even_when_switching_back(cluster):
    """Code A, then B (another version), then A again: each time every machine imports exactly the shipped one."""
    import core.cluster as cl

    address, client = cluster
    name_a, data_a = cl.code_archive()
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data_a)) as src, zipfile.ZipFile(buf, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("core/another_version.py", "")
    name_b = "overfit_lab_000000000000.zip"
    for name, data in ((name_a, data_a), (name_b, buf.getvalue()), (name_a, data_a)):
        cl.ship_code(client, (name, data))
        assert {env["code"] for env in client.run(cl.environment).values()} == {name}
        assert client.run_on_scheduler(cl.environment)["code"] == name
        has_b = client.run(importlib.util.find_spec, "core.another_version")
        assert all((spec is not None) == (name == name_b) for spec in has_b.values())


def test_killing_a_worker_mid_sweep_still_stores_every_run(cluster, tmp_path):
    address, client = cluster
    pids = client.run(os.getpid)
    spec = SweepSpec("polynomial", {"epochs": 40}, (Axis("degree", (1, 2, 3, 4)),), folds=2)
    killed = []

    def kill_a_busy_worker(fraction: float, text: str) -> None:
        if killed:
            return
        busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)  # its nanny restarts it; the scheduler re-runs its task
            killed.append(busy[0])

    store = Store(tmp_path / "runs.db")
    result = run_sweep(spec, store=store, backend="dask", scheduler=address, progress=kill_a_busy_worker)
    assert killed, "no worker was busy after the first run finished"
    stored = {(r["config"]["degree"], r["config"]["fold"]): r["metrics"] for r in store.records()}
    assert len(result.results) == len(stored) == spec.n_runs == 8
    serial = _serial(spec)
    assert {k: m["test_loss"] for k, m in stored.items()} == pytest.approx({k: m["test_loss"] for k, m in serial.items()}, rel=1e-9)
    _wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, 60, "the killed worker to be restarted")


def test_a_point_that_fails_on_the_cluster_is_reported_with_what_is_missing(cluster, tmp_path, capsys):
    """MNIST is not on the workers: those points fail there; the message names what was stored and what is missing."""
    address, _ = cluster
    db = tmp_path / "runs.db"
    argv = ["sweep", "classification", "--set", "epochs=2", "--set", "n_train=60", "--set", "n_test=30", "--set",
            "hidden=8", "--grid", "dataset=moons,mnist,circles", "--backend", "dask", "--scheduler", address,
            "--db", str(db)]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: sweep ") and "dataset=mnist failed on the cluster" in err and "MNIST" in err
    stored = Store(db).records()
    spec = SweepSpec("classification", {"epochs": 2, "n_train": 60, "n_test": 30, "hidden": 8},
                     (Axis("dataset", ("moons", "mnist", "circles")),))
    pts = points(spec)
    have = {r["config"]["dataset"] for r in stored}
    missing = [p for p in pts if p.config.dataset not in have]
    assert "mnist" not in have and f"stored {len(stored)} of 3 runs" in err
    assert err.endswith(f"missing: {describe_points(missing, pts)}")


def test_a_worker_with_another_torch_is_refused_before_anything_trains(cluster, tmp_path, capsys):
    """A third worker joins whose torch reports version 1.0.0: the sweep names it in one line and stores nothing."""
    address, client = cluster
    fake = tmp_path / "fake-site"
    (fake / "torch-1.0.0.dist-info").mkdir(parents=True)
    (fake / "torch-1.0.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 1.0.0\n")
    worker = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--host", "127.0.0.1",
         "--no-dashboard"],
        cwd=tmp_path, env=_env(PYTHONPATH=str(fake), DASK_TEMPORARY_DIRECTORY=str(tmp_path)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        client.wait_for_workers(3, timeout=60)
        db = tmp_path / "runs.db"
        assert main(["sweep", "polynomial", "--grid", "degree=1,2", "--backend", "dask", "--scheduler", address,
                     "--db", str(db)]) == 1
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert re.fullmatch(r"error: Dask worker tcp://127\.0\.0\.1:\d+ has torch 1\.0\.0, this machine \S+: install the "
                            r"same versions on every machine \(pip install -r requirements\.txt\)", err), err
        assert Store(db).count() == 0 and Store(db).sweeps().empty
    finally:
        _end(worker)
    _wait_for(lambda: len(client.scheduler_info()["workers"]) == 2, 60, "the third worker to leave")


def test_an_unreachable_scheduler_is_one_line_and_stores_nothing(tmp_path, monkeypatch):
    import core.cluster

    monkeypatch.setattr(core.cluster, "CONNECT_TIMEOUT_S", 1)
    store = Store(tmp_path / "runs.db")
    spec = SweepSpec("polynomial", FAST, (Axis("degree", (1, 2)),))
    with pytest.raises(core.cluster.ClusterError) as info:
        run_sweep(spec, store=store, backend="dask", scheduler="tcp://127.0.0.1:9")
    message = str(info.value)
    assert "no Dask scheduler answered at tcp://127.0.0.1:9" in message and "\n" not in message
    assert store.count() == 0 and store.sweeps().empty  # not even an empty sweep


def test_a_worker_with_other_versions_is_named_in_one_line():
    from core.cluster import WORKER_PACKAGES, environment, mismatch

    ours = environment()
    assert mismatch("worker w", ours, WORKER_PACKAGES) is None
    assert mismatch("worker w", {**ours, "torch": None}, WORKER_PACKAGES).startswith("worker w has no torch")
    older = mismatch("worker w", {**ours, "pandas": "1.5.3"}, WORKER_PACKAGES)
    assert f"pandas 1.5.3, this machine {ours['pandas']}" in older
    assert mismatch("worker w", {**ours, "torch": ours["torch"].split("+")[0] + "+cu121"}, WORKER_PACKAGES) is None


def _descendants_alive(procs) -> list:
    return [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_kill_9_of_a_processes_sweep_ends_its_workers(tmp_path):
    cmd = [sys.executable, "-m", "core", "sweep", "polynomial", "--grid", "degree=1:12:12", "--set", "epochs=500",
           "--backend", "processes", "--workers", "2", "--db", str(tmp_path / "runs.db")]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    kids = []
    try:
        workers = lambda: [k for k in parent.children(recursive=True) if "popen_loky" in " ".join(k.cmdline())]  # noqa: E731
        _wait_for(lambda: len(workers()) >= 2, 90, "two loky workers")
        # past start-up (1 s of CPU each: they are importing torch for their first run), so nothing else ends them
        _wait_for(lambda: all(sum(w.cpu_times()[:2]) > 1.0 for w in workers()), 90, "the workers to be busy")
        kids = parent.children(recursive=True)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _descendants_alive(kids) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _descendants_alive(kids)
        assert not left, f"still running after its parent was killed: {[' '.join(p.cmdline())[:80] for p in left]}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in _descendants_alive(kids):
            p.kill()
