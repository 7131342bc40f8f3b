"""Quality metrics with confidence intervals: a window of 12 labels must not look like a collapse.

The metrics are those of the project's evaluate stage (accuracy and ROC AUC for classifiers,
MAE and RMSE for regressors) plus calibration (Brier score and expected calibration error). Every
value comes with the number of labelled predictions behind it and an interval:

- a proportion (accuracy) gets the Wilson score interval, which stays inside [0, 1] and keeps its
  coverage for small counts, where the normal approximation collapses to a point;
- the other metrics get a percentile bootstrap with a fixed seed, so the same data always gives
  the same interval (reports diff cleanly and tests can assert it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

CLASSIFICATION = ("accuracy", "roc_auc", "brier", "ece")
REGRESSION = ("mae", "rmse")
HIGHER_IS_BETTER = frozenset({"accuracy", "roc_auc"})
_Metric = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True, kw_only=True)
class Estimate:
    """A metric on ``n`` labelled predictions with its confidence interval ``[low, high]``.

    ``value``, ``low`` and ``high`` are NaN when the metric is undefined (no labels; ROC AUC on
    one class).
    """

    value: float
    low: float
    high: float
    n: int

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-able, NaN written as ``None``."""
        return {
            "value": _clean(self.value),
            "low": _clean(self.low),
            "high": _clean(self.high),
            "n": self.n,
        }


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)


def wilson(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``successes / n`` (NaN, NaN for ``n == 0``)."""
    if n == 0:
        return float("nan"), float("nan")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap(
    metric: _Metric,
    y_true: np.ndarray,
    y_other: np.ndarray,
    *,
    confidence: float = 0.95,
    resamples: int = 400,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(y_true, y_other)``; fixed ``seed``.

    Resamples on which the metric is undefined (ROC AUC of a single class) are left out; with
    fewer than ten defined resamples the interval is NaN.
    """
    n = len(y_true)
    if n == 0:
        return float("nan"), float("nan")
    indices = np.random.default_rng(seed).integers(0, n, (resamples, n))
    values = []
    for index in indices:
        value = metric(y_true[index], y_other[index])
        if not math.isnan(value):
            values.append(value)
    if len(values) < 10:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC (Mann-Whitney, ties counted half), NaN unless both classes are present.

    Equal to ``sklearn.metrics.roc_auc_score``; written on ranks because the bootstrap calls it
    hundreds of times per window and slice, where sklearn's input checks dominate.
    """
    positive = _positive(y_true).astype(bool)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = (ends - (counts - 1) / 2.0)[inverse]  # 1-based, ties get their average rank
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def brier(y_true: np.ndarray, score: np.ndarray) -> float:
    """Brier score: mean squared error of the positive-class probability (lower is better)."""
    positive = _positive(y_true)
    return float(np.mean((score - positive) ** 2)) if len(y_true) else float("nan")


def ece(y_true: np.ndarray, score: np.ndarray, *, bins: int = 10) -> float:
    """Expected calibration error over ``bins`` equal-width probability bins (lower is better)."""
    if len(y_true) == 0:
        return float("nan")
    positive = _positive(y_true)
    which = np.clip((score * bins).astype(int), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    gap = np.abs(
        np.bincount(which, weights=positive, minlength=bins)
        - np.bincount(which, weights=score, minlength=bins)
    )
    return float(gap.sum() / len(y_true)) if counts.sum() else float("nan")


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(y_true - y_pred))) if len(y_true) else float("nan")


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2))) if len(y_true) else float("nan")


def _positive(y_true: np.ndarray, classes: np.ndarray | None = None) -> np.ndarray:
    """1.0 for the positive class: the greater of the two ``classes``, as sklearn orders them.

    ``classes`` defaults to the labels present; pass the labels and predictions together so a
    slice holding one class still knows which one it is.
    """
    y = np.asarray(y_true)
    if y.dtype.kind in "biuf" and bool(((y == 0) | (y == 1)).all()):
        return y.astype("float64")  # already 0/1: no sort (the bootstrap's hot path)
    if classes is None:
        classes = np.unique(y)
    return np.asarray(y == classes[-1], dtype="float64")


def quality(
    problem_type: str,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    score: np.ndarray | None = None,
    *,
    confidence: float = 0.95,
    resamples: int = 400,
    seed: int = 0,
) -> dict[str, Estimate]:
    """Every metric of ``problem_type`` with its interval, on aligned labelled predictions.

    Args:
        problem_type: ``"classification"`` or ``"regression"``.
        y_true: The labels.
        y_pred: The predictions.
        score: Positive-class probabilities (binary classification); ROC AUC and calibration
            are left out without them, or where they are NaN.
        confidence: Interval coverage.
        resamples: Bootstrap resamples.
        seed: Bootstrap seed.
    """
    n = len(y_true)
    out: dict[str, Estimate] = {}
    if problem_type == "regression":
        t, p = np.asarray(y_true, dtype="float64"), np.asarray(y_pred, dtype="float64")
        errors: tuple[tuple[str, _Metric], ...] = (("mae", mae), ("rmse", rmse))
        for name, fn in errors:
            low, high = bootstrap(fn, t, p, confidence=confidence, resamples=resamples, seed=seed)
            out[name] = Estimate(value=fn(t, p), low=low, high=high, n=n)
        return out
    hits = int(np.sum(np.asarray(y_true) == np.asarray(y_pred)))
    low, high = wilson(hits, n, confidence=confidence)
    out["accuracy"] = Estimate(value=hits / n if n else float("nan"), low=low, high=high, n=n)
    if score is not None:
        s = np.asarray(score, dtype="float64")
        known = ~np.isnan(s)
        labels = np.asarray(y_true)
        classes = np.unique(np.concatenate([labels, np.asarray(y_pred)]))
        t, s = _positive(labels, classes)[known], s[known]
        scored: tuple[tuple[str, _Metric], ...] = (
            ("roc_auc", roc_auc),
            ("brier", brier),
            ("ece", ece),
        )
        for name, fn in scored:
            low, high = bootstrap(fn, t, s, confidence=confidence, resamples=resamples, seed=seed)
            out[name] = Estimate(value=fn(t, s), low=low, high=high, n=len(t))
    return out


__all__ = [
    "CLASSIFICATION",
    "HIGHER_IS_BETTER",
    "REGRESSION",
    "Estimate",
    "bootstrap",
    "brier",
    "ece",
    "mae",
    "quality",
    "rmse",
    "roc_auc",
    "wilson",
]
