"""The feature transform: fitted once in training, saved inside the model, reused by serving.

Because the fitted transform is the first step of the logged sklearn ``Pipeline``, serving and
batch scoring apply exactly what training applied; there is no second implementation to drift.
The transform accepts a DataFrame (columns picked by name, in ``FEATURES`` order) or a float
ndarray already in ``FEATURES`` order.
"""

from __future__ import annotations

__all__ = ["FillMissing", "Log1pColumns", "SelectFeatures", "build_transform", "feature_matrix"]

from collections.abc import Sequence

import numpy as np
import pandas as pd
from mlplat_runtime.transforms import FillMissing, Log1pColumns, SelectFeatures
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .contract import FEATURES


def build_transform(log_columns: Sequence[str] = (), *, fill_missing: bool = True) -> Pipeline:
    """An unfitted transform: select, log1p the skewed columns, standardise, fill missing values.

    ``fill_missing``: NaN becomes the training mean (0 after scaling); trees take NaN as it is.
    """
    unknown = sorted(set(log_columns) - set(FEATURES))
    if unknown:
        raise ValueError(f"features.log_columns names non-features: {', '.join(unknown)}")
    log_idx = [FEATURES.index(name) for name in log_columns]
    steps: list[tuple[str, object]] = [
        ("select", SelectFeatures(FEATURES)),
        ("log1p", Log1pColumns(log_idx)),
        ("scale", StandardScaler()),
    ]
    if fill_missing:
        steps.append(("fill", FillMissing(0.0)))
    return Pipeline(steps)


def feature_matrix(df: pd.DataFrame) -> np.ndarray:
    """The model input of ``df``: float64 ``[N, len(FEATURES)]`` in ``FEATURES`` order."""
    return SelectFeatures(FEATURES).transform(df)
