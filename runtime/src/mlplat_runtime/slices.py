"""The slices of a sensitive column: shared by the fairness gate and by ``make contract``.

Why one place: ``make contract`` warns when a sensitive column's groups are too small for the gate,
so it must cut the column into the same groups the gate will evaluate.
"""

from __future__ import annotations

__all__ = ["groups"]

import pandas as pd

_MAX_CATEGORIES = 10


def groups(values: pd.Series) -> pd.Series:
    """Slice labels: the value itself, or its quartile interval for many-valued numbers and dates.

    A date column (one value per timestamp) would otherwise give a slice per row.
    """
    many = values.nunique() > _MAX_CATEGORIES
    if pd.api.types.is_datetime64_any_dtype(values) and many:
        binned = pd.qcut(values, 4, duplicates="drop")
        return binned.map(lambda i: f"[{i.left:%Y-%m-%d}, {i.right:%Y-%m-%d}]").astype(str)
    if pd.api.types.is_numeric_dtype(values) and many:
        binned = pd.qcut(values, 4, duplicates="drop")
        return binned.map(lambda i: f"[{i.left:g}, {i.right:g}]").astype(str)
    return values.astype(str)
