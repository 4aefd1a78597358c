"""Other processes that train sweep points: a Dask cluster's workers, and the local worker processes.

How the project's code reaches a Dask cluster: **the client ships it with the sweep.** Before any point is
submitted, `connect` zips the `core` package (its `.py` files, about 0.4 MB; the same code always gives the
same zip and name) and registers it with Dask's plugin mechanism, as `Client.upload_file` does: a scheduler
plugin and a worker plugin (`core.ship`, pickled by value) that write the zip, put it first on `sys.path` and
make the process forget any `core` it imported before. They are registered under one name, so a worker that
joins or restarts later gets the code too, and a long-lived cluster holds one copy: the latest sweep's. So a
scheduler and workers started anywhere (`dask scheduler`, `dask worker ADDRESS`) on machines that have only the
requirements installed run exactly this checkout's code, even after a sweep from another version. (Plain
`upload_file` re-imports the top-level package only and keeps an archive it has seen before behind a newer one
on `sys.path`, so switching back to earlier code would run the newer.) Installing the project as a package was
the other way; it was not taken because every worker machine would then need this checkout installed (and kept
at the same version), and `core` is too generic a top-level name to put into site-packages.

Before training, every worker is checked: the packages the runs need (torch, numpy, pandas, scikit-learn, and
Dask's own) must be installed there with the same major.minor version as here; anything else is refused in one
line naming the worker and the package. The scheduler is checked for Dask's packages.

`end_with_parent` is the initializer of the `processes` backend's workers: they end within a second when the
process that started them is gone (even after `kill -9`, which runs no clean-up).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import sys
import threading
import time
import types
import warnings
import zipfile
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

PACKAGE = __name__.split(".")[0]
PLUGIN_NAME = "overfit-lab-code"  # one registration per cluster: re-registering replaces the previous upload
# what a worker needs, as distribution names; the scheduler needs the Dask ones only
WORKER_PACKAGES = ("torch", "numpy", "pandas", "scikit-learn", "dask", "distributed", "cloudpickle")
SCHEDULER_PACKAGES = ("dask", "distributed", "cloudpickle")
CONNECT_TIMEOUT_S = 10
WORKER_WAIT_S = 10


class ClusterError(RuntimeError):
    """The Dask cluster cannot run this sweep: one line saying which machine, what is wrong and what to do."""


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one line: its message, with its type unless it is a ValueError (which names what is wrong)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, ValueError) and not text.startswith(type(exc).__name__):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def end_with_parent(parent_pid: int, interval: float = 0.5) -> None:
    """In a worker process: exit as soon as `parent_pid` is no longer this process's parent.

    A killed parent (kill -9 runs no clean-up) leaves its children to init, which changes their parent id;
    a daemon thread polls for that. Polling is used rather than Linux's PR_SET_PDEATHSIG, which is Linux only
    and fires when the *thread* that started the worker ends (loky may start workers from its manager thread).
    """
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def code_archive() -> tuple[str, bytes]:
    """The `core` package's Python files as a zip: (file name with the content's digest, bytes).

    Entries are sorted and dated 1980-01-01, so the same code gives the same bytes and name.
    """
    root = Path(__file__).resolve().parent
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" not in path.parts:
                name = f"{PACKAGE}/{path.relative_to(root).as_posix()}"
                z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), path.read_bytes())
    data = buf.getvalue()
    return f"overfit_lab_{hashlib.sha256(data).hexdigest()[:12]}.zip", data


def environment() -> dict[str, str | None]:
    """Python's and the needed packages' versions in this process (None: not installed), and where its code is from
    ("code": the shipped archive's name on a cluster, the checkout's folder name here)."""
    out: dict[str, str | None] = {"code": Path(__file__).parent.parent.name,
                                  "python": ".".join(map(str, sys.version_info[:3]))}
    for name in WORKER_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _minor(version: str) -> str:
    return ".".join(version.split("+")[0].split(".")[:2])


def mismatch(where: str, theirs: dict[str, str | None], names: tuple[str, ...]) -> str | None:
    """What keeps machine `where` from running these runs as this one does, or None."""
    ours = environment()
    for name in ("python", *names):
        if theirs.get(name) is None:
            return f"{where} has no {name}: install the requirements there (pip install -r requirements.txt)"
        if _minor(str(theirs[name])) != _minor(str(ours[name])):
            return (f"{where} has {name} {theirs[name]}, this machine {ours[name]}: install the same versions on "
                    "every machine (pip install -r requirements.txt)")
    return None


def ship_code(client: Any, archive: tuple[str, bytes] | None = None) -> str:
    """Install this checkout's `core` package (or `archive`, as `code_archive` gives it) on the scheduler and every
    worker, present and future; returns the archive's name."""
    import cloudpickle

    from . import ship

    name, data = archive or code_archive()
    cloudpickle.register_pickle_by_value(ship)  # the machines cannot import `core` before they have it
    client.register_plugin(ship.SchedulerCode(name, data, PACKAGE), name=PLUGIN_NAME)
    client.register_plugin(ship.WorkerCode(name, data, PACKAGE), name=PLUGIN_NAME)
    return name


def check_cluster(client: Any, address: str, code: str) -> None:
    """ClusterError unless a worker is connected and every machine has the packages the runs need and runs the
    shipped code (archive name `code`)."""
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except (TimeoutError, OSError):
        raise ClusterError(f"no Dask worker is connected to the scheduler at {address} (waited {WORKER_WAIT_S} s); "
                           f"start one with `dask worker {address} --nthreads 1`") from None
    problem = mismatch(f"the Dask scheduler at {address}", client.run_on_scheduler(environment), SCHEDULER_PACKAGES)
    for worker, env in sorted(client.run(environment).items()):
        problem = problem or mismatch(f"Dask worker {worker}", env, WORKER_PACKAGES)
        if not problem and env.get("code") != code:  # e.g. another checkout's upload came between
            problem = (f"Dask worker {worker} runs other code ({env.get('code')}) than this checkout ({code}); "
                       "restart the workers, or wait for the other sweep to finish")
    if problem:
        raise ClusterError(problem)


@contextmanager
def connect(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A Dask client ready for sweep points, closed on exit (with the local cluster it started, if any).

    The given scheduler, else $OVERFIT_LAB_DASK: connected within 10 s, this checkout's code shipped to it,
    every machine checked (ClusterError in one line otherwise). Neither: a LocalCluster on this machine with
    one single-threaded worker per core (its workers import this checkout directly).
    """
    from dask.distributed import Client, LocalCluster
    from distributed.versions import VersionMismatchWarning

    address = scheduler or os.environ.get("OVERFIT_LAB_DASK")
    cluster = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VersionMismatchWarning)  # several lines; check_cluster says it in one
        if address:
            try:
                client = Client(address, timeout=f"{CONNECT_TIMEOUT_S}s")
            except (ValueError, TypeError) as exc:
                raise ClusterError(f"{address!r} is not a Dask scheduler address ({one_line(exc)}); expected e.g. "
                                   "tcp://HOST:8786, with --scheduler or OVERFIT_LAB_DASK") from None
            except (OSError, TimeoutError):
                raise ClusterError(f"no Dask scheduler answered at {address} within {CONNECT_TIMEOUT_S} s; start one "
                                   "with `dask scheduler`, or give its address with --scheduler or OVERFIT_LAB_DASK") from None
        else:
            with _plain_main():
                cluster = LocalCluster(n_workers=workers or max(1, os.cpu_count() or 1), threads_per_worker=1,
                                       processes=True, dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
    try:
        if address:
            try:
                check_cluster(client, address, ship_code(client))
            except ClusterError:
                raise
            except Exception as exc:  # an upload a machine refused, a connection lost while checking
                raise ClusterError(f"the Dask cluster at {address} could not take this checkout's code: "
                                   f"{one_line(exc)}") from None
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextmanager
def _plain_main():
    """Spawned worker processes re-run the `__main__` script. Inside Streamlit (or AppTest) that is the page that
    started the sweep, which must not run again in a worker: hide it while the workers start."""
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved
