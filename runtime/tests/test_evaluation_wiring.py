"""What the generated project's wiring relies on: attribute columns in feedback, rejected
requests counted apart from quality, and the retraining window setting."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from mlplat_runtime.errors import ContractViolation, PipelineError
from mlplat_runtime.evaluation import (
    MonitorSettings,
    PredictionRecord,
    assess,
    ingest_feedback,
    labelled_rows,
    latest_labels,
    production_window,
    records_frame,
    write_window,
)
from mlplat_runtime.rules import Column, Contract

CONTRACT = Contract(
    (
        Column(name="id", dtype="str", role="key", unique=True),
        Column(name="group", dtype="str", role="attribute", allowed=("A", "B")),
        Column(name="x", dtype="float", role="feature"),
        Column(name="target", dtype="int", role="target", allowed=(0, 1)),
    )
)
NOW = datetime(2030, 1, 10, tzinfo=UTC)
T0 = 1_900_000_000.0


def test_feedback_keeps_the_contracts_attribute_columns_and_checks_them(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    pd.DataFrame(
        {"id": ["a", "b"], "target": [0, 1], "group": ["A", "B"], "decided_at": ["2030-01-02"] * 2}
    ).to_csv(good, index=False)
    ingest_feedback(good, tmp_path / "fb", CONTRACT, now=NOW)
    latest = latest_labels(tmp_path / "fb").set_index("key")
    assert latest["group"].to_dict() == {"a": "A", "b": "B"}

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"id": ["c"], "target": [1], "group": ["Z"], "decided_at": ["2030-01-02"]}).to_csv(
        bad, index=False
    )
    with pytest.raises(ContractViolation, match="group"):
        ingest_feedback(bad, tmp_path / "fb", CONTRACT, now=NOW)


def _record(i: int, *, rejected: bool = False) -> PredictionRecord:
    return PredictionRecord(
        request_id=f"r{i}",
        key=f"k{i}",
        model_name="m",
        model_version="1",
        time=T0 + i,
        features={"x": float(i)},
        prediction=None if rejected else i % 2,
        proba=None if rejected else ((0.2, 0.8) if i % 2 else (0.7, 0.3)),
        contract_violations=("x: 1 rows below minimum",) if rejected else (),
    )


def test_rejected_requests_count_toward_the_violation_rate_not_toward_quality() -> None:
    records = records_frame([_record(i) for i in range(8)] + [_record(8, rejected=True)])
    labels = pd.DataFrame(
        {
            "key": [f"k{i}" for i in range(9)],
            "label": [i % 2 for i in range(9)],
            "decided_at": pd.Timestamp(T0 + 100, unit="s", tz="UTC"),
        }
    )
    report = assess(
        records,
        labels,
        problem_type="classification",
        settings=MonitorSettings(metric="accuracy", resamples=50, min_labels=1),
    )
    assert report["counts"]["predictions"] == 8
    assert report["counts"]["rejected_by_contract"] == 1
    assert report["counts"]["labelled"] == 8
    window = report["versions"]["1"]["windows"][-1]
    assert window["predictions"] == 8 and window["labelled"] == 8
    assert window["contract_violation_rate"] == pytest.approx(1 / 9, abs=1e-6)
    assert window["quality"]["accuracy"]["value"] == 1.0  # the rejected row is not judged


def test_the_retraining_window_is_validated() -> None:
    assert MonitorSettings.from_mapping({"train_window_hours": 48}).train_window_hours == 48.0
    with pytest.raises(PipelineError, match="monitor.train_window_hours"):
        MonitorSettings.from_mapping({"train_window_hours": 0})


def _log_dir(tmp_path: Path, count: int) -> Path:
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    lines = [json.dumps(_record(i * 600).to_json()) for i in range(count)]  # one per 10 minutes
    (log_dir / "predictions-0.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    return log_dir


def test_labelled_production_rows_become_a_contract_shaped_table_of_recent_windows(
    tmp_path: Path,
) -> None:
    log_dir = _log_dir(tmp_path, 12)  # two hours of predictions
    labels = tmp_path / "labels.csv"
    pd.DataFrame(
        {
            "id": [f"k{i * 600}" for i in range(12)],
            "target": [i % 2 for i in range(12)],
            "group": ["A", "B"] * 6,
            "decided_at": ["2030-04-01"] * 12,
        }
    ).to_csv(labels, index=False)
    ingest_feedback(labels, tmp_path / "fb", CONTRACT, now=NOW)
    rows = labelled_rows(
        log_dir, tmp_path / "store", tmp_path / "fb", CONTRACT, hours=1.0, window_hours=1.0
    )
    newest_hour = pd.Timestamp(T0 + 11 * 600, unit="s", tz="UTC").floor("60min")
    assert (rows.times >= newest_hour).all() and len(rows.frame) >= 1
    assert list(rows.frame.columns) == ["id", "group", "x", "target"]
    CONTRACT.validate_frame(rows.frame)
    table = write_window(rows, tmp_path, window_hours=1.0, min_labels=1, reason="why")
    window = production_window(tmp_path, table.relative_to(tmp_path).as_posix())
    assert window is not None and window["rows"] == len(rows.frame)
    assert window["reason"] == "why" and window["model_versions"] == ["1"]
    assert production_window(tmp_path, "builtin:credit") is None


def test_without_the_attribute_in_the_labels_there_is_no_training_table(tmp_path: Path) -> None:
    log_dir = _log_dir(tmp_path, 3)
    labels = tmp_path / "labels.csv"
    pd.DataFrame({"id": ["k0", "k600"], "target": [0, 1], "decided_at": ["2030-04-01"] * 2}).to_csv(
        labels, index=False
    )
    ingest_feedback(labels, tmp_path / "fb", CONTRACT, now=NOW)
    with pytest.raises(PipelineError, match="'group'"):
        labelled_rows(
            log_dir, tmp_path / "store", tmp_path / "fb", CONTRACT, hours=1e6, window_hours=1.0
        )


def test_a_contract_with_text_or_date_features_is_refused_by_name(tmp_path: Path) -> None:
    typed = Contract(
        (
            *CONTRACT.columns,
            Column(name="city", dtype="str", role="feature"),
            Column(name="listed", dtype="date", role="feature"),
        )
    )
    with pytest.raises(PipelineError, match=r"text or date features \(city, listed\)"):
        labelled_rows(tmp_path, tmp_path / "store", tmp_path / "fb", typed, hours=1, window_hours=1)
