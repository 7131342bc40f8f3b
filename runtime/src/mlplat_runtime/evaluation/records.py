"""Prediction records: the typed schema, the JSON-lines reader, and compaction into Parquet.

Why: the server's prediction log (``serving/monitor.py``, ``FileSink``) appends one JSON object
per predicted row to ``predictions-<worker>.jsonl`` and rotates it to ``.jsonl.1`` ... ``.jsonl.N``.
The monitor needs those rows as one typed table it can join to ground truth. A record holds
``ts`` (epoch seconds), ``model_name``, ``model_version``, ``key`` (the contract's key column or
``null``), ``features`` (the inputs the model saw, after feature lookup), ``prediction`` and, for
classifiers, ``proba``; ``request_id`` and ``contract_violations`` are read when a server writes
them and are ``None`` otherwise. A request the contract rejected is recorded with its messages
in ``contract_violations`` and no prediction: it counts toward the violation rate, never toward
quality.

A rotated file never changes again (rotation only renames it), so compaction identifies a file by
the SHA-256 of its bytes: the same content is compacted once, whatever its name at the time, and
the reader skips JSON-lines files already in the store. Only rotated files are compacted; the
active file keeps growing and is read as JSON lines.

A deployed server ships its records to the object store instead (``serving/shipper.py``) as
gzip-compressed batches ``predictions-<UTC time>-<pod>-w<worker>-<sequence>.jsonl.gz``, which the
monitor's Argo step downloads into the log directory: they match the same pattern, never change
once written, and are compacted like rotated files.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FEATURE_PREFIX = "feature:"
COLUMNS = (
    "request_id",
    "key",
    "model_name",
    "model_version",
    "time",
    "prediction",
    "score",
    "contract_violations",
)
_PATTERN = "predictions-*.jsonl*"
_REQUIRED = ("ts", "model_version", "prediction")
_STORE_MANIFESTS = "sources"


@dataclass(frozen=True, kw_only=True)
class PredictionRecord:
    """One predicted row, as the server records it.

    Attributes:
        request_id: The request's id when the server records it, else ``None``.
        key: The row key (the contract's key column) as text, or ``None`` when the request had
            none; such a prediction can be counted but never joined to a label.
        model_name: Registered model name.
        model_version: Registered model version that answered.
        time: When it was predicted, seconds since the epoch (UTC).
        features: The model's inputs after feature lookup; ``None`` for a null.
        prediction: The predicted label (classification) or value (regression); ``None`` for a
            request the contract rejected (``contract_violations`` then holds why).
        proba: Class probabilities in the model's class order (classification), else ``None``.
        contract_violations: The contract's messages for this request, when recorded.
    """

    request_id: str | None
    key: str | None
    model_name: str
    model_version: str
    time: float
    features: Mapping[str, float | None] = field(default_factory=dict)
    prediction: float | int | str | None
    proba: tuple[float, ...] | None = None
    contract_violations: tuple[str, ...] | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PredictionRecord:
        """Build a record from one decoded JSON line.

        Raises:
            ValueError: A required field (``ts``, ``model_version``, ``prediction``) is missing
                or ``ts`` is not a number; the message names the field.
        """
        required: tuple[str, ...] = _REQUIRED
        if data.get("contract_violations"):  # a rejected request: recorded without a prediction
            required = tuple(n for n in _REQUIRED if n != "prediction")
        missing = [name for name in required if data.get(name) is None]
        if missing:
            raise ValueError(f"missing field(s) {', '.join(missing)}")
        ts = data["ts"]
        if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
            raise ValueError(f"field ts is not a time in epoch seconds: {ts!r}")
        proba = data.get("proba")
        violations = data.get("contract_violations")
        features = data.get("features") or {}
        return cls(
            request_id=None if data.get("request_id") is None else str(data["request_id"]),
            key=normalise_key(data.get("key")),
            model_name=str(data.get("model_name") or ""),
            model_version=str(data["model_version"]),
            time=float(ts),
            features={str(k): None if v is None else float(v) for k, v in features.items()},
            prediction=data["prediction"],
            proba=None if proba is None else tuple(float(p) for p in proba),
            contract_violations=None if violations is None else tuple(map(str, violations)),
        )

    def to_json(self) -> dict[str, Any]:
        """The record as the server writes it (the inverse of :meth:`from_json`)."""
        out: dict[str, Any] = {
            "ts": self.time,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "key": self.key,
            "features": dict(self.features),
            "prediction": self.prediction,
        }
        if self.request_id is not None:
            out["request_id"] = self.request_id
        if self.proba is not None:
            out["proba"] = list(self.proba)
        if self.contract_violations is not None:
            out["contract_violations"] = list(self.contract_violations)
        return out


def normalise_key(value: Any) -> str | None:
    """A row key as text, equal for ``12``, ``12.0`` and ``"12"`` (JSON, CSV and Parquet differ)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    text = str(value).strip()
    return text or None


@dataclass(frozen=True, kw_only=True)
class RecordTable:
    """Prediction records as one table, and what could not be read.

    Attributes:
        frame: One row per record: :data:`COLUMNS` (``time`` as UTC timestamps, ``score`` the
            positive-class probability of a binary classifier or NaN, ``contract_violations`` a
            count or NA when not recorded) plus one ``feature:<name>`` column per input.
        skipped: Lines that were not a valid record (a line cut by a crash, a foreign line).
        problems: The first few of those, as ``file:line: reason``.
    """

    frame: pd.DataFrame
    skipped: int = 0
    problems: tuple[str, ...] = ()


def _score(proba: tuple[float, ...] | None) -> float:
    # A binary classifier's positive class is the second of its (sorted) classes, as in evaluate.
    return proba[1] if proba is not None and len(proba) == 2 else float("nan")


def records_frame(records: Iterable[PredictionRecord]) -> pd.DataFrame:
    """The table of :class:`RecordTable` built from records (also used to write test fixtures)."""
    rows = []
    for r in records:
        row: dict[str, Any] = {
            "request_id": r.request_id,
            "key": r.key,
            "model_name": r.model_name,
            "model_version": r.model_version,
            "time": r.time,
            "prediction": r.prediction,
            "score": _score(r.proba),
            "contract_violations": (
                None if r.contract_violations is None else len(r.contract_violations)
            ),
        }
        row.update({FEATURE_PREFIX + k: v for k, v in r.features.items()})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=None if rows else list(COLUMNS))
    frame["time"] = pd.to_datetime(frame["time"].astype("float64"), unit="s", utc=True)
    frame["score"] = frame["score"].astype("float64")
    frame["contract_violations"] = frame["contract_violations"].astype("Int64")
    for name in ("request_id", "key", "model_name", "model_version"):
        frame[name] = frame[name].astype(object)
    return frame


def _read_jsonl(path: Path, problems: list[str]) -> tuple[list[PredictionRecord], int]:
    records, skipped = [], 0
    number = 0
    opener: Any = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                    if not isinstance(data, dict):
                        raise ValueError("not a JSON object")
                    records.append(PredictionRecord.from_json(data))
                except ValueError as error:  # JSONDecodeError is a ValueError
                    skipped += 1
                    if len(problems) < 5:
                        problems.append(f"{path.name}:{number}: {str(error).splitlines()[0]}")
    except (OSError, EOFError) as error:  # a shipped file cut short: keep what was read
        skipped += 1
        if len(problems) < 5:
            problems.append(f"{path.name}:{number + 1}: unreadable: {error}")
    return records, skipped


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def log_files(directory: Path) -> list[Path]:
    """The server's prediction files in ``directory``: ``predictions-*.jsonl`` and rotations."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob(_PATTERN) if p.is_file())


def _is_rotated(path: Path) -> bool:
    return not path.name.endswith(".jsonl")


def compacted_sources(store: Path) -> set[str]:
    """Content hashes of the JSON-lines files already compacted into ``store``."""
    manifests = store / _STORE_MANIFESTS
    return {p.stem for p in manifests.glob("*.json")} if manifests.is_dir() else set()


def compact(log_dir: Path, store: Path, *, remove_sources: bool = False) -> list[str]:
    """Compact the rotated JSON-lines files of ``log_dir`` into Parquet partitions in ``store``.

    Each source file becomes ``store/day=YYYY-MM-DD/part-<hash>.parquet`` (one per UTC day its
    records span) and a manifest ``store/sources/<hash>.json`` written last, so a crash midway
    leaves a source that the next run compacts again (its stale parts are replaced). Idempotent:
    a file whose content hash has a manifest is skipped.

    Args:
        log_dir: The server's prediction log directory.
        store: The Parquet store (created when missing).
        remove_sources: Delete each source file once compacted (the server's rotation would
            drop it later anyway).

    Returns:
        The content hashes compacted by this call (empty when there was nothing new).
    """
    done = compacted_sources(store)
    new: list[str] = []
    for path in filter(_is_rotated, log_files(log_dir)):
        digest = _digest(path)
        if digest in done:
            if remove_sources:
                path.unlink()
            continue
        problems: list[str] = []
        records, skipped = _read_jsonl(path, problems)
        frame = records_frame(records)
        for stale in store.glob(f"day=*/part-{digest}.parquet"):
            stale.unlink()
        for day, part in frame.groupby(frame["time"].dt.strftime("%Y-%m-%d"), sort=True):
            target = store / f"day={day}" / f"part-{digest}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".parquet.tmp")
            part.to_parquet(tmp, index=False)
            os.replace(tmp, target)
        manifest = store / _STORE_MANIFESTS / f"{digest}.json"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        manifest.write_text(
            json.dumps({"source": path.name, "records": len(frame), "skipped": skipped}) + "\n",
            "utf-8",
        )
        done.add(digest)
        new.append(digest)
        if remove_sources:
            path.unlink()
    return new


def read_records(log_dir: Path, store: Path | None = None) -> RecordTable:
    """Every prediction record: the Parquet ``store`` plus JSON-lines files not compacted yet.

    Args:
        log_dir: The server's prediction log directory (may be missing: no records there).
        store: The compaction store, or ``None`` to read JSON lines only.
    """
    problems: list[str] = []
    skipped = 0
    frames: list[pd.DataFrame] = []
    done: set[str] = set()
    if store is not None and store.is_dir():
        done = compacted_sources(store)
        parts = sorted(store.glob("day=*/part-*.parquet"))
        frames += [pd.read_parquet(p) for p in parts if p.stem.removeprefix("part-") in done]
    records: list[PredictionRecord] = []
    for path in log_files(log_dir):
        if _is_rotated(path) and _digest(path) in done:
            continue
        found, bad = _read_jsonl(path, problems)
        records += found
        skipped += bad
    frames.append(records_frame(records))
    frame = _concat(frames)
    return RecordTable(frame=frame, skipped=skipped, problems=tuple(problems))


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)] or [frames[-1]]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].copy()
    frame["contract_violations"] = frame["contract_violations"].astype("Int64")
    return frame.sort_values("time", kind="stable", ignore_index=True)


__all__ = [
    "COLUMNS",
    "FEATURE_PREFIX",
    "PredictionRecord",
    "RecordTable",
    "compact",
    "compacted_sources",
    "log_files",
    "normalise_key",
    "read_records",
    "records_frame",
]
