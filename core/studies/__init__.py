"""The study registry: every study by id, in the order of the study guide."""

from __future__ import annotations

from . import (
    augmentation,
    bias_variance,
    capacity,
    classification,
    double_descent,
    dropout,
    early_stopping,
    learning_curve,
    linear_regression,
    memorisation,
    multivariate_regression,
    polynomial,
    weight_decay,
)
from .base import (
    DefaultSweep,
    Report,
    RunResult,
    Study,
    check_run,
    config_dict,
    run_study,
)

STUDIES: dict[str, Study] = {
    m.STUDY.id: m.STUDY
    for m in (
        linear_regression,
        multivariate_regression,
        polynomial,
        weight_decay,
        classification,
        dropout,
        early_stopping,
        augmentation,
        capacity,
        learning_curve,
        double_descent,
        memorisation,
        bias_variance,
    )
}


def get_study(study_id: str) -> Study:
    """The study with this id, or ValueError listing the known ones."""
    try:
        return STUDIES[study_id]
    except KeyError:
        raise ValueError(f"unknown study {study_id!r}; expected one of {', '.join(STUDIES)}") from None


__all__ = ["STUDIES", "DefaultSweep", "Report", "RunResult", "Study", "check_run", "config_dict", "get_study", "run_study"]
