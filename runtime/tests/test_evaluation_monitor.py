"""End to end in the library: traffic whose relationship to the label flips in one slice half-way.

The server's records (JSON lines, as serving/monitor.py writes them) and the business's labels
(a CSV through ingest_feedback) go through run_monitor: it must point at that slice and decide
retrain, and write a stable report.json and a self-contained HTML report.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlplat_runtime.evaluation import (
    SCHEMA,
    MonitorSettings,
    PredictionRecord,
    Reference,
    ingest_feedback,
    run_monitor,
)
from mlplat_runtime.profile import build_profile
from mlplat_runtime.rules import Column, Contract

CONTRACT = Contract(
    (
        Column(name="id", dtype="int", role="key", unique=True),
        Column(name="x", dtype="float", role="feature"),
        Column(name="group", dtype="float", role="feature", allowed=(0.0, 1.0)),
        Column(name="target", dtype="int", role="target", allowed=(0, 1)),
    )
)
START = datetime(2027, 3, 1, tzinfo=UTC).timestamp()
DAYS = 10


def traffic(tmp_path: Path, *, n: int = 4000, seed: int = 0) -> tuple[Path, Path, dict[str, Any]]:
    """Records and labels for ten days; from day five the label flips in group 1."""
    rng = np.random.default_rng(seed)
    t = START + np.sort(rng.uniform(0, DAYS * 86_400, n))
    x = rng.normal(size=n)
    group = rng.integers(0, 2, n).astype(float)
    score = 1 / (1 + np.exp(-2.5 * x))
    flipped = (t >= START + DAYS / 2 * 86_400) & (group == 1)
    truth = np.where(flipped, -x, x) + rng.normal(scale=0.4, size=n) > 0
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [
        json.dumps(
            PredictionRecord(
                request_id=f"r{i}",
                key=str(i) if i % 20 else None,  # every 20th request carries no key
                model_name="m",
                model_version="4",
                time=float(t[i]),
                features={"x": float(x[i]), "group": float(group[i])},
                prediction=int(score[i] > 0.5),
                proba=(float(1 - score[i]), float(score[i])),
            ).to_json()
        )
        for i in range(n)
    ]
    half = len(lines) // 2
    (logs / "predictions-0.jsonl.1").write_text("\n".join(lines[:half]) + "\n")
    (logs / "predictions-0.jsonl").write_text("\n".join(lines[half:]) + "\n")
    delay = rng.uniform(1, 48, n) * 3600
    labelled = rng.random(n) < 0.8
    labels = pd.DataFrame(
        {
            "id": np.arange(n)[labelled],
            "target": truth.astype(int)[labelled],
            "decided_at": pd.to_datetime(t[labelled] + delay[labelled], unit="s", utc=True),
        }
    )
    source = tmp_path / "labels.csv"
    labels.to_csv(source, index=False)
    store = tmp_path / "feedback"
    ingest_feedback(source, store, CONTRACT)
    train = pd.DataFrame({"x": rng.normal(size=2000), "group": rng.integers(0, 2, 2000)})
    return logs, store, build_profile(train, ["x", "group"])


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp_path = tmp_path_factory.mktemp("monitor")
    logs, store, profile = traffic(tmp_path)
    return run_monitor(
        log_dir=logs,
        record_store=tmp_path / "records",
        feedback_store=store,
        out_dir=tmp_path / "out",
        problem_type="classification",
        settings=MonitorSettings(window_hours=24, min_labels=60, tolerance=0.05, resamples=200),
        references={"4": Reference(value=0.93, slices={"group": {"0.0": 0.93, "1.0": 0.93}})},
        sensitive_columns=("group",),
        reference_profile=profile,
        now=datetime(2027, 3, 15, tzinfo=UTC),
    )


def test_the_monitor_points_at_the_flipped_slice_and_asks_for_retraining(result: Any) -> None:
    assert result.decision.action == "retrain"
    assert result.decision.reason.startswith("version 4 slice group=1.0: roc_auc")
    top = result.decision.findings[0]
    assert (top.level, top.slice) == ("retrain", "group=1.0")
    untouched = [f for f in result.decision.findings if f.slice == "group=0.0"]
    assert untouched == []  # the slice that kept its relationship is not blamed


def test_the_windows_show_the_flip_only_after_half_way(result: Any) -> None:
    windows = result.report["versions"]["4"]["windows"]
    assert len(windows) == DAYS
    auc = [w["slices"]["group"]["1.0"]["quality"]["roc_auc"]["value"] for w in windows]
    assert min(auc[:5]) > 0.85 and max(auc[5:]) < 0.2
    other = [w["slices"]["group"]["0.0"]["quality"]["roc_auc"]["value"] for w in windows]
    assert min(other) > 0.85
    assert all(w["fairness"]["group"]["gap"] > 0.6 for w in windows[5:])
    assert all(max(w["drift"].values()) < 0.1 for w in windows)  # inputs did not move


def test_counts_coverage_and_delay(result: Any) -> None:
    counts = result.report["counts"]
    assert counts["predictions"] == 4000 and counts["without_key"] == 200
    assert counts["unreadable_records"] == 0
    assert 0.75 < counts["labelled"] / (4000 - 200) < 0.85
    overall = result.report["versions"]["4"]["overall"]
    assert 20 < overall["delay_hours"]["median"] < 28 and overall["delay_hours"]["p90"] < 48


def test_report_json_has_a_stable_schema(result: Any) -> None:
    stored = json.loads(result.json_path.read_text())
    assert stored["schema"] == SCHEMA
    assert set(stored) == {
        "schema", "generated_at", "problem_type", "metric", "sensitive_columns", "settings",
        "counts", "versions", "references", "decision",
    }  # fmt: skip
    window = stored["versions"]["4"]["windows"][0]
    assert set(window) == {
        "start", "end", "predictions", "without_key", "labelled", "coverage", "delay_hours",
        "quality", "slices", "fairness", "drift", "contract_violation_rate",
    }  # fmt: skip
    assert set(window["quality"]) == {"accuracy", "roc_auc", "brier", "ece"}
    assert stored["decision"]["action"] == "retrain"
    assert result.json_path.read_text() == json.dumps(stored, indent=2, sort_keys=True) + "\n"


def test_the_html_report_is_self_contained(result: Any) -> None:
    html = result.html_path.read_text()
    assert html.count('src="data:image/png;base64,') >= 3
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "retrain" in html and "group=1.0" in html


def test_a_second_run_reads_the_compacted_store_and_agrees(result: Any, tmp_path: Path) -> None:
    out = result.json_path.parent
    again = run_monitor(
        log_dir=out.parent / "logs",
        record_store=out.parent / "records",
        feedback_store=out.parent / "feedback",
        out_dir=tmp_path,
        problem_type="classification",
        settings=MonitorSettings(window_hours=24, min_labels=60, tolerance=0.05, resamples=200),
        references={"4": Reference(value=0.93, slices={"group": {"0.0": 0.93, "1.0": 0.93}})},
        sensitive_columns=("group",),
        reference_profile=None,
        now=datetime(2027, 3, 15, tzinfo=UTC),
    )
    assert again.report["counts"] == result.report["counts"]
    assert again.decision.reason == result.decision.reason
