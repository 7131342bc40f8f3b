"""``make monitor``: live quality per model version, window and slice, and ok/warn/retrain.

Outside the training pipeline, on a schedule or by hand: the server's prediction records
(``prediction-logs/``, compacted into ``data/predictions/``) are joined to the labels of
``make feedback`` and measured by the runtime's :func:`~mlplat_runtime.evaluation.run_monitor`
against what each model version scored at evaluate (its ``evaluation/report.json`` in MLflow).
It writes ``artifacts/monitor/report.json`` and ``report.html`` and logs both to the run of every
model version the records hold, tagging the version with the decision.

With ``retrain`` (``make monitor RETRAIN=1``) a ``retrain`` decision turns the labelled
production rows into a training table (``mlplat_runtime.evaluation.production``) and runs the
pipeline on it: ingest snapshots it with its production window in the provenance, validate
holds it to the contract, evaluate compares challenger and champion on the recent window too,
and ``champion`` moves only when every gate passes. Without ``train`` (the platform's monitor
step, ``--training-set``) it writes the table and its path (``artifacts/monitor/
training-source``) and stops: the Argo CronWorkflow submits the pipeline on it.
"""

from __future__ import annotations

__all__ = [
    "MONITOR_DIR",
    "PREDICTION_LOGS",
    "RECORD_STORE",
    "TRAINING_SOURCE",
    "MonitorOutcome",
    "monitor",
]

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from mlplat_runtime.evaluation import (
    MonitorResult,
    labelled_rows,
    latest_labels,
    log_monitor_reports,
    registry_references,
    run_monitor,
    write_window,
)

from .. import contract
from ..config import ProjectConfig
from ..context import RunContext, read_json
from .feedback import FEEDBACK_DIR

#: The server's prediction log (``make serve`` writes it here: ``--log-dir``'s default).
PREDICTION_LOGS = "prediction-logs"
#: Compacted records (Parquet by day), relative to the project root.
RECORD_STORE = "data/predictions"
#: Where the reports go, relative to the project root.
MONITOR_DIR = "artifacts/monitor"
#: The training table's path, written into MONITOR_DIR when the rows become one.
TRAINING_SOURCE = "training-source"


@dataclass(frozen=True, kw_only=True)
class MonitorOutcome:
    """What ``make monitor`` did: the monitor's result, and the retraining run if one ran."""

    result: MonitorResult
    sliced_by: tuple[str, ...]
    not_sliced: tuple[str, ...]
    retrained: dict[str, float] | None = None
    training_source: str | None = None


def _slice_columns(config: ProjectConfig, labels: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Columns to slice by: model inputs (recorded) and attributes the labels carry."""
    wanted = dict.fromkeys(config.data.sensitive_columns + config.data.slice_columns)
    usable = [c for c in wanted if c in contract.FEATURES or c in labels.columns]
    return usable, [c for c in wanted if c not in usable]


def monitor(
    ctx: RunContext,
    *,
    retrain: bool = False,
    train: bool = True,
    now: datetime | None = None,
    echo: Callable[[str], None] = print,
) -> MonitorOutcome:
    """Measure, decide, write and log the reports; with ``retrain``, act on ``retrain``.

    Acting writes the labelled production rows as a training table; ``train`` (the default)
    then runs the pipeline on it here.
    """
    root, config = ctx.root, ctx.config
    (root / MONITOR_DIR / TRAINING_SOURCE).unlink(missing_ok=True)  # only this run's table
    settings = config.monitor_settings()
    log_dir, store, labels_dir = root / PREDICTION_LOGS, root / RECORD_STORE, root / FEEDBACK_DIR
    labels = latest_labels(labels_dir)
    sliced, skipped = _slice_columns(config, labels)
    attributes = labels.set_index("key")[[c for c in sliced if c in labels.columns]]
    profile_path = root / config.validate_.reference_profile
    profile: dict[str, Any] | None = read_json(profile_path) if profile_path.exists() else None
    from mlplat_runtime.evaluation import read_records

    seen = read_records(log_dir, store).frame["model_version"].dropna().unique()
    versions = sorted(map(str, seen), key=lambda v: (len(v), v))
    model = config.registry.model_name
    result = run_monitor(
        log_dir=log_dir,
        record_store=store,
        feedback_store=labels_dir,
        out_dir=root / MONITOR_DIR,
        problem_type=config.problem_type,
        settings=settings,
        references=(
            registry_references(ctx.client, model, versions, settings.metric) if versions else {}
        ),
        sensitive_columns=sliced,
        reference_profile=profile,
        attributes=attributes if len(attributes.columns) else None,
        now=now,
    )
    # The action alone, for a scheduler to branch on (the monitor's Argo step reads it).
    (result.json_path.parent / "decision").write_text(result.decision.action, "utf-8")
    if versions:
        log_monitor_reports(ctx.client, model, result, versions)
    outcome = MonitorOutcome(result=result, sliced_by=tuple(sliced), not_sliced=tuple(skipped))
    if not (retrain and result.decision.action == "retrain"):
        return outcome
    rows = labelled_rows(
        log_dir,
        store,
        labels_dir,
        contract.CONTRACT,
        hours=settings.train_window_hours,
        window_hours=settings.window_hours,
    )
    table = write_window(
        rows,
        root,
        window_hours=settings.window_hours,
        min_labels=settings.min_labels,
        reason=result.decision.reason,
    )
    source = table.relative_to(root).as_posix()
    (root / MONITOR_DIR / TRAINING_SOURCE).write_text(source, "utf-8")
    if not train:
        return MonitorOutcome(
            result=result,
            sliced_by=outcome.sliced_by,
            not_sliced=outcome.not_sliced,
            training_source=source,
        )
    echo(f"retraining on {len(rows.frame)} labelled production rows: {source}")
    from ..pipeline import run_pipeline

    data = config.data.model_copy(update={"source": source})
    retrain_ctx = RunContext(config=config.model_copy(update={"data": data}), root=root)
    timings = run_pipeline(retrain_ctx, echo=echo)
    return MonitorOutcome(
        result=result,
        sliced_by=outcome.sliced_by,
        not_sliced=outcome.not_sliced,
        retrained=timings,
        training_source=source,
    )
