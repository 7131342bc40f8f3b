"""The numpy transform steps a project's feature pipeline is built from, with exact ONNX converters.

Why here: the compile step (``compiled.py``) carries a float64 converter for each, so a pipeline
built from them compiles exactly; a step of the project's own serves through scikit-learn.
Each accepts the float matrix of the step before; ``SelectFeatures`` also a DataFrame.
"""

from __future__ import annotations

__all__ = ["ExpandColumns", "FillMissing", "Log1pColumns", "SelectFeatures"]

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from .encoding import (
    DATE_PARTS,
    OTHER,
    date_parts,
    epoch_seconds,
    learn_vocabulary,
    number_column,
    text_codes,
)


class SelectFeatures(TransformerMixin, BaseEstimator):
    """Turn a DataFrame or ndarray into the model's float64 matrix in ``features`` order.

    Numeric features pass as numbers. Text features (``text``) become category codes and date
    features (``dates``) seconds since 1970 (``encoding.py`` says how); ``ExpandColumns`` then
    turns those into one-hot columns and date parts. A float ndarray is taken as that matrix
    already (what the model server passes); a DataFrame or an object ndarray holds raw values.

    Args:
        features: Column names, in model input order.
        text: Text features and, per feature, how many of its most frequent training values get
            a column of their own (``None``: all of them; the rest share "other").
        dates: Date features.
    """

    def __init__(
        self,
        features: Sequence[str] = (),
        text: Mapping[str, int | None] | None = None,
        dates: Sequence[str] = (),
    ) -> None:
        self.features = features
        self.text = text
        self.dates = dates

    @property
    def typed(self) -> bool:
        """Whether any feature is text or a date (the input then needs ``encode``)."""
        return bool(self.text) or bool(self.dates)

    def fit(self, X: Any, y: Any = None) -> SelectFeatures:
        """Learn each text feature's vocabulary; check the input once so errors surface here."""
        unknown = sorted((set(self.text or {}) | set(self.dates)) - set(self.features))
        if unknown:
            raise ValueError(f"text or date columns that are not features: {', '.join(unknown)}")
        self.vocabularies_: dict[str, tuple[str, ...]] = {}
        for name, limit in (self.text or {}).items():
            column = X[name] if isinstance(X, pd.DataFrame) else pd.Series(self._column(X, name))
            self.vocabularies_[name] = learn_vocabulary(column, limit)
        self.codes_ = {n: {v: i for i, v in enumerate(vs)} for n, vs in self.vocabularies_.items()}
        self.transform(X)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted once the vocabularies are learnt (at once when there is no text feature)."""
        return not self.text or hasattr(self, "vocabularies_")

    def _column(self, X: Any, name: str) -> Any:
        return np.asarray(X, dtype=object)[:, list(self.features).index(name)]

    def encode(self, X: Any) -> np.ndarray:
        """Raw values (a DataFrame, or an object ``[N, F]`` array in feature order) as numbers.

        Raises:
            ValueError: A numeric cell is not a number, or a date is not ISO 8601 (the message
                names the column).
        """
        frame = isinstance(X, pd.DataFrame)
        cells = X if frame else np.asarray(X, dtype=object)
        if not frame and (cells.ndim != 2 or cells.shape[1] != len(self.features)):
            raise ValueError(
                f"expected shape [N, {len(self.features)}] in order {list(self.features)}, "
                f"got {cells.shape}"
            )
        lookup: dict[str, dict[str, int]] = getattr(self, "codes_", {})
        dates = set(self.dates)
        columns = []
        for j, name in enumerate(self.features):
            values = X[name] if frame else cells[:, j]
            if name in lookup:
                columns.append(text_codes(values, lookup[name]))
            elif name in dates:
                columns.append(epoch_seconds(values, name=name))
            elif frame:
                numbers = pd.Series(pd.to_numeric(values, errors="raise"))
                columns.append(numbers.astype("float64").to_numpy())
            else:
                columns.append(number_column(values.tolist(), name=name))
        return np.column_stack(columns) if columns else np.empty((len(cells), 0))

    def transform(self, X: Any) -> np.ndarray:
        """Pick the feature columns; reject input of the wrong width with a clear message."""
        if isinstance(X, pd.DataFrame):
            missing = [name for name in self.features if name not in X.columns]
            if missing:
                raise ValueError(f"input lacks feature column(s): {', '.join(missing)}")
            if self.typed:
                return self.encode(X)
            return X.loc[:, list(self.features)].to_numpy(dtype="float64")
        if self.typed and isinstance(X, np.ndarray) and X.dtype.kind == "O":
            return self.encode(X)
        matrix = np.asarray(X, dtype="float64")
        if matrix.ndim != 2 or matrix.shape[1] != len(self.features):
            raise ValueError(
                f"expected shape [N, {len(self.features)}] in order {list(self.features)}, "
                f"got {matrix.shape}"
            )
        return matrix


class ExpandColumns(TransformerMixin, BaseEstimator):
    """Category codes to one-hot columns, and dates (seconds) to the parts the contract names.

    Each text column becomes one 0/1 column per vocabulary entry, one for "other" (rare or
    unseen values) and one for "missing"; each date column its parts (NaN when the date is
    missing; ``FillMissing`` or the trees handle those). Other columns pass unchanged, in order.

    The vocabulary size is learnt as the largest code in training plus one: ``SelectFeatures``
    learns the vocabulary from the same rows, so every code of it occurs there.

    Args:
        text: Indices of the text (code) columns.
        dates: Index of each date column and its parts.
    """

    def __init__(
        self, text: Sequence[int] = (), dates: Mapping[int, Sequence[str]] | None = None
    ) -> None:
        self.text = text
        self.dates = dates

    def fit(self, X: Any, y: Any = None) -> ExpandColumns:
        """Learn each text column's number of categories."""
        matrix = np.asarray(X, dtype="float64")
        for j, parts in (self.dates or {}).items():
            bad = sorted(set(parts) - set(DATE_PARTS))
            if bad or not parts:
                raise ValueError(
                    f"date parts {bad or '()'} of column {j}: choose from {DATE_PARTS}"
                )
        self.sizes_ = {
            j: int(np.nanmax(matrix[:, j], initial=OTHER)) + 1 if len(matrix) else 0
            for j in self.text
        }
        self.n_features_in_ = matrix.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The expanded matrix (see the class docstring)."""
        matrix = np.asarray(X, dtype="float64")
        dates = self.dates or {}
        blocks: list[np.ndarray] = []
        for j in range(matrix.shape[1]):
            column = matrix[:, j]
            if j in self.sizes_:
                size = self.sizes_[j]
                codes = np.where(np.isnan(column), size + 1, np.where(column < 0, size, column))
                codes = np.clip(codes, 0, size + 1).astype("int64")
                block = np.zeros((len(column), size + 2))
                block[np.arange(len(column)), codes] = 1.0
                blocks.append(block)
            elif j in dates:
                blocks.append(date_parts(column, dates[j]))
            else:
                blocks.append(column[:, None])
        return np.hstack(blocks) if blocks else matrix


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
