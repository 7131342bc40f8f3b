"""The feature transform: fitted once in training, saved inside the model, reused by serving.

Because the fitted transform is the first step of the logged sklearn ``Pipeline``, serving and
batch scoring apply exactly what training applied; there is no second implementation to drift.
The transform accepts a DataFrame (columns picked by name, in ``FEATURES`` order) or a float
ndarray already in ``FEATURES`` order.
"""

from __future__ import annotations

__all__ = ["Log1pColumns", "SelectFeatures", "build_transform", "feature_matrix"]

from collections.abc import Sequence

import numpy as np
import pandas as pd
from mlplat_runtime.transforms import Log1pColumns, SelectFeatures
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .contract import FEATURES


def build_transform(log_columns: Sequence[str] = ()) -> Pipeline:
    """An unfitted transform: select, log1p the skewed columns, then standardise everything."""
    unknown = sorted(set(log_columns) - set(FEATURES))
    if unknown:
        raise ValueError(f"features.log_columns names non-features: {', '.join(unknown)}")
    log_idx = [FEATURES.index(name) for name in log_columns]
    return Pipeline(
        [
            ("select", SelectFeatures(FEATURES)),
            ("log1p", Log1pColumns(log_idx)),
            ("scale", StandardScaler()),
        ]
    )


def feature_matrix(df: pd.DataFrame) -> np.ndarray:
    """The model input of ``df``: float64 ``[N, len(FEATURES)]`` in ``FEATURES`` order."""
    return SelectFeatures(FEATURES).transform(df)
