"""Overfit Lab's engine: data, models, the one training loop, studies, the results store.

No Streamlit in here: the same code serves the dashboard, the CLI (`python -m core`),
notebooks and the tests. Names are imported on first use, so `python -m core studies`
starts without torch or pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {"Store": ".store", "STUDIES": ".studies", "RunResult": ".studies", "Study": ".studies",
         "get_study": ".studies", "run_study": ".studies"}

__all__ = ["STUDIES", "RunResult", "Store", "Study", "get_study", "run_study"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
