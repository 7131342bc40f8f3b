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
from mlplat_runtime.scoring import HIGHER_IS_BETTER, score
from mlplat_runtime.slices import groups


def per_slice(
    frame: pd.DataFrame,
    columns: tuple[str, ...],
    problem_type: str,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_score: Any = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """``{column: {group: {"n": rows, metric: value, ...}}}`` for each slice column.

    Groups come in their natural order (numeric bins by value, not as text).
    """
    result: dict[str, dict[str, dict[str, float]]] = {}
    for column in columns:
        labels = groups(frame[column]).to_numpy()
        result[column] = {}
        for label in _in_order(frame[column], labels):
            mask = labels == label
            scores = score(
                problem_type,
                y_true[mask],
                y_pred[mask],
                None if y_score is None else y_score[mask],
            )
            result[column][str(label)] = {"n": float(mask.sum()), **scores}
    return result


def _in_order(values: pd.Series, labels: np.ndarray) -> list[Any]:
    """Group labels sorted by their values: numeric bins by number, not as text."""
    if pd.api.types.is_numeric_dtype(values):
        lowest = pd.Series(values.to_numpy()).groupby(labels).min().sort_values()
        return list(lowest.index)
    return sorted(set(labels))


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
