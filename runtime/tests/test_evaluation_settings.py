"""The thresholds are validated by name, and decide ok, warn and retrain as documented."""

from __future__ import annotations

from typing import Any

import pytest

from mlplat_runtime.errors import PipelineError
from mlplat_runtime.evaluation import MonitorSettings, Reference, decide


def test_settings_come_from_a_config_table() -> None:
    settings = MonitorSettings.from_mapping(
        {"metric": "accuracy", "window_hours": 6, "min_labels": 20}
    )
    assert settings == MonitorSettings(metric="accuracy", window_hours=6.0, min_labels=20)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"min_label": 5},
            r"monitor.min_label is not a monitor setting \(did you mean 'min_labels'\?\)",
        ),
        ({"metric": "auc"}, r"monitor.metric = 'auc' is not a metric the monitor computes"),
        ({"min_labels": 2.5}, r"monitor.min_labels must be a whole number, got 2.5"),
        ({"tolerance": "0.1"}, r"monitor.tolerance must be a number"),
        ({"min_coverage": 1.5}, r"monitor.min_coverage = 1.5 is out of range: 0 to 1"),
        ({"confidence": True}, r"monitor.confidence must be a number"),
    ],
)
def test_bad_settings_are_named(table: dict[str, Any], message: str) -> None:
    with pytest.raises(PipelineError, match=message):
        MonitorSettings.from_mapping(table)


def test_the_config_location_is_in_the_message() -> None:
    with pytest.raises(PipelineError, match=r"config.toml \[monitor\].max_psi = -1"):
        MonitorSettings.from_mapping({"max_psi": -1}, where="config.toml [monitor]")


def estimate(value: float, low: float, high: float, n: int) -> dict[str, Any]:
    return {"value": value, "low": low, "high": high, "n": n}


def window(start: str, auc: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "start": start,
        "end": start.replace("T00", "T23"),
        "predictions": 500,
        "labelled": auc["n"] if auc else 0,
        "coverage": 0.9,
        "quality": {"roc_auc": auc} if auc else {},
        "slices": {},
        "fairness": {},
        "drift": {},
        "contract_violation_rate": None,
    }
    base.update(extra)
    return base


def report(*windows: dict[str, Any], live: bool = True) -> dict[str, Any]:
    return {
        "generated_at": "2027-01-10T00:00:00+00:00",
        "counts": {"labelled": sum(w["labelled"] for w in windows)},
        "versions": {"3": {"live": live, "windows": list(windows)}},
    }


SETTINGS = MonitorSettings(min_labels=50, tolerance=0.05, label_grace_hours=24)
REF = {"3": Reference(value=0.90)}


def test_a_conclusive_drop_with_enough_labels_asks_for_retraining() -> None:
    r = report(window("2027-01-01T00:00:00+00:00", estimate(0.70, 0.64, 0.76, 300)))
    decision = decide(r, SETTINGS, REF)
    assert decision.action == "retrain"
    assert decision.reason.startswith("version 3: roc_auc 0.700 [0.640, 0.760] on 300 labels")
    assert "vs reference 0.900" in decision.reason


def test_a_small_window_that_looks_bad_is_not_a_collapse() -> None:
    r = report(
        window("2027-01-01T00:00:00+00:00", estimate(0.91, 0.88, 0.94, 400)),
        window("2027-01-02T00:00:00+00:00", estimate(0.55, 0.20, 0.95, 12)),
    )
    assert decide(r, SETTINGS, REF).action == "ok"  # 12 < min_labels: the older window decides


def test_a_drop_whose_interval_reaches_the_tolerance_is_a_warning() -> None:
    r = report(window("2027-01-01T00:00:00+00:00", estimate(0.82, 0.74, 0.88, 60)))
    decision = decide(r, SETTINGS, REF)
    assert decision.action == "warn" and "not conclusive" in decision.reason


def test_an_error_metric_retrains_when_the_lower_bound_is_above_the_reference() -> None:
    settings = MonitorSettings(metric="mae", tolerance=1.0, min_labels=50)
    w = window("2027-01-01T00:00:00+00:00", None)
    w["quality"] = {"mae": estimate(14.0, 12.5, 15.5, 200)}
    assert decide(report(w), settings, {"3": Reference(value=10.0)}).action == "retrain"
    assert decide(report(w), settings, {"3": Reference(value=12.0)}).action == "warn"


def test_drift_coverage_contract_and_fairness_warn() -> None:
    w = window(
        "2027-01-01T00:00:00+00:00",
        estimate(0.90, 0.87, 0.93, 400),
        coverage=0.1,
        drift={"age": 0.45, "bmi": 0.01},
        contract_violation_rate=0.2,
        fairness={"sex": {"metric": "roc_auc", "gap": 0.3, "groups": ["F", "M"]}},
    )
    decision = decide(report(w), SETTINGS, REF)
    assert decision.action == "warn"
    messages = " | ".join(f.message for f in decision.findings)
    assert "input 'age' drifted, PSI 0.450" in messages and "bmi" not in messages
    assert "label coverage 10%" in messages
    assert "20.0% of requests broke the contract" in messages
    assert "gap 0.300 across 'sex'" in messages
    assert decision.reason.endswith("(+3 more finding(s))")


def test_a_version_no_longer_serving_does_not_decide() -> None:
    r = report(window("2027-01-01T00:00:00+00:00", estimate(0.5, 0.45, 0.55, 300)), live=False)
    assert decide(r, SETTINGS, REF).action == "ok"


def test_without_a_reference_quality_cannot_trigger_retraining() -> None:
    r = report(window("2027-01-01T00:00:00+00:00", estimate(0.5, 0.45, 0.55, 300)))
    assert decide(r, SETTINGS, {}).action == "ok"


def test_no_records_at_all_is_a_warning_not_ok() -> None:
    empty = {
        "generated_at": "2027-01-10T00:00:00+00:00",
        "counts": {"predictions": 0, "labelled": 0},
        "versions": {},
    }
    decision = decide(empty, SETTINGS, REF)
    assert decision.action == "warn" and decision.reason.startswith("no prediction records")
