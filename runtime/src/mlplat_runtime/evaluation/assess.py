"""The monitor's measurements: per model version, time window and slice of each sensitive column.

For every window (by prediction time, ``window_hours`` wide, aligned to the epoch) of every model
version: the predictions and how many have a label (coverage) and how late it came (median and
90th percentile hours); quality with intervals (:func:`~.stats.quality`); per slice of each
sensitive column the same, and the fairness gap (largest minus smallest value of the watched
metric over slices with at least ``min_labels`` labels, as the evaluate gate does with its
``min_group_size``); input drift per feature as the PSI against the training reference, computed
by the runtime's own :mod:`~mlplat_runtime.profile` (the same bins and formula the validate
stage and the server's drift gauge use); and, when records carry it, the share of requests
that broke the contract.

Slice values come from the inputs recorded with each prediction (``feature:<column>``) or, for a
sensitive column that is not a model input, from ``attributes`` (a table indexed by key). Slices
of a many-valued numeric column are its quartiles over all the records, so a slice means the same
rows in every window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from mlplat_runtime.profile import Profile, fractions, psi
from mlplat_runtime.slices import groups

from .join import join_labels
from .records import FEATURE_PREFIX
from .settings import MonitorSettings
from .stats import quality

SCHEMA = "mlplat.monitor/1"


def _hours(values: pd.Series) -> dict[str, float] | None:
    known = values.dropna().to_numpy(dtype="float64")
    if len(known) == 0:
        return None
    median, p90 = np.percentile(known, [50, 90])
    return {"median": round(float(median), 3), "p90": round(float(p90), 3)}


def _quality(
    rows: pd.DataFrame, problem_type: str, settings: MonitorSettings
) -> dict[str, dict[str, Any]]:
    labelled = rows[rows["label"].notna()]
    score = labelled["score"].to_numpy(dtype="float64")
    estimates = quality(
        problem_type,
        labelled["label"].to_numpy(),
        labelled["prediction"].to_numpy(),
        None if problem_type == "regression" or np.isnan(score).all() else score,
        confidence=settings.confidence,
        resamples=settings.resamples,
        seed=settings.seed,
    )
    return {name: e.as_dict() for name, e in estimates.items()}


def _drift(rows: pd.DataFrame, reference: Profile) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, spec in sorted(reference.items()):
        column = FEATURE_PREFIX + name
        if column not in rows.columns:
            continue
        values = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype="float64")
        if np.isnan(values).all():
            out[name] = None
            continue
        out[name] = round(psi(spec["fractions"], fractions(values, spec["edges"])), 6)
    return out


def _slices(
    rows: pd.DataFrame,
    columns: Sequence[str],
    problem_type: str,
    settings: MonitorSettings,
) -> tuple[dict[str, Any], dict[str, Any]]:
    slices: dict[str, Any] = {}
    fairness: dict[str, Any] = {}
    for column in columns:
        slices[column] = {}
        values: dict[str, float] = {}
        for group, part in rows.groupby("slice:" + column, sort=True, dropna=True):
            labelled = int(part["label"].notna().sum())
            measured = _quality(part, problem_type, settings)
            slices[column][str(group)] = {
                "predictions": len(part),
                "labelled": labelled,
                "quality": measured,
            }
            value = measured.get(settings.metric, {}).get("value")
            if labelled >= settings.min_labels and value is not None:
                values[str(group)] = value
        gap = max(values.values()) - min(values.values()) if len(values) >= 2 else None
        fairness[column] = {
            "metric": settings.metric,
            "gap": None if gap is None else round(gap, 6),
            "groups": sorted(values),
        }
    return slices, fairness


def _window(
    rows: pd.DataFrame,
    start: pd.Timestamp,
    *,
    problem_type: str,
    settings: MonitorSettings,
    sensitive: Sequence[str],
    reference: Profile | None,
) -> dict[str, Any]:
    violations = rows["contract_violations"].dropna()
    rows = rows[rows["prediction"].notna()]  # a rejected request has no prediction to judge
    keyed = rows["key"].notna()
    labelled = int(rows["label"].notna().sum())
    slices, fairness = _slices(rows, sensitive, problem_type, settings)
    return {
        "start": start.isoformat(),
        "end": (start + pd.Timedelta(hours=settings.window_hours)).isoformat(),
        "predictions": len(rows),
        "without_key": int((~keyed).sum()),
        "labelled": labelled,
        "coverage": round(labelled / int(keyed.sum()), 6) if keyed.any() else None,
        "delay_hours": _hours(rows.loc[rows["label"].notna(), "delay_hours"]),
        "quality": _quality(rows, problem_type, settings),
        "slices": slices,
        "fairness": fairness,
        "drift": {} if reference is None else _drift(rows, reference),
        "contract_violation_rate": (
            round(float((violations > 0).mean()), 6) if len(violations) else None
        ),
    }


def _slice_labels(
    frame: pd.DataFrame, sensitive: Sequence[str], attributes: pd.DataFrame | None
) -> pd.DataFrame:
    for column in sensitive:
        if FEATURE_PREFIX + column in frame.columns:
            values = frame[FEATURE_PREFIX + column]
        elif attributes is not None and column in attributes.columns:
            values = frame["key"].map(attributes[column])
        else:
            raise ValueError(
                f"sensitive column {column!r} is neither a recorded model input nor in the "
                "attributes table: pass attributes (indexed by key) that hold it"
            )
        known = values.notna()
        labels = pd.Series(pd.NA, index=frame.index, dtype=object)
        if known.any():
            labels[known] = groups(values[known]).to_numpy()
        frame["slice:" + column] = labels
    return frame


def assess(
    records: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    problem_type: str,
    settings: MonitorSettings,
    sensitive_columns: Sequence[str] = (),
    reference_profile: Profile | None = None,
    attributes: pd.DataFrame | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Measure every model version per window and slice; the report without its decision.

    Args:
        records: Prediction records (``read_records(...).frame``).
        labels: The label in force per key (``latest_labels(store)``).
        problem_type: ``"classification"`` or ``"regression"``.
        settings: Windows and interval settings.
        sensitive_columns: Columns to slice by (``data.sensitive_columns``).
        reference_profile: The training reference (the model's ``reference_profile``), for drift.
        attributes: Slice values by key for sensitive columns that are not model inputs.
        now: The report's time (tests pass one).

    Returns:
        The report (schema :data:`SCHEMA`): ``counts``, and per version ``windows`` (newest
        last), ``overall`` and whether the version is ``live`` (it answered in the newest window).
    """
    joined = join_labels(records, labels)
    keyless = records.loc[records["key"].isna()].copy()
    keyless["label"] = pd.Series(pd.NA, index=keyless.index, dtype=object)
    keyless["decided_at"] = pd.Series(pd.NaT, index=keyless.index, dtype="datetime64[ns, UTC]")
    keyless["delay_hours"] = float("nan")
    frame = pd.concat([joined.frame, keyless], ignore_index=True) if len(keyless) else joined.frame
    frame = _slice_labels(frame.copy(), sensitive_columns, attributes)
    width = f"{max(1, round(settings.window_hours * 60))}min"
    frame["window"] = frame["time"].dt.floor(width)
    newest = frame["window"].max() if len(frame) else None
    versions: dict[str, Any] = {}
    for version, rows in frame.groupby("model_version", sort=True):
        windows = [
            _window(
                part,
                pd.Timestamp(start),  # type: ignore[arg-type]  # a window start, a Timestamp
                problem_type=problem_type,
                settings=settings,
                sensitive=sensitive_columns,
                reference=reference_profile,
            )
            for start, part in rows.groupby("window", sort=True)
        ]
        overall = _window(
            rows,
            pd.Timestamp(rows["window"].min()),
            problem_type=problem_type,
            settings=settings,
            sensitive=sensitive_columns,
            reference=reference_profile,
        )
        overall.update(start=windows[0]["start"], end=windows[-1]["end"])
        versions[str(version)] = {
            "model_name": str(rows["model_name"].iloc[0]),
            "live": bool((rows["window"] == newest).any()),
            "overall": overall,
            "windows": windows,
        }
    return {
        "schema": SCHEMA,
        "generated_at": (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
        "problem_type": problem_type,
        "metric": settings.metric,
        "sensitive_columns": list(sensitive_columns),
        "settings": _settings(settings),
        "counts": {
            "predictions": int(records["prediction"].notna().sum()),
            "rejected_by_contract": int(records["prediction"].isna().sum()),
            "without_key": joined.without_key,
            "labelled": int((frame["label"].notna() & frame["prediction"].notna()).sum()),
            "labels": len(labels),
            "unmatched_labels": joined.unmatched_labels,
            "labels_before_prediction": joined.labels_before_prediction,
        },
        "versions": versions,
    }


def _settings(settings: MonitorSettings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in vars(settings).items():
        out[name] = None if isinstance(value, float) and math.isnan(value) else value
    return out


def reference_metrics(
    evaluation: Mapping[str, Any], metric: str
) -> tuple[float | None, dict[str, dict[str, float]]]:
    """``metric`` overall and per slice from an evaluate report (``evaluation.json``).

    Returns ``(None, {})`` parts where the report lacks the metric.
    """
    overall = evaluation.get("metrics", {}).get(metric)
    slices: dict[str, dict[str, float]] = {}
    for column, by_group in (evaluation.get("slices") or {}).items():
        found = {g: float(v[metric]) for g, v in by_group.items() if metric in v}
        if found:
            slices[str(column)] = found
    return (None if overall is None else float(overall)), slices


__all__ = ["SCHEMA", "assess", "reference_metrics"]
