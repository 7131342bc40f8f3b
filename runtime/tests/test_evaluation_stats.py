"""Metrics and intervals: Wilson for proportions, a seeded bootstrap for the rest."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from mlplat_runtime.evaluation import quality, wilson
from mlplat_runtime.evaluation.stats import bootstrap, ece, roc_auc

RNG = np.random.default_rng(3)


def test_wilson_matches_the_textbook_values() -> None:
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(10, 10)[1] == 1.0
    assert all(math.isnan(v) for v in wilson(0, 0))


def test_roc_auc_on_ranks_equals_sklearn_with_ties() -> None:
    y = RNG.integers(0, 2, 300)
    score = np.round(RNG.random(300) * 0.5 + y * 0.3, 1)  # coarse: many ties
    assert roc_auc(y, score) == pytest.approx(skm.roc_auc_score(y, score))
    assert math.isnan(roc_auc(np.ones(5), RNG.random(5)))


def test_ece_is_zero_when_calibrated_and_large_when_not() -> None:
    y = np.array([0, 1] * 50)
    assert ece(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert ece(y, np.where(y == 1, 0.1, 0.9)) == pytest.approx(0.9)


def test_the_bootstrap_is_seeded() -> None:
    y = RNG.integers(0, 2, 80)
    s = RNG.random(80)
    assert bootstrap(roc_auc, y, s, seed=1) == bootstrap(roc_auc, y, s, seed=1)
    assert bootstrap(roc_auc, y, s, seed=1) != bootstrap(roc_auc, y, s, seed=2)


def test_twelve_labels_give_a_wide_interval_and_a_thousand_a_narrow_one() -> None:
    def interval(n: int) -> float:
        y = RNG.integers(0, 2, n)
        s = np.clip(y * 0.3 + RNG.random(n) * 0.7, 0, 1)  # overlapping classes
        estimate = quality("classification", y, (s > 0.5).astype(int), s)["roc_auc"]
        assert estimate.low <= estimate.value <= estimate.high and estimate.n == n
        return estimate.high - estimate.low

    assert interval(12) > 0.15 > 0.05 > interval(1000)


def test_regression_metrics_come_with_intervals() -> None:
    y = RNG.normal(size=200)
    pred = y + RNG.normal(scale=0.5, size=200)
    q = quality("regression", y, pred)
    assert set(q) == {"mae", "rmse"}
    assert q["mae"].value == pytest.approx(skm.mean_absolute_error(y, pred))
    assert q["rmse"].low < q["rmse"].value < q["rmse"].high


def test_no_labels_give_undefined_metrics_not_errors() -> None:
    q = quality("classification", np.array([]), np.array([]), np.array([]))
    assert q["accuracy"].as_dict() == {"value": None, "low": None, "high": None, "n": 0}
