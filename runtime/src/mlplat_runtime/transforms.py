"""The numpy transform steps a project's feature pipeline is built from, with exact ONNX converters.

Why here: the compile step (``compiled.py``) carries a float64 converter for each, so a pipeline
built from them compiles exactly; a step of the project's own serves through scikit-learn.
Both accept a DataFrame or a float ndarray and keep column order.
"""

from __future__ import annotations

__all__ = ["FillMissing", "Log1pColumns", "SelectFeatures"]

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


class FillMissing(TransformerMixin, BaseEstimator):
    """Replace NaN (a missing value) with a constant, for estimators that cannot take NaN.

    Placed after the scaler, the constant 0.0 is each column's training mean: mean imputation
    learnt on the training split only, inside the one transform training and serving share.
    Trees (gradient boosting) learn a side for missing values themselves and go without it.

    Args:
        value: What a missing value becomes.
    """

    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def fit(self, X: Any, y: Any = None) -> FillMissing:
        """Nothing to learn."""
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """Always fitted (nothing to learn): a Pipeline ending in it counts as fitted."""
        return True

    def transform(self, X: Any) -> np.ndarray:
        """A copy of ``X`` with every NaN replaced by ``value``."""
        out = np.array(X, dtype="float64", copy=True)
        out[np.isnan(out)] = self.value
        return out
