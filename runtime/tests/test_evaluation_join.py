"""The join: late labels, corrections, predictions without a key, two versions live at once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from mlplat_runtime.evaluation import (
    MonitorSettings,
    PredictionRecord,
    assess,
    ingest_feedback,
    join_labels,
    latest_labels,
    records_frame,
)
from mlplat_runtime.rules import Column, Contract

CONTRACT = Contract(
    (
        Column(name="id", dtype="int", role="key", unique=True),
        Column(name="x", dtype="float", role="feature"),
        Column(name="target", dtype="int", role="target", allowed=(0, 1)),
    )
)
T0 = datetime(2027, 1, 1, tzinfo=UTC).timestamp()
HOUR = 3600.0


def prediction(
    key: int | None, t_hours: float, version: str = "1", pred: int = 1
) -> PredictionRecord:
    return PredictionRecord(
        request_id=None,
        key=None if key is None else str(key),
        model_name="m",
        model_version=version,
        time=T0 + t_hours * HOUR,
        features={"x": float(key or 0)},
        prediction=pred,
        proba=(1 - 0.8 * pred, 0.8 * pred),
    )


def feed(tmp_path: Path, name: str, rows: list[tuple[int, int, str]]) -> Path:
    store = tmp_path / "fb"
    source = tmp_path / f"{name}.csv"
    pd.DataFrame(rows, columns=["id", "target", "decided_at"]).to_csv(source, index=False)
    ingest_feedback(source, store, CONTRACT)
    return store


def test_late_and_corrected_labels_land_on_their_prediction(tmp_path: Path) -> None:
    records = records_frame([prediction(1, 0), prediction(2, 1), prediction(3, 2)])
    feed(tmp_path, "a", [(1, 1, "2027-01-01T05:00Z")])
    # Key 2's label comes ten days late; key 1's label is corrected.
    store = feed(tmp_path, "b", [(2, 0, "2027-01-11T01:00Z"), (1, 0, "2027-01-02T00:00Z")])
    joined = join_labels(records, latest_labels(store))
    by_key = joined.frame.set_index("key")
    assert by_key.loc["1", "label"] == 0  # the correction is in force
    assert by_key.loc["2", "label"] == 0
    assert by_key.loc["2", "delay_hours"] == pytest.approx(240.0)
    assert pd.isna(by_key.loc["3", "label"])
    assert joined.without_key == 0 and joined.unmatched_labels == 0


def test_predictions_without_a_key_are_counted_not_joined(tmp_path: Path) -> None:
    records = records_frame([prediction(None, 0), prediction(None, 1), prediction(7, 2)])
    store = feed(tmp_path, "a", [(7, 1, "2027-01-02"), (99, 1, "2027-01-02")])
    joined = join_labels(records, latest_labels(store))
    assert joined.without_key == 2 and len(joined.frame) == 1
    assert joined.unmatched_labels == 1  # key 99 was never predicted (or sampled out)


def test_a_label_decided_before_its_prediction_is_flagged(tmp_path: Path) -> None:
    records = records_frame([prediction(5, 48)])
    store = feed(tmp_path, "a", [(5, 1, "2027-01-01T00:00Z")])
    assert join_labels(records, latest_labels(store)).labels_before_prediction == 1


def test_two_versions_live_at_once_are_measured_apart(tmp_path: Path) -> None:
    # Version 1 is right on every row, version 2 wrong on every row, interleaved in time.
    preds = [
        prediction(k, k, version="1" if k % 2 else "2", pred=1 if k % 2 else 0) for k in range(40)
    ]
    store = feed(tmp_path, "a", [(k, 1, "2027-01-05") for k in range(40)])
    report = assess(
        records_frame(preds),
        latest_labels(store),
        problem_type="classification",
        settings=MonitorSettings(window_hours=24, min_labels=5, resamples=50),
        now=datetime(2027, 1, 10, tzinfo=UTC),
    )
    versions = report["versions"]
    assert set(versions) == {"1", "2"}
    assert versions["1"]["overall"]["quality"]["accuracy"]["value"] == 1.0
    assert versions["2"]["overall"]["quality"]["accuracy"]["value"] == 0.0
    assert versions["1"]["overall"]["labelled"] == versions["2"]["overall"]["labelled"] == 20
    assert versions["1"]["live"] and versions["2"]["live"]


def test_windows_follow_prediction_time_and_count_coverage_and_delay(tmp_path: Path) -> None:
    preds = [prediction(k, k * 6) for k in range(8)]  # two days, four predictions a day
    store = feed(tmp_path, "a", [(k, 1, "2027-01-04T00:00Z") for k in (0, 1, 2, 4)])
    report = assess(
        records_frame(preds),
        latest_labels(store),
        problem_type="classification",
        settings=MonitorSettings(window_hours=24, min_labels=1, resamples=50),
    )
    first, second = report["versions"]["1"]["windows"]
    assert (first["start"], second["start"]) == (
        "2027-01-01T00:00:00+00:00",
        "2027-01-02T00:00:00+00:00",
    )
    assert (first["predictions"], first["labelled"], first["coverage"]) == (4, 3, 0.75)
    assert (second["labelled"], second["coverage"]) == (1, 0.25)
    assert first["delay_hours"] == {"median": 66.0, "p90": 70.8}
    assert report["counts"]["labelled"] == 4


def test_a_regressor_is_measured_with_mae_and_rmse_and_slices_come_from_attributes(
    tmp_path: Path,
) -> None:
    preds = [
        PredictionRecord(
            request_id=None, key=str(k), model_name="r", model_version="1",
            time=T0 + k * HOUR, features={"x": float(k)}, prediction=float(k) + (k % 2),
        )
        for k in range(24)
    ]  # fmt: skip
    labels = pd.DataFrame(
        {
            "key": [str(k) for k in range(24)],
            "label": [float(k) for k in range(24)],
            "decided_at": pd.Timestamp("2027-01-03", tz="UTC"),
        }
    )
    attributes = pd.DataFrame({"region": ["north" if k < 12 else "south" for k in range(24)]})
    attributes.index = [str(k) for k in range(24)]
    report = assess(
        records_frame(preds),
        labels,
        problem_type="regression",
        settings=MonitorSettings(metric="mae", window_hours=24, min_labels=5, resamples=50),
        sensitive_columns=("region",),
        attributes=attributes,
    )
    window = report["versions"]["1"]["windows"][0]
    assert window["quality"]["mae"]["value"] == 0.5
    assert window["quality"]["rmse"]["value"] == pytest.approx(0.5**0.5)
    assert set(window["slices"]["region"]) == {"north", "south"}
    assert window["fairness"]["region"]["gap"] == 0.0


def test_a_sensitive_column_nobody_recorded_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sensitive column 'sex'"):
        assess(
            records_frame([prediction(1, 0)]),
            latest_labels(tmp_path / "empty"),
            problem_type="classification",
            settings=MonitorSettings(),
            sensitive_columns=("sex",),
        )
