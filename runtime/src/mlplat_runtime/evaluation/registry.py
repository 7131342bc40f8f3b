"""The monitor and the model registry: each version's score at evaluate, its reports logged.

A version's reference is the ``evaluation/report.json`` its training run logged; a version the
registry does not know (records from another registry, a deleted version) gets no reference and
no reports, so the monitor reports it but never retrains on it.
"""

from __future__ import annotations

__all__ = ["log_monitor_reports", "registry_references"]

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .assess import reference_metrics
from .decide import Reference

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from .run import MonitorResult


def registry_references(
    client: MlflowClient, model_name: str, versions: Sequence[str], metric: str
) -> dict[str, Reference]:
    """What each version of ``model_name`` scored on ``metric`` at evaluate, by version."""
    from mlflow.exceptions import MlflowException

    references: dict[str, Reference] = {}
    for version in versions:
        try:
            run_id = str(client.get_model_version(model_name, version).run_id)
            local = client.download_artifacts(run_id, "evaluation/report.json")
        except (MlflowException, OSError):
            continue  # not in this registry: reported without a reference, never retrained
        value, slices = reference_metrics(json.loads(Path(local).read_text("utf-8")), metric)
        references[version] = Reference(value=value, slices=slices)
    return references


def log_monitor_reports(
    client: MlflowClient, model_name: str, result: MonitorResult, versions: Sequence[str]
) -> None:
    """Log both reports to each version's run; tag each version with the decision and report."""
    from mlflow.exceptions import MlflowException

    stamp = str(result.report["generated_at"]).replace(":", "")
    for version in versions:
        try:
            run_id = client.get_model_version(model_name, version).run_id
        except MlflowException:
            continue
        path = f"monitor/{stamp}"
        client.log_artifact(run_id, str(result.json_path), path)
        client.log_artifact(run_id, str(result.html_path), path)
        client.set_model_version_tag(
            model_name, version, "monitor_decision", result.decision.action
        )
        client.set_model_version_tag(
            model_name, version, "monitor_report", f"runs:/{run_id}/{path}/report.html"
        )
