"""The stateless sklearn predict over arrays, and the `Predictions` every model call returns.

Why: online serving and batch scoring must give the same answer for the same row. Both call
`LoadedModel.predict`, which runs the compiled (ONNX) form when the model carries one and
otherwise `predict_arrays` on the estimator saved with the model (the fitted feature transform
and the estimator in one sklearn Pipeline); `compiled.check_parity` compares the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Classifiers whose `predict` is, by their implementation, the class of the largest probability:
# for them one `predict_proba` call gives both outputs (half the model time on small batches).
ARGMAX_EXACT = frozenset(
    {
        "LogisticRegression",
        "HistGradientBoostingClassifier",
        "GradientBoostingClassifier",
        "RandomForestClassifier",
        "ExtraTreesClassifier",
        "DecisionTreeClassifier",
    }
)


@dataclass(frozen=True, slots=True)
class Predictions:
    """Model outputs for N rows.

    Attributes:
        predict: shape [N], the estimator's `predict`.
        proba: shape [N, C] class probabilities for classifiers, else None.
        classes: the class labels matching proba's columns, else None.
    """

    predict: np.ndarray
    proba: np.ndarray | None
    classes: list[Any] | None


def predict_arrays(estimator: Any, features: np.ndarray) -> Predictions:
    """Predict for a float64 matrix [N, F] whose columns are in the model's feature order.

    The feature transform of a Pipeline runs once; `predict` and `predict_proba` then share it.

    Args:
        estimator: a fitted sklearn estimator or Pipeline.
        features: float64 array [N, F]; NaN stands for a missing value.

    Returns:
        Predictions for every row, in input order.
    """
    final = estimator
    transformed = features
    steps = getattr(estimator, "steps", None)
    if steps:
        final = steps[-1][1]
        for _, step in steps[:-1]:
            if step is not None and step != "passthrough":
                transformed = step.transform(transformed)
    if hasattr(final, "predict_proba"):
        proba = np.asarray(final.predict_proba(transformed), dtype=np.float64)
        classes = [c.item() if hasattr(c, "item") else c for c in final.classes_]
        if type(final).__name__ in ARGMAX_EXACT:
            predicted = np.asarray(final.classes_).take(proba.argmax(axis=1))
        else:
            predicted = np.asarray(final.predict(transformed))
        return Predictions(predict=predicted, proba=proba, classes=classes)
    return Predictions(predict=np.asarray(final.predict(transformed)), proba=None, classes=None)


__all__ = ["Predictions", "predict_arrays"]
