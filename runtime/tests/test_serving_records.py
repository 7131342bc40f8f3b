"""The server's prediction records carry what the monitor's join needs, and read back typed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mlplat_runtime.evaluation import PredictionRecord, read_records
from mlplat_runtime.serving.metrics import Metrics, shared_array
from mlplat_runtime.serving.monitor import FileSink, PredictionLog
from mlplat_runtime.serving.resilience import CircuitBreaker, RetryPolicy


def _log(directory: Path, sample_rate: float = 1.0) -> tuple[PredictionLog, Metrics]:
    metrics = Metrics(shared_array(1), 0)
    log = PredictionLog(
        sink=FileSink(directory, worker=0),
        metrics=metrics,
        sample_rate=sample_rate,
        capacity=100,
        breaker=CircuitBreaker("sink"),
        policy=RetryPolicy(),
        flush_s=0.01,
    )
    log.features = ("x", "group")
    log.model_name = "credit"
    return log, metrics


def _lines(directory: Path) -> list[dict[str, object]]:
    path = directory / "predictions-0.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_a_served_request_is_recorded_with_its_id_key_inputs_and_output(tmp_path: Path) -> None:
    log, metrics = _log(tmp_path)
    log.start()
    rows = np.array([[1.5, 0.0], [2.5, 1.0]])
    proba = np.array([[0.2, 0.8], [0.9, 0.1]])
    log.offer("3", ["A-1", "A-2"], rows, np.array([1, 0]), proba, request_id="req-7")
    log.offer("3", None, rows[:1], np.array([1]), proba[:1])
    log.stop(10.0)
    first, second, third = _lines(tmp_path)
    assert first["request_id"] == second["request_id"] == "req-7"
    assert (first["key"], second["key"]) == ("A-1", "A-2")
    assert first["model_name"] == "credit" and first["model_version"] == "3"
    assert first["features"] == {"x": 1.5, "group": 0.0}
    assert first["prediction"] == 1 and first["proba"] == [0.2, 0.8]
    assert first["contract_violations"] == []
    # No id from the client: the writer makes one, so every record can be traced to a request.
    assert isinstance(third["request_id"], str) and len(third["request_id"]) == 32
    assert third["key"] is None
    parsed = PredictionRecord.from_json(first)
    assert parsed.request_id == "req-7" and parsed.contract_violations == ()
    assert metrics.get("log_written") == 3


def test_a_rejected_request_counts_toward_the_violation_rate_not_quality(tmp_path: Path) -> None:
    log, _ = _log(tmp_path)
    log.start()
    rows = np.array([[1.0, 0.0]])
    log.offer("3", ["A-1"], rows, np.array([1]), np.array([[0.4, 0.6]]))
    log.offer_rejected("3", ["A-2"], np.array([[-5.0, 0.0]]), ["x: 1 rows below minimum 0"])
    log.stop(10.0)
    rejected = _lines(tmp_path)[1]
    assert rejected["prediction"] is None
    assert rejected["contract_violations"] == ["x: 1 rows below minimum 0"]
    table = read_records(tmp_path)
    assert table.skipped == 0
    assert table.frame["contract_violations"].tolist() == [0, 1]
    assert table.frame["prediction"].isna().tolist() == [False, True]


def test_a_zero_sample_rate_records_nothing(tmp_path: Path) -> None:
    log, metrics = _log(tmp_path, sample_rate=0.0)
    log.offer("3", None, np.array([[1.0, 0.0]]), np.array([1]), None)
    log.offer_rejected("3", None, np.array([[1.0, 0.0]]), ["x: broken"])
    assert metrics.get("log_enqueued") == 0
