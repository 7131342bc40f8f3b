"""Folding a fitted transform into gradient-boosted trees: exact, and quiet."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlplat_runtime._onnx_converters import fold_transform_into_trees


def test_a_scaled_model_folds_without_warnings_and_predicts_the_same() -> None:
    """The threshold search evaluates the scaler at the largest doubles (overflow to inf)."""
    rng = np.random.default_rng(0)
    X = rng.normal(scale=0.01, size=(2000, 3))  # a small scale: huge inputs overflow
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.001, size=2000)
    model = Pipeline(
        [("scale", StandardScaler()), ("trees", HistGradientBoostingRegressor(max_iter=20))]
    ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folded = fold_transform_into_trees(model, n_features=3)
    assert folded is not None
    np.testing.assert_array_equal(folded.predict(X), model.predict(X))
