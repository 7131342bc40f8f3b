"""The monitor's registry hand-offs: references from each version's evaluation, reports back."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from mlflow.exceptions import MlflowException

from mlplat_runtime.evaluation import Decision, log_monitor_reports, registry_references
from mlplat_runtime.evaluation.run import MonitorResult


class FakeRegistry:
    """Versions "1" (run r1, with an evaluation report) and "2" (run r2, without one)."""

    def __init__(self, tmp: Path) -> None:
        self.report = tmp / "report.json"
        evaluation = {"metrics": {"roc_auc": 0.91}, "slices": {"age": {"young": {"roc_auc": 0.8}}}}
        self.report.write_text(json.dumps(evaluation))
        self.logged: list[tuple[str, str, str]] = []
        self.tags: dict[tuple[str, str], str] = {}

    def get_model_version(self, name: str, version: str) -> SimpleNamespace:
        if version not in ("1", "2"):
            raise MlflowException(f"no version {version} of {name}")
        return SimpleNamespace(run_id=f"r{version}")

    def download_artifacts(self, run_id: str, path: str) -> str:
        if run_id != "r1":
            raise OSError(f"{run_id} has no {path}")
        return str(self.report)

    def log_artifact(self, run_id: str, local: str, path: str) -> None:
        self.logged.append((run_id, Path(local).name, path))

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.tags[(version, key)] = value


def test_only_versions_with_an_evaluation_get_a_reference(tmp_path: Path) -> None:
    registry = FakeRegistry(tmp_path)
    references = registry_references(registry, "credit", ["1", "2", "9"], "roc_auc")  # type: ignore[arg-type]
    assert list(references) == ["1"]
    assert references["1"].value == 0.91
    assert references["1"].slices == {"age": {"young": 0.8}}


def test_reports_go_to_every_known_versions_run_with_the_decision(tmp_path: Path) -> None:
    registry = FakeRegistry(tmp_path)
    result = MonitorResult(
        report={"generated_at": "2026-12-07T18:00:00Z"},
        decision=Decision(action="retrain", reason="roc_auc fell", findings=()),
        json_path=tmp_path / "report.json",
        html_path=tmp_path / "report.html",
    )
    log_monitor_reports(registry, "credit", result, ["1", "9"])  # type: ignore[arg-type]
    stamp = "monitor/2026-12-07T180000Z"
    assert registry.logged == [("r1", "report.json", stamp), ("r1", "report.html", stamp)]
    assert registry.tags == {
        ("1", "monitor_decision"): "retrain",
        ("1", "monitor_report"): f"runs:/r1/{stamp}/report.html",
    }
