"""The feature transform: fitted once in training, saved inside the model, reused by serving.

Because the fitted transform is the first step of the logged sklearn ``Pipeline``, serving and
batch scoring apply exactly what training applied; there is no second implementation to drift.
The transform accepts a DataFrame (columns picked by name, in ``FEATURES`` order) or a float
ndarray already in ``FEATURES`` order.
"""

from __future__ import annotations

__all__ = ["Log1pColumns", "SelectFeatures", "build_transform", "feature_matrix"]

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

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


class Log1pColumns(TransformerMixin, BaseEstimator):
    """Apply ``log1p`` to some columns of a float matrix, in place of a ``ColumnTransformer``.

    The model server calls the whole transform once per batch, often for a single row, so its
    fixed cost is the server's floor: a ``ColumnTransformer`` spends ~0.5 ms per call on
    bookkeeping, this plain numpy step a few microseconds. Columns keep their order.

    Args:
        columns: Indices of the columns to transform.
    """

    def __init__(self, columns: Sequence[int] = ()) -> None:
        self.columns = columns

    def fit(self, X: Any, y: Any = None) -> Log1pColumns:
        """Nothing to learn; checks the indices against the input width."""
        width = np.shape(X)[1]
        bad = [i for i in self.columns if not 0 <= i < width]
        if bad:
            raise ValueError(f"log1p column indices {bad} are outside 0..{width - 1}")
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return a copy of ``X`` with ``log1p`` applied to the chosen columns."""
        out = np.array(X, dtype="float64", copy=True)
        if self.columns:
            index = list(self.columns)
            out[:, index] = np.log1p(out[:, index])
        return out


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
