"""The estimator behind each ``train.estimator`` choice, and the check of its parameters.

Why its own module: the config validates ``train.params`` against the estimator when it loads,
and the train stage builds the estimator; both need this table, and neither may import the
other (the stages import the config). A new choice adds one line here.
"""

from __future__ import annotations

__all__ = ["check_params", "estimator_class"]

from typing import Any

from mlplat_runtime import scoring
from sklearn.base import BaseEstimator


def estimator_class(problem_type: str, estimator: str) -> type[BaseEstimator]:
    """The scikit-learn class behind ``train.estimator`` for ``problem_type``."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge

    choices: dict[tuple[str, str], type[BaseEstimator]] = {
        ("classification", "linear"): LogisticRegression,
        ("classification", "gradient_boosting"): HistGradientBoostingClassifier,
        ("regression", "linear"): Ridge,
        ("regression", "gradient_boosting"): HistGradientBoostingRegressor,
    }
    return choices[(problem_type, estimator)]


def check_params(problem_type: str, estimator: str, params: dict[str, Any]) -> str | None:
    """What is wrong with ``params`` for the configured estimator, naming the key, or ``None``."""
    cls = estimator_class(problem_type, estimator)
    return scoring.check_params(cls, params, choice=f'train.estimator = "{estimator}"')
