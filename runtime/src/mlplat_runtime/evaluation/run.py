"""One call for ``make monitor``: compact, read, join, measure, decide, write both reports.

Example (the project's monitor stage)::

    from mlplat_runtime.evaluation import MonitorSettings, Reference, run_monitor

    result = run_monitor(
        log_dir=root / "logs/predictions",
        record_store=root / "data/predictions",
        feedback_store=root / "data/feedback",
        out_dir=root / "artifacts/monitor",
        problem_type=config.problem_type,
        settings=MonitorSettings.from_mapping(raw_config.get("monitor", {})),
        references={"4": Reference(value=0.91)},
        sensitive_columns=config.data.sensitive_columns,
        reference_profile=model_metadata["reference_profile"],
    )
    print(result.decision.reason)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mlplat_runtime.paths import write_json
from mlplat_runtime.profile import Profile

from .assess import assess
from .decide import Decision, Reference, decide
from .feedback import latest_labels
from .records import compact, read_records
from .report_html import render_report
from .settings import MonitorSettings

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"


@dataclass(frozen=True, kw_only=True)
class MonitorResult:
    """What :func:`run_monitor` produced.

    Attributes:
        report: The full report (as written to ``report.json``), decision included.
        decision: The decision, typed.
        json_path: Where ``report.json`` was written.
        html_path: Where the HTML report was written.
    """

    report: dict[str, Any]
    decision: Decision
    json_path: Path
    html_path: Path


def write_reports(report: Mapping[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``report.json`` (sorted keys, stable) and ``report.html`` into ``out_dir``."""
    json_path, html_path = out_dir / REPORT_JSON, out_dir / REPORT_HTML
    write_json(json_path, report)
    html_path.write_text(render_report(report), "utf-8")
    return json_path, html_path


def run_monitor(
    *,
    log_dir: Path,
    record_store: Path,
    feedback_store: Path,
    out_dir: Path,
    problem_type: str,
    settings: MonitorSettings,
    references: Mapping[str, Reference],
    sensitive_columns: Sequence[str] = (),
    reference_profile: Profile | None = None,
    attributes: pd.DataFrame | None = None,
    now: datetime | None = None,
) -> MonitorResult:
    """Compact the rotated prediction logs, then measure, decide and write the reports.

    Args:
        log_dir: The server's prediction log directory (``predictions-*.jsonl*``).
        record_store: The Parquet store of compacted records.
        feedback_store: The labels' store (:func:`~.feedback.ingest_feedback`).
        out_dir: Where ``report.json`` and ``report.html`` go.
        problem_type: ``"classification"`` or ``"regression"``.
        settings: The ``[monitor]`` settings.
        references: Per model version, what it scored at evaluate.
        sensitive_columns: Columns to slice by.
        reference_profile: The training reference profile, for input drift.
        attributes: Slice values by key for sensitive columns that are not model inputs.
        now: The report's time (tests pass one).
    """
    compact(log_dir, record_store)
    table = read_records(log_dir, record_store)
    report = assess(
        table.frame,
        latest_labels(feedback_store),
        problem_type=problem_type,
        settings=settings,
        sensitive_columns=sensitive_columns,
        reference_profile=reference_profile,
        attributes=attributes,
        now=now,
    )
    report["counts"]["unreadable_records"] = table.skipped
    report["references"] = {
        v: {"value": r.value, "slices": {c: dict(g) for c, g in r.slices.items()}}
        for v, r in sorted(references.items())
    }
    decision = decide(report, settings, references)
    report["decision"] = decision.as_dict()
    json_path, html_path = write_reports(report, out_dir)
    return MonitorResult(report=report, decision=decision, json_path=json_path, html_path=html_path)


__all__ = ["REPORT_HTML", "REPORT_JSON", "MonitorResult", "run_monitor", "write_reports"]
