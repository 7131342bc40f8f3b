"""The estimator of each ``train.estimator`` choice; the config checks its params on load.

Its own module: the config and the train stage both need it, and the stages import the config.
"""

from __future__ import annotations

__all__ = ["check_params", "estimator_class"]

from typing import Any

from mlplat_runtime import scoring
from sklearn.base import BaseEstimator


def estimator_class(problem_type: str, estimator: str) -> type[BaseEstimator]:
    """The class behind ``train.estimator``; imports only its module (each config load calls it)."""
    chosen: type[BaseEstimator]
    if estimator == "linear":
        from sklearn.linear_model import LogisticRegression, Ridge

        chosen = LogisticRegression if problem_type == "classification" else Ridge
    else:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        classification = problem_type == "classification"
        chosen = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
    return chosen


def check_params(problem_type: str, estimator: str, params: dict[str, Any]) -> str | None:
    """What is wrong with ``params`` for the configured estimator, naming the key, or ``None``."""
    cls = estimator_class(problem_type, estimator)
    return scoring.check_params(cls, params, choice=f'train.estimator = "{estimator}"')
