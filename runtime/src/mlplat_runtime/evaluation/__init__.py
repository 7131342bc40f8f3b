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
- :mod:`.report_html`, :mod:`.modelcard`: the self-contained HTML monitoring report and model card;
- :mod:`.production`: labelled production rows as a training table, with its window record;
- :mod:`.registry`: each model version's reference from MLflow, and the reports logged back.

Library choice: hand-written on numpy, pandas, scikit-learn and matplotlib, which every project
already installs. Measured on 2026-12-07 (Python 3.11, pip, a fresh venv holding numpy 2.4.6,
pandas 3.1.1, scikit-learn 1.9.1, scipy 1.17.1, matplotlib 3.11.2 and pyarrow 26.0.1 first; the
machine was shared, so the times are upper bounds):

- ``pip install evidently`` (0.7.23): +444 MiB of site-packages, 67 more distributions, 302 s.
  The bulk: plotly 188 MiB, statsmodels 65 MiB, nltk, Faker, a web stack (litestar, uvicorn,
  websockets, watchfiles) and a usage-telemetry client (iterative-telemetry).
- ``pip install nannyml`` (0.13.1): +1,459 MiB, 75 more distributions, 398 s. The bulk:
  nvidia-nccl-cu12 468 MiB, xgboost 332 MiB, kaleido 221 MiB, plotly 188 MiB, lightgbm, FLAML,
  Google Cloud Storage and S3 clients, and a usage-analytics client (segment-analytics-python).

What they would have given here is small next to that: the PSI already exists in the runtime
(:mod:`mlplat_runtime.profile`, shared with validate and the server's gauge, so the monitor's
drift numbers agree with theirs), the metrics are scikit-learn's and the evaluate stage's, the
Wilson interval is ten lines and the seeded bootstrap twenty. Neither library joins late,
corrected labels by key, keeps an append-only label store, or decides ok/warn/retrain from
per-slice confidence intervals: that part is ours either way. Their HTML reports draw with
plotly's JavaScript, while ours must open from disk with no script. NannyML's estimated
performance without labels (CBPE/DLE) is the one capability with no hand-written counterpart;
it is worth revisiting if labels stop arriving, not at 1.4 GiB in every image.
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
from .production import LabelledRows, labelled_rows, production_window, write_window
from .records import (
    PredictionRecord,
    RecordTable,
    compact,
    log_files,
    normalise_key,
    read_records,
    records_frame,
)
from .registry import log_monitor_reports, registry_references
from .report_html import render_report
from .run import MonitorResult, run_monitor, write_reports
from .settings import MonitorSettings
from .stats import Estimate, quality, wilson

__all__ = [
    "DECIDED_AT",
    "SCHEMA",
    "Decision",
    "Estimate",
    "FeedbackReceipt",
    "Finding",
    "Joined",
    "LabelledRows",
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
    "labelled_rows",
    "latest_labels",
    "log_files",
    "log_monitor_reports",
    "normalise_key",
    "production_window",
    "quality",
    "read_records",
    "records_frame",
    "reference_metrics",
    "registry_references",
    "render_model_card",
    "render_report",
    "run_monitor",
    "validate_feedback",
    "wilson",
    "write_reports",
    "write_window",
]
