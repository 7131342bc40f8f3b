"""The baseline gate: a model must beat a trivial predictor on the test split to be promoted.

The majority class (or the mean) scores well on imbalanced data; ``evaluate.primary_metric``
must beat it by ``evaluate.min_gain_vs_baseline`` (absolute; relative for RMSE and MAE).
"""

from __future__ import annotations

__all__ = ["apply"]

from typing import TYPE_CHECKING, Any

import numpy as np
from mlplat_runtime.scoring import add_baseline_gate

if TYPE_CHECKING:
    from .config import ProjectConfig


def apply(
    config: ProjectConfig, report: dict[str, Any], trained: dict[str, Any], y_true: np.ndarray
) -> None:
    """Add the baseline gate and the tuned threshold to ``report`` (``trained``: train_run)."""
    add_baseline_gate(
        report,
        trained,
        y_true,
        problem_type=config.problem_type,
        metric=config.evaluate.primary_metric,
        margin=config.evaluate.min_gain_vs_baseline,
        objective=config.train.decision_threshold,
    )
