"""Ground truth: labels from the business, validated, stored append-only, read latest per key.

A feedback file (CSV or Parquet) has three columns: the contract's key column, its target column
and ``decided_at`` (when the label was decided; ISO 8601, a zone-less time is UTC). It is checked
with the contract's own rules for those two columns (type, allowed values, range, nulls, one row
per key), so a bad file gets the same messages as ``ingest``, naming each column, rule and
offending-row count; ``decided_at`` must parse as a time. It may also carry the contract's
``attribute`` columns (a sensitive column that is not a model input, such as an applicant's
group): those present are checked by their rules too and kept, because the server never sees
them, and the monitor needs them to slice live quality and the retraining snapshot to pass the
contract.

The store keeps every batch: ``<store>/batches/<hash>.parquet`` with its provenance record
``<hash>.json`` (source, content hash, rows, time, corrections). The hash is the content hash of
the validated labels, so the same file twice, or the same labels as CSV and as Parquet, add
nothing. A later label for a key supersedes the earlier one (a correction) and both stay on disk:
:func:`latest_labels` is the view "newest ``decided_at`` per key, ties to the later ingestion".

No HTTP endpoint for feedback: labels are decided by business systems (a claim settled, a
diagnosis confirmed) days after the prediction and leave them as batch exports; an endpoint
would put an unauthenticated write path, a store and its retries into the model server, whose
job is to answer fast and stay up, while ``make feedback SOURCE=...`` (or the same call in a
scheduled job that reads the export from the object store) gives the same validation and
provenance with no new moving part. A system that emits labels one by one can append them to a
file that the scheduled job ingests.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from mlplat_runtime.errors import ContractViolation, PipelineError, Violation
from mlplat_runtime.rules import Contract
from mlplat_runtime.tables import read_table

from .records import normalise_key

DECIDED_AT = "decided_at"
_BATCHES = "batches"
_EXAMPLES = 3


@dataclass(frozen=True, kw_only=True)
class FeedbackReceipt:
    """The provenance record of one feedback batch (also written beside it as JSON).

    Attributes:
        source: The file the labels came from, as given.
        content_hash: SHA-256 of the validated labels (key, label, decided_at).
        rows: Labels in the batch.
        added: False when an identical batch was already stored (nothing was added).
        corrections: Keys whose latest label this batch changed.
        ingested_at: When the batch was stored (ISO 8601, UTC); for a repeat, the first time.
    """

    source: str
    content_hash: str
    rows: int
    added: bool
    corrections: int
    ingested_at: str


def _content_hash(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256()
    digest.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def validate_feedback(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Labels checked against the contract: ``key`` (text), ``label`` (typed), ``decided_at``.

    The contract's attribute columns the file has are checked and kept under their own names.

    Raises:
        PipelineError: The contract declares no key column (labels could not be joined).
        ContractViolation: Naming every column and rule broken, with offending-row counts.
    """
    if contract.key is None:
        raise PipelineError(
            "feedback needs the contract's key column to join labels to predictions, and "
            "contract.py declares none: add a Column(role='key') (an id the requests carry)"
        )
    by_name = {c.name: c for c in contract.columns}
    key_column = by_name[contract.key]
    # One label per key and file: two in one batch would leave the label in force undecided.
    attributes = tuple(
        c for c in contract.columns if c.role == "attribute" and c.name in frame.columns
    )
    sub = Contract((replace(key_column, unique=True), by_name[contract.target], *attributes))
    violations: list[Violation] = []
    try:
        typed = sub.validate_frame(frame)
    except ContractViolation as error:
        violations += error.violations
        typed = None
    decided = pd.Series(dtype="datetime64[ns, UTC]")
    if DECIDED_AT not in frame.columns:
        violations.append(Violation(column=DECIDED_AT, rule="column present", rows=None))
    else:
        decided = pd.to_datetime(frame[DECIDED_AT], errors="coerce", utc=True, format="mixed")
        bad = decided.isna()
        if count := int(bad.sum()):
            shown = tuple(repr(v) for v in frame.loc[bad, DECIDED_AT].unique()[:_EXAMPLES])
            violations.append(
                Violation(
                    column=DECIDED_AT, rule="a date and time (ISO 8601)", rows=count, examples=shown
                )
            )
    if violations or typed is None:
        raise ContractViolation(violations, where="feedback")
    return pd.DataFrame(
        {
            "key": typed[contract.key].map(normalise_key).astype(object),
            "label": typed[contract.target],
            DECIDED_AT: decided.astype("datetime64[ns, UTC]"),
            **{c.name: typed[c.name] for c in attributes},
        }
    ).reset_index(drop=True)


def ingest_feedback(
    source: Path, store: Path, contract: Contract, *, now: datetime | None = None
) -> FeedbackReceipt:
    """Validate the labels in ``source`` and add them to ``store`` unless already there.

    Args:
        source: A CSV or Parquet file with the key column, the target column and ``decided_at``.
        store: The feedback store directory (created when missing).
        contract: The project's contract: its key and target columns and their rules.
        now: The ingestion time (tests pass one); defaults to the current UTC time.

    Raises:
        PipelineError: The file cannot be read (the message names it and the fix), or it breaks
            the contract (:class:`~mlplat_runtime.errors.ContractViolation`).
    """
    labels = validate_feedback(read_table(source, what="feedback SOURCE"), contract)
    digest = _content_hash(labels)
    folder = store / _BATCHES
    record_path = folder / f"{digest[:16]}.json"
    if record_path.exists():
        first = json.loads(record_path.read_text("utf-8"))
        return FeedbackReceipt(**{**first, "source": str(source), "added": False})
    history = label_history(store)
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    batch = labels.assign(ingested_at=pd.Timestamp(stamp), batch=digest[:16])
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{digest[:16]}.parquet.tmp"
    batch.to_parquet(tmp, index=False)
    os.replace(tmp, folder / f"{digest[:16]}.parquet")
    after = _latest(pd.concat([history, batch], ignore_index=True) if len(history) else batch)
    merged = _latest(history).merge(after, on="key", suffixes=("_old", "_new"))
    corrections = int((merged["label_old"] != merged["label_new"]).sum())
    receipt = FeedbackReceipt(
        source=str(source),
        content_hash=digest,
        rows=len(labels),
        added=True,
        corrections=corrections,
        ingested_at=stamp.isoformat(timespec="seconds"),
    )
    # The record is written last: a batch without one is stored again by the next run.
    record_path.write_text(json.dumps(asdict(receipt), indent=2, sort_keys=True) + "\n", "utf-8")
    return receipt


def label_history(store: Path) -> pd.DataFrame:
    """Every stored label of every batch: key, label, decided_at, ingested_at, batch."""
    folder = store / _BATCHES
    parts = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    stored = [pd.read_parquet(p) for p in parts if (folder / f"{p.stem}.json").exists()]
    if not stored:
        return pd.DataFrame(
            {
                "key": pd.Series(dtype=object),
                "label": pd.Series(dtype=object),
                DECIDED_AT: pd.Series(dtype="datetime64[ns, UTC]"),
                "ingested_at": pd.Series(dtype="datetime64[ns, UTC]"),
                "batch": pd.Series(dtype=object),
            }
        )
    return pd.concat(stored, ignore_index=True)


def latest_labels(store: Path) -> pd.DataFrame:
    """The label in force per key: newest ``decided_at``, ties broken by the later ingestion."""
    return _latest(label_history(store))


def _latest(history: pd.DataFrame) -> pd.DataFrame:
    ordered = history.sort_values([DECIDED_AT, "ingested_at", "batch"], kind="stable")
    return ordered.drop_duplicates("key", keep="last").reset_index(drop=True)


__all__ = [
    "DECIDED_AT",
    "FeedbackReceipt",
    "ingest_feedback",
    "label_history",
    "latest_labels",
    "validate_feedback",
]
