"""Overfit Lab's engine: data, models, the one training loop, studies, the results store.

No Streamlit in here: the same code serves the dashboard, the CLI (`python -m core`),
notebooks and the tests.
"""

from .store import Store
from .studies import STUDIES, RunResult, Study, get_study, run_study

__all__ = ["STUDIES", "RunResult", "Store", "Study", "get_study", "run_study"]
