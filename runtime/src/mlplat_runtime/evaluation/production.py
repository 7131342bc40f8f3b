"""Labelled production rows as training data: what a project's ``make monitor RETRAIN=1`` ingests.

When the monitor decides ``retrain``, the predictions the server recorded (the inputs the model
saw, after feature lookup) joined to the labels in force become a table in the contract's shape:
the key, the features, the target and the attribute columns the labels carried. It is written to
``data/production/<window>/labelled.parquet`` with ``window.json`` beside it, saying which
production window it is (prediction times, model versions, label batches, the monitor's reason)
and where the most recent labelled window is (``recent.parquet``). ``ingest`` copies
``window.json`` into the snapshot's provenance, so the model card says what the model learned
from; ``evaluate`` compares challenger and champion on the recent window's rows of the test split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mlplat_runtime.errors import PipelineError
from mlplat_runtime.rules import Contract

from .feedback import latest_labels
from .join import join_labels
from .records import FEATURE_PREFIX, read_records

PRODUCTION_DIR = "data/production"
WINDOW_FILE = "window.json"


@dataclass(frozen=True, kw_only=True)
class LabelledRows:
    """Production rows in the contract's shape, with when each was predicted.

    Attributes:
        frame: Contract columns (key, features, target, attributes), one row per key.
        times: Prediction time of each row (UTC), aligned with ``frame``.
        versions: Model versions that made the predictions.
    """

    frame: pd.DataFrame
    times: pd.Series
    versions: tuple[str, ...]


def labelled_rows(
    log_dir: Path,
    record_store: Path,
    feedback_store: Path,
    contract: Contract,
    *,
    hours: float,
    window_hours: float,
) -> LabelledRows:
    """Recorded predictions joined to the labels in force, as contract-shaped rows.

    Only the monitor's windows (``window_hours`` wide) that end within ``hours`` of the newest
    labelled window's end count: after the relationship changed, older rows teach the old one.
    A key predicted more than once (a retry, two model versions) keeps its newest prediction.

    Raises:
        PipelineError: No labelled prediction, or the contract needs an attribute column the
            labels did not carry (the server never sees it: the feedback file must), or the
            contract has text or date features (their records hold the model's codes, not the
            values a training table needs).
    """
    typed = [*contract.text_features, *contract.date_features]
    if typed:
        raise PipelineError(
            f"production rows cannot be built for text or date features ({', '.join(typed)}): "
            "the prediction log records them as the model's codes, not their values; retrain "
            "from a data file with make pipeline instead"
        )
    labels = latest_labels(feedback_store)
    records = read_records(log_dir, record_store).frame
    served = records[records["prediction"].notna()]
    joined = join_labels(served, labels).frame
    joined = joined[joined["label"].notna()].sort_values("time", kind="stable")
    joined = joined.drop_duplicates("key", keep="last").reset_index(drop=True)
    if len(joined):
        width = pd.Timedelta(hours=window_hours)
        end = joined["time"].max().floor(f"{max(1, round(window_hours * 60))}min") + width
        joined = joined[joined["time"] >= end - pd.Timedelta(hours=hours)]
        joined = joined.reset_index(drop=True)
    if joined.empty:
        raise PipelineError(
            "no recorded prediction has a label yet: serve with a prediction log "
            "(make serve LOG_SAMPLE_RATE=1) and feed labels (make feedback SOURCE=labels.csv)"
        )
    key = contract.key
    assert key is not None  # feedback refuses a contract without a key
    out: dict[str, Any] = {key: joined["key"]}
    by_key = labels.set_index("key")
    for column in contract.columns:
        name = column.name
        if column.role == "feature":
            out[name] = joined[FEATURE_PREFIX + name]
        elif column.role == "target":
            out[name] = joined["label"]
        elif column.role == "attribute":
            if name not in by_key.columns:
                raise PipelineError(
                    f"the contract's attribute column {name!r} is in no feedback file: the "
                    "server never sees it, so the labels must carry it (add it to SOURCE)"
                )
            out[name] = joined["key"].map(by_key[name]).to_numpy()
    versions = tuple(sorted(map(str, joined["model_version"].unique())))
    return LabelledRows(frame=pd.DataFrame(out), times=joined["time"], versions=versions)


def write_window(
    rows: LabelledRows,
    root: Path,
    *,
    window_hours: float,
    min_labels: int,
    reason: str,
) -> Path:
    """Write the training table, the recent window and ``window.json``; return the table's path.

    The recent window is the newest ``window_hours`` of prediction time, widened a window at a
    time until it holds ``min_labels`` rows (or everything).
    """
    start, end = rows.times.min(), rows.times.max()
    width = pd.Timedelta(hours=window_hours)
    recent_start = end.floor(f"{max(1, round(window_hours * 60))}min")
    while (rows.times >= recent_start).sum() < min_labels and recent_start > start:
        recent_start -= width
    recent = rows.frame[(rows.times >= recent_start).to_numpy()]
    name = f"{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}"
    folder = root / PRODUCTION_DIR / name
    folder.mkdir(parents=True, exist_ok=True)
    table, recent_path = folder / "labelled.parquet", folder / "recent.parquet"
    rows.frame.to_parquet(table, index=False)
    recent.to_parquet(recent_path, index=False)
    record = {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "rows": len(rows.frame),
        "model_versions": list(rows.versions),
        "reason": reason,
        "recent": {
            "from": max(recent_start, start).isoformat(),
            "to": end.isoformat(),
            "rows": len(recent),
            "path": recent_path.relative_to(root).as_posix(),
        },
    }
    (folder / WINDOW_FILE).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", "utf-8")
    return table


def production_window(root: Path, source: str) -> dict[str, Any] | None:
    """The ``window.json`` beside a data source made by :func:`write_window`, else ``None``."""
    if source.startswith("builtin:"):
        return None
    path = (root / source).resolve().parent / WINDOW_FILE
    if not path.is_file():
        return None
    window: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return window


__all__ = [
    "PRODUCTION_DIR",
    "WINDOW_FILE",
    "LabelledRows",
    "labelled_rows",
    "production_window",
    "write_window",
]
