"""Metrics overall and per slice, and the fairness gate over sensitive columns.

Numeric slice columns with many values are cut into quartiles, so every slice has enough rows to
mean something; groups smaller than ``min_group_size`` are reported but not gated. A sensitive
column with fewer than two groups of that size cannot be checked at all: it is "not evaluated",
which blocks promotion like a failed check (an unchecked column must not count as fair).
"""

from __future__ import annotations

__all__ = ["HIGHER_IS_BETTER", "fairness_gate", "groups", "per_slice", "score"]

from typing import Any

import numpy as np
import pandas as pd
from mlplat_runtime.slices import groups
from sklearn import metrics as skm

HIGHER_IS_BETTER = frozenset({"roc_auc", "accuracy", "f1", "r2", "recall", "precision"})


def score(
    problem_type: str, y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray | None = None
) -> dict[str, float]:
    """The standard metrics of ``problem_type`` for one set of predictions."""
    if problem_type == "regression":
        return {
            "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
            "mae": float(skm.mean_absolute_error(y_true, y_pred)),
            "r2": float(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
        }
    result = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "precision": float(skm.precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(skm.recall_score(y_true, y_pred, zero_division=0)),
        "f1": float(skm.f1_score(y_true, y_pred, zero_division=0)),
        "selection_rate": float(np.mean(y_pred)),
    }
    if y_score is not None and len(np.unique(y_true)) == 2:
        result["roc_auc"] = float(skm.roc_auc_score(y_true, y_score))
    return result


def per_slice(
    frame: pd.DataFrame,
    columns: tuple[str, ...],
    problem_type: str,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """``{column: {group: {"n": rows, metric: value, ...}}}`` for each slice column."""
    result: dict[str, dict[str, dict[str, float]]] = {}
    for column in columns:
        labels = groups(frame[column]).to_numpy()
        result[column] = {}
        for label in sorted(set(labels)):
            mask = labels == label
            scores = score(
                problem_type,
                y_true[mask],
                y_pred[mask],
                None if y_score is None else y_score[mask],
            )
            result[column][str(label)] = {"n": float(mask.sum()), **scores}
    return result


def fairness_gate(
    slices: dict[str, dict[str, dict[str, float]]],
    overall: dict[str, float],
    *,
    columns: tuple[str, ...],
    metric: str,
    max_gap: float,
    min_group_size: int,
) -> dict[str, Any]:
    """Compare ``metric`` across the groups of each sensitive column.

    For ``recall`` and ``selection_rate`` the gap is the largest absolute difference between two
    groups; for ``mae`` it is that difference divided by the overall MAE, so the threshold does not
    depend on the target's units. A column with fewer than two groups of ``min_group_size`` rows
    gets ``evaluated: False`` and ``gap: None``, and fails the gate with the reason.

    Returns:
        ``{"passed": bool, "reasons": [...], "columns": {column: details}}``.
    """
    report: dict[str, Any] = {"passed": True, "reasons": [], "columns": {}}
    for column in columns:
        by_group = slices[column]
        gated = {g: v[metric] for g, v in by_group.items() if v["n"] >= min_group_size}
        skipped = sorted(g for g, v in by_group.items() if v["n"] < min_group_size)
        details: dict[str, Any] = {
            "metric": metric,
            "by_group": gated,
            "max_gap": max_gap,
            "skipped_small_groups": skipped,
        }
        report["columns"][column] = details
        if len(gated) < 2:
            details.update(gap=None, passed=False, evaluated=False)
            report["passed"] = False
            report["reasons"].append(
                f"fairness: '{column}' not evaluated: {len(gated)} group(s) with at least "
                f"min_group_size={min_group_size} rows, 2 needed (smaller groups: "
                f"{', '.join(skipped) or 'none'}); get more rows per group or lower "
                "evaluate.fairness.min_group_size"
            )
            continue
        gap = max(gated.values()) - min(gated.values())
        if metric == "mae":
            gap /= max(overall["mae"], 1e-12)
        passed = gap <= max_gap
        details.update(gap=gap, passed=passed, evaluated=True)
        if not passed:
            worst = min(gated, key=gated.__getitem__)
            best = max(gated, key=gated.__getitem__)
            if metric == "mae":
                worst, best = best, worst
            report["passed"] = False
            report["reasons"].append(
                f"fairness: {metric} gap {gap:.3f} across '{column}' exceeds {max_gap:g} "
                f"({column}={worst}: {gated[worst]:.3f} vs {column}={best}: {gated[best]:.3f})"
            )
    return report
