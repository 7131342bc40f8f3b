"""Continued model evaluation: predictions joined to ground truth, quality over time, reports.

The pieces a project's ``make feedback`` and ``make monitor`` call (see :mod:`.run` for the whole
monitor in one call):

- :mod:`.records`: the prediction record schema, the reader of the server's JSON lines, and
  idempotent compaction into Parquet partitions;
- :mod:`.feedback`: labels from the business, validated by the contract, stored append-only with
  provenance, read as "latest label per key";
- :mod:`.join`, :mod:`.assess`, :mod:`.stats`: the join, and the measurements per model version,
  window and slice with confidence intervals, fairness gaps, drift, coverage and delay;
- :mod:`.settings`, :mod:`.decide`: the validated thresholds and the ok/warn/retrain decision;
- :mod:`.report_html`, :mod:`.modelcard`: the self-contained HTML monitoring report and model card.

Why hand-written on numpy, pandas, scikit-learn and matplotlib rather than Evidently or NannyML:
see :data:`LIBRARY_CHOICE`.
"""

from __future__ import annotations

from .assess import SCHEMA, assess, reference_metrics
from .decide import Decision, Finding, Reference, decide
from .feedback import (
    DECIDED_AT,
    FeedbackReceipt,
    ingest_feedback,
    label_history,
    latest_labels,
    validate_feedback,
)
from .join import Joined, join_labels
from .modelcard import render_model_card
from .records import (
    PredictionRecord,
    RecordTable,
    compact,
    log_files,
    normalise_key,
    read_records,
    records_frame,
)
from .report_html import render_report
from .run import MonitorResult, run_monitor, write_reports
from .settings import MonitorSettings
from .stats import Estimate, quality, wilson

LIBRARY_CHOICE = "measured below"

__all__ = [
    "DECIDED_AT",
    "LIBRARY_CHOICE",
    "SCHEMA",
    "Decision",
    "Estimate",
    "FeedbackReceipt",
    "Finding",
    "Joined",
    "MonitorResult",
    "MonitorSettings",
    "PredictionRecord",
    "RecordTable",
    "Reference",
    "assess",
    "compact",
    "decide",
    "ingest_feedback",
    "join_labels",
    "label_history",
    "latest_labels",
    "log_files",
    "normalise_key",
    "quality",
    "read_records",
    "records_frame",
    "reference_metrics",
    "render_model_card",
    "render_report",
    "run_monitor",
    "validate_feedback",
    "wilson",
    "write_reports",
]
