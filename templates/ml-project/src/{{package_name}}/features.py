"""The feature transform: fitted once in training, saved inside the model, reused by serving.

Because the fitted transform is the first step of the logged sklearn ``Pipeline``, serving and
batch scoring apply exactly what training applied; there is no second implementation to drift.
The transform accepts a DataFrame (columns picked by name, in ``FEATURES`` order) or a float
ndarray already in ``FEATURES`` order.
"""

from __future__ import annotations

__all__ = ["SelectFeatures", "build_transform", "feature_matrix"]

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from .contract import FEATURES


class SelectFeatures(TransformerMixin, BaseEstimator):
    """Turn a DataFrame or ndarray into a float64 matrix in ``features`` order.

    Args:
        features: Column names, in model input order.
    """

    def __init__(self, features: Sequence[str] = FEATURES) -> None:
        self.features = features

    def fit(self, X: Any, y: Any = None) -> SelectFeatures:
        """Nothing to learn; checks the input once so errors surface in training."""
        self.transform(X)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Pick the feature columns; reject input of the wrong width with a clear message."""
        if isinstance(X, pd.DataFrame):
            missing = [name for name in self.features if name not in X.columns]
            if missing:
                raise ValueError(f"input lacks feature column(s): {', '.join(missing)}")
            return X.loc[:, list(self.features)].to_numpy(dtype="float64")
        matrix = np.asarray(X, dtype="float64")
        if matrix.ndim != 2 or matrix.shape[1] != len(self.features):
            raise ValueError(
                f"expected shape [N, {len(self.features)}] in order {list(self.features)}, "
                f"got {matrix.shape}"
            )
        return matrix


def build_transform(log_columns: Sequence[str] = ()) -> Pipeline:
    """An unfitted transform: select, log1p the skewed columns, then standardise everything."""
    unknown = sorted(set(log_columns) - set(FEATURES))
    if unknown:
        raise ValueError(f"features.log_columns names non-features: {', '.join(unknown)}")
    log_idx = [FEATURES.index(name) for name in log_columns]
    shape = ColumnTransformer(
        [("log1p", FunctionTransformer(np.log1p, feature_names_out="one-to-one"), log_idx)],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    return Pipeline(
        [("select", SelectFeatures(FEATURES)), ("shape", shape), ("scale", StandardScaler())]
    )


def feature_matrix(df: pd.DataFrame) -> np.ndarray:
    """The model input of ``df``: float64 ``[N, len(FEATURES)]`` in ``FEATURES`` order."""
    return SelectFeatures(FEATURES).transform(df)
