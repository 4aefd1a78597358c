"""What a Dask scheduler or worker runs to take this checkout's code: the plugins `core.cluster.ship_code` registers.

A machine that has never seen the project cannot import `core` to unpickle a plugin, so this module is pickled
by value (cloudpickle's `register_pickle_by_value`): the plugins arrive with their code, which needs only the
standard library and `distributed`. Installing puts the archive first on `sys.path`, drops any other archive of
this project from it and forgets the `core` modules already imported, so the next task imports the shipped
code, whatever this process ran before (another checkout's code, an older version of this one).
"""

from __future__ import annotations

import importlib
import os
import sys

from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin

PREFIX = "overfit_lab_"  # the archives' file names: overfit_lab_<digest>.zip


def install(folder: str, name: str, data: bytes, package: str) -> None:
    """Write the archive into `folder` (once) and make it the code this process imports as `package`."""
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        with open(path + ".part", "wb") as f:
            f.write(data)
        os.replace(path + ".part", path)  # a reader never sees half a zip
    sys.path[:] = [path] + [p for p in sys.path if not os.path.basename(p).startswith(PREFIX)]
    for module in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[module]
    importlib.invalidate_caches()


class WorkerCode(WorkerPlugin):
    """Installs the archive on every worker, now and when one joins or restarts later."""

    def __init__(self, name: str, data: bytes, package: str):
        self.archive, self.data, self.package = name, data, package

    def setup(self, worker) -> None:
        install(worker.local_directory, self.archive, self.data, self.package)


class SchedulerCode(SchedulerPlugin):
    """Installs the archive on the scheduler, which imports the functions the task graph names."""

    def __init__(self, name: str, data: bytes, package: str):
        self.archive, self.data, self.package = name, data, package

    async def start(self, scheduler) -> None:
        install(scheduler.local_directory, self.archive, self.data, self.package)
