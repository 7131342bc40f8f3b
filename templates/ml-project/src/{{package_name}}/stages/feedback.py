"""Ground truth in: ``make feedback SOURCE=labels.csv`` (or ``.parquet``), outside the pipeline.

Labels arrive from the business after the prediction: the key column, the target column and
``decided_at`` (plus, when the contract has them, its attribute columns, which the server never
sees). The runtime's :func:`~mlplat_runtime.evaluation.ingest_feedback` checks them with the
contract's own rules (the messages ``ingest`` gives), stores each new batch append-only with its
provenance record under ``data/feedback/batches/`` and adds nothing for a batch it already has;
a later label for a key supersedes the older one for the monitor, and both stay on disk.

Why no HTTP feedback endpoint on the model server: labels are decided by business systems days
later and leave them as exports; an endpoint would add an unauthenticated write path and a store
to the process whose job is to answer fast and stay up, for nothing this file path lacks.
"""

from __future__ import annotations

__all__ = ["FEEDBACK_DIR", "feedback"]

from pathlib import Path

from mlplat_runtime.evaluation import FeedbackReceipt, ingest_feedback

from .. import contract

#: The label store, relative to the project root (``make clean`` keeps it: labels are data).
FEEDBACK_DIR = "data/feedback"


def feedback(root: Path, source: Path) -> FeedbackReceipt:
    """Validate the labels in ``source`` and add them to the project's label store.

    Raises:
        PipelineError: The file is missing or unreadable, or breaks the contract (naming each
            column, rule and offending-row count).
    """
    return ingest_feedback(source, root / FEEDBACK_DIR, contract.CONTRACT)
