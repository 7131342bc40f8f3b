"""Stage 4, features: fit the transform on the training split only, and save it.

Fitting on training rows alone keeps test statistics out of the scaler (no leakage). The train
stage puts this fitted object, unchanged, in front of the estimator in the logged model.
"""

from __future__ import annotations

__all__ = ["run"]

from typing import Any

import joblib
from mlplat_runtime.frames import read_frame

from ..context import RunContext
from ..features import build_transform

# Estimators that take NaN themselves (a learnt side per split); the others get FillMissing.
NAN_AWARE = frozenset({"gradient_boosting"})


def run(ctx: RunContext) -> dict[str, Any]:
    """Fit the feature transform on ``train_set`` and write ``transform``.

    The file holds ``{"transform": fitted, "data_hash": snapshot hash}``: the hash lets ``train``
    refuse a transform fitted on another snapshot.
    """
    train = read_frame(ctx.require("train_set"))
    fill = ctx.config.train.estimator not in NAN_AWARE
    transform = build_transform(ctx.config.features.log_columns, fill_missing=fill).fit(train)
    joblib.dump(
        {"transform": transform, "data_hash": train.attrs.get("data_hash")}, ctx.path("transform")
    )
    return {"features": len(transform.named_steps["select"].features), "rows": len(train)}
