"""Scoring, the baseline gate, the parameter check and the split, through their public API."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression

from mlplat_runtime.scoring import (
    add_baseline_gate,
    baseline_reference,
    baseline_scores,
    check_params,
    score,
)
from mlplat_runtime.splits import assign, assign_stratified


def test_binary_scores_include_pr_auc_and_precision_recall() -> None:
    y = np.array([0, 0, 0, 1, 1])
    metrics = score(
        "classification", y, np.array([0, 0, 1, 1, 0]), np.array([0.1, 0.2, 0.7, 0.9, 0.4])
    )
    assert metrics["precision"] == 0.5 and metrics["recall"] == 0.5
    assert metrics["roc_auc"] == pytest.approx(5 / 6)
    assert 0 < metrics["pr_auc"] <= 1


def test_multiclass_scores_are_macro_with_per_class_entries() -> None:
    y = np.array(["a", "b", "c", "c"])
    proba = pd.DataFrame(
        [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2]], columns=list("abc")
    )
    metrics = score("classification", y, np.array(["a", "b", "c", "a"]), proba)
    assert metrics["recall.c"] == 0.5 and metrics["precision.a"] == 0.5
    assert metrics["recall"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert metrics["roc_auc"] == pytest.approx(np.mean([1.0, 1.0, 1.0]))


@pytest.mark.parametrize("problem_type", ["classification", "regression"])
def test_the_baseline_blocks_a_model_that_only_matches_it(problem_type: str) -> None:
    rng = np.random.default_rng(0)
    if problem_type == "classification":
        y = (rng.random(500) < 0.05).astype(int)
        metric, lazy, honest = "pr_auc", np.zeros(500), y.astype(float)
        lazy_pred, honest_pred = np.zeros(500, dtype=int), y
    else:
        y = rng.normal(10, 2, 500)
        metric, lazy, honest = "rmse", None, None
        lazy_pred, honest_pred = np.full(500, y.mean()), y + rng.normal(0, 0.1, 500)
    trained = {"baseline": baseline_reference(problem_type, y), "threshold": 0.3}
    for pred, proba, passes in ((lazy_pred, lazy, False), (honest_pred, honest, True)):
        report = {"passed": True, "reasons": [], "metrics": score(problem_type, y, pred, proba)}
        add_baseline_gate(
            report,
            trained,
            y,
            problem_type=problem_type,
            metric=metric,
            margin=0.05,
            objective="f1",
        )
        assert report["baseline"]["passed"] is passes and report["passed"] is passes
        assert report["threshold"] == {"value": 0.3, "objective": "f1"}
    base = baseline_scores(problem_type, baseline_reference(problem_type, y), y)
    assert metric in base


def test_params_are_checked_by_name_and_by_value() -> None:
    assert check_params(LogisticRegression, {"C": 2.0}, choice="linear") is None
    unknown = check_params(HistGradientBoostingRegressor, {"alpha": 1.0}, choice="gb")
    assert unknown is not None and unknown.startswith("alpha is not a parameter of")
    invalid = check_params(LogisticRegression, {"C": -1.0}, choice="linear")
    assert invalid is not None and "'C' parameter" in invalid


def test_split_is_stable_and_stratification_is_exact() -> None:
    keys = pd.Series([f"k{i}" for i in range(2000)])
    first = assign(keys, test_fraction=0.25, salt="s")
    assert (first == assign(keys.iloc[::-1], test_fraction=0.25, salt="s")[::-1]).all()
    labels = np.where(np.arange(2000) < 30, "rare", "common")
    strat = assign_stratified(keys, labels, test_fraction=0.25, salt="s")
    assert strat[labels == "rare"].sum() == round(30 * 0.25)


def test_a_row_s_split_never_changes_between_releases() -> None:
    """Pinned from the 0.5.0 runtime: a faster hash path must give every key the same split.

    A key given as text (str or object dtype, or a plain list) and as integers: each must land
    where it always did, or an update would move rows between a project's train and test sets.
    """
    text = [f"k{i}" for i in range(40)]
    expected_text = [1, 2, 7, 11, 12, 14, 20, 25, 29, 30, 32, 33, 35, 37, 39]
    for keys in (pd.Series(text), pd.Series(text, dtype=object), text):
        assert np.flatnonzero(assign(keys, test_fraction=0.3, salt="s")).tolist() == expected_text
    expected_ints = [3, 4, 5, 7, 14, 16, 19, 23, 25, 26, 29, 34, 39]
    ints = pd.Series(range(40))
    assert np.flatnonzero(assign(ints, test_fraction=0.3, salt="s")).tolist() == expected_ints
