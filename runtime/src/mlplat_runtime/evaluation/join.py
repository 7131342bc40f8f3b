"""Predictions joined to the label in force for their key.

Why a full join on every run rather than an incremental one: labels arrive late (days after the
prediction) and get corrected; joining the whole record history to the latest label per key each
time puts a late label in the window of its prediction and lets a correction replace the old
label everywhere, with no state to go stale. Windows are cut by prediction time, not label time.

A prediction without a key is counted, never joined. A key predicted by two model versions (a
canary, a rollout) joins to both rows, each kept under its own version. A label whose key no
recorded prediction has (sampled out, or not served by this model) is counted as unmatched.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .feedback import DECIDED_AT


@dataclass(frozen=True, kw_only=True)
class Joined:
    """The join's result.

    Attributes:
        frame: Predictions with a key, each with ``label`` (NA when none yet), ``decided_at``
            and ``delay_hours`` (label time minus prediction time).
        without_key: Predictions that had no key (counted, not joined).
        unmatched_labels: Labels whose key no recorded prediction has.
        labels_before_prediction: Joined labels decided before their prediction was made (a
            reused key, or a label known in advance: worth a look, kept in the join).
    """

    frame: pd.DataFrame
    without_key: int
    unmatched_labels: int
    labels_before_prediction: int


def join_labels(predictions: pd.DataFrame, labels: pd.DataFrame) -> Joined:
    """Join prediction records (:func:`read_records`) to labels (:func:`latest_labels`).

    ``labels`` must hold one row per key (the label in force); the predictions' ``key`` and the
    labels' ``key`` are both normalised text.
    """
    if labels["key"].duplicated().any():
        raise ValueError("labels must hold one row per key: pass latest_labels(store)")
    has_key = predictions["key"].notna()
    keyed = predictions.loc[has_key]
    wanted = labels[["key", "label", DECIDED_AT]]
    frame = keyed.merge(wanted, on="key", how="left", validate="many_to_one")
    delay = (frame[DECIDED_AT] - frame["time"]).dt.total_seconds() / 3600.0
    frame["delay_hours"] = delay.astype("float64")
    unmatched = int((~labels["key"].isin(set(keyed["key"]))).sum())
    return Joined(
        frame=frame,
        without_key=int((~has_key).sum()),
        unmatched_labels=unmatched,
        labels_before_prediction=int((delay < 0).sum()),
    )


__all__ = ["Joined", "join_labels"]
