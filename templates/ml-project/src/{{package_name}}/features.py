"""The feature transform: fitted once in training, saved inside the model, reused by serving.

Because the fitted transform is the first step of the logged sklearn ``Pipeline``, serving and
batch scoring apply exactly what training applied; there is no second implementation to drift.
The transform accepts a DataFrame (columns picked by name, in ``FEATURES`` order) or a float
ndarray already in ``FEATURES`` order (what the model server passes: text features as category
codes, dates as seconds since 1970; ``mlplat_runtime.encoding`` says how). Text features are
one-hot encoded and dates split into the parts ``contract.py`` names, inside this one transform.
"""

from __future__ import annotations

__all__ = [
    "ExpandColumns",
    "FillMissing",
    "Log1pColumns",
    "SelectFeatures",
    "build_transform",
    "feature_matrix",
]

from collections.abc import Sequence

import numpy as np
import pandas as pd
from mlplat_runtime.transforms import ExpandColumns, FillMissing, Log1pColumns, SelectFeatures
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .contract import CONTRACT, FEATURES


def build_transform(log_columns: Sequence[str] = (), *, fill_missing: bool = True) -> Pipeline:
    """An unfitted transform: select, log1p, encode text and dates, standardise, fill missing.

    ``fill_missing``: NaN becomes the training mean (0 after scaling); trees take NaN as it is.
    """
    unknown = sorted(set(log_columns) - set(CONTRACT.numeric_features))
    if unknown:
        raise ValueError(
            f"features.log_columns names non-features: {', '.join(unknown)} (log1p takes numeric "
            "features only)"
        )
    log_idx = [FEATURES.index(name) for name in log_columns]
    text, dates = CONTRACT.text_features, CONTRACT.date_features
    steps: list[tuple[str, object]] = [
        ("select", SelectFeatures(FEATURES, text=text or None, dates=tuple(dates))),
        ("log1p", Log1pColumns(log_idx)),
    ]
    if text or dates:
        expand = ExpandColumns(
            text=[FEATURES.index(name) for name in text],
            dates={FEATURES.index(name): parts for name, parts in dates.items()},
        )
        steps.append(("expand", expand))
    steps.append(("scale", StandardScaler()))
    if fill_missing:
        steps.append(("fill", FillMissing(0.0)))
    return Pipeline(steps)


def feature_matrix(df: pd.DataFrame, transform: Pipeline | None = None) -> np.ndarray:
    """The model input of ``df``: float64 ``[N, len(FEATURES)]`` in ``FEATURES`` order.

    With text features, ``transform`` must be the fitted one: its ``select`` step holds the
    vocabularies the category codes index.
    """
    if transform is not None:
        select: SelectFeatures = transform.named_steps["select"]
        return select.transform(df)
    if CONTRACT.text_features:
        raise ValueError("feature_matrix: text features need the fitted transform")
    return SelectFeatures(FEATURES, dates=tuple(CONTRACT.date_features)).transform(df)
