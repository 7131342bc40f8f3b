"""The numpy transform steps a project's feature pipeline is built from, with exact ONNX converters.

Why here: the compile step (``compiled.py``) carries a float64 converter for each, so a pipeline
built from them compiles exactly; a step of the project's own serves through scikit-learn.
Both accept a DataFrame or a float ndarray and keep column order.
"""

from __future__ import annotations

__all__ = ["Log1pColumns", "SelectFeatures"]

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin


class SelectFeatures(TransformerMixin, BaseEstimator):
    """Turn a DataFrame or ndarray into a float64 matrix in ``features`` order.

    Args:
        features: Column names, in model input order.
    """

    def __init__(self, features: Sequence[str] = ()) -> None:
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
