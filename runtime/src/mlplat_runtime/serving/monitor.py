"""Continued model evaluation: sampled prediction records and a drift check of live inputs.

Why: a model's quality can only be known after the fact, by joining what it predicted (with the
row key and model version) to ground truth that arrives later; and inputs drifting away from the
training data are the early warning. Both run off the hot path: the request thread only appends a
sampled record to a bounded queue (dropping and counting when full, so a slow sink can never slow
or grow the server) and a writer thread does the rest through a breaker, retries and a timeout.

A record (one per row; ``mlplat_runtime.evaluation.records`` reads them) holds what a join to
ground truth needs: ``request_id`` (the request's OIP ``id``, else its ``X-Request-Id`` header,
else one made here), ``key`` (the contract's key column when the request has it), ``model_name``
and ``model_version``, ``ts``, ``features`` (the inputs the model saw, after feature lookup),
``prediction`` (and ``proba`` for classifiers) and ``contract_violations``: ``[]`` for a served
row; a request the contract rejected is recorded too, at the same sample rate, with the
contract's messages and ``prediction: null``, so the monitor can report the rate of requests
that broke the contract.
"""

from __future__ import annotations

import collections
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import orjson

from .metrics import Metrics
from .resilience import CircuitBreaker, RetryPolicy, guarded_call

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Where prediction records go; `write` may fail or hang, the caller guards it."""

    def write(self, lines: list[bytes]) -> None:
        """Persist newline-free JSON lines."""


class FileSink:
    """JSON lines in `directory`, one file per worker, rotated by size with a bounded count."""

    def __init__(
        self, directory: Path, *, worker: int, max_bytes: int = 64 << 20, keep: int = 5
    ) -> None:
        self.path = directory / f"predictions-{worker}.jsonl"
        self.max_bytes = max_bytes
        self.keep = keep

    def write(self, lines: list[bytes]) -> None:
        """Append lines, rotating first when the file is full."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and self.path.stat().st_size > self.max_bytes:
            for i in range(self.keep - 1, 0, -1):
                older = self.path.with_suffix(f".jsonl.{i}")
                if older.exists():
                    os.replace(older, self.path.with_suffix(f".jsonl.{i + 1}"))
            os.replace(self.path, self.path.with_suffix(".jsonl.1"))
        with self.path.open("ab") as handle:
            handle.write(b"\n".join(lines) + b"\n")


class DriftMonitor:
    """Population stability index (PSI) of live inputs per feature, over fixed-size windows."""

    def __init__(
        self,
        features: Sequence[str],
        reference: Mapping[str, Mapping[str, Sequence[float]]],
        *,
        window: int,
    ) -> None:
        self.features = list(features)
        self.window = window
        self._cols: list[tuple[int, np.ndarray, np.ndarray]] = []
        for j, feature in enumerate(features):
            prof = reference.get(feature)
            if not prof or len(prof.get("edges", ())) != len(prof.get("fractions", ())) + 1:
                continue
            self._cols.append(
                (
                    j,
                    np.asarray(prof["edges"], dtype=np.float64),
                    np.asarray(prof["fractions"], dtype=np.float64),
                )
            )
        self._counts = [np.zeros(len(frac)) for _, _, frac in self._cols]
        self._rows = 0
        self.last_psi = [float("nan")] * len(features)  # NaN: not measured yet

    def update(self, rows: np.ndarray) -> bool:
        """Add live rows; return True when a window completed and `last_psi` was refreshed."""
        if not self._cols:
            return False
        for (j, edges, frac), counts in zip(self._cols, self._counts, strict=True):
            col = rows[:, j]
            col = col[~np.isnan(col)]
            counts += np.bincount(
                np.searchsorted(edges[1:-1], col, side="right"), minlength=len(frac)
            )[: len(frac)]
        self._rows += rows.shape[0]
        if self._rows < self.window:
            return False
        for (j, _, frac), counts in zip(self._cols, self._counts, strict=True):
            live = np.clip(counts / max(counts.sum(), 1.0), 1e-4, None)
            ref = np.clip(frac, 1e-4, None)
            self.last_psi[j] = float(np.sum((live - ref) * np.log(live / ref)))
            counts[:] = 0
        self._rows = 0
        return True


class PredictionLog:
    """Bounded, sampled, asynchronous prediction log feeding the sink and the drift monitor."""

    def __init__(
        self,
        *,
        sink: Sink | None,
        metrics: Metrics,
        sample_rate: float,
        capacity: int,
        breaker: CircuitBreaker,
        policy: RetryPolicy,
        flush_s: float = 0.1,
    ) -> None:
        self.sink = sink
        self.metrics = metrics
        self.sample_rate = sample_rate
        self.capacity = capacity
        self.breaker = breaker
        self.policy = policy
        self.flush_s = flush_s
        self.drift: DriftMonitor | None = None
        self.features: Sequence[str] = ()
        self.model_name = ""
        self._queue: collections.deque[tuple[Any, ...]] = collections.deque()
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def offer(
        self,
        version: str,
        keys: list[Any] | None,
        rows: np.ndarray,
        predict: np.ndarray,
        proba: np.ndarray | None,
        *,
        request_id: str | None = None,
    ) -> None:
        """Maybe sample one request's rows (hot path: one random draw, one append)."""
        self._enqueue((time.time(), version, keys, rows, predict, proba, request_id, None))

    def offer_rejected(
        self,
        version: str,
        keys: list[Any] | None,
        rows: np.ndarray,
        problems: Sequence[str],
        *,
        request_id: str | None = None,
    ) -> None:
        """Maybe sample a request the data contract rejected (no prediction; its messages)."""
        entry = (time.time(), version, keys, rows, None, None, request_id, tuple(problems))
        self._enqueue(entry)

    def _enqueue(self, entry: tuple[Any, ...]) -> None:
        if self.sample_rate <= 0.0 or random.random() >= self.sample_rate:
            return
        if len(self._queue) >= self.capacity:
            self.metrics.inc("log_dropped")
            return
        self._queue.append(entry)
        self.metrics.inc("log_enqueued")

    def stop(self, timeout_s: float) -> None:
        """Flush what is queued (bounded by `timeout_s`) and stop the writer."""
        self._stop = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_s)
            self._wake.clear()
            batch = [self._queue.popleft() for _ in range(len(self._queue))]
            if batch:
                try:
                    self._write(batch)
                except Exception:  # the writer must outlive any one bad batch
                    self.metrics.inc("log_sink_errors")
                    self.metrics.inc("log_lost", sum(b[3].shape[0] for b in batch))
                    log.exception("prediction log: a batch of %d requests lost", len(batch))
            if self._stop and not self._queue:
                return

    def _write(self, batch: list[tuple[Any, ...]]) -> None:
        """Update drift once for the whole flush, then format records, yielding the GIL often.

        The writer shares the interpreter with the event loop: work is done in small slices
        (`time.sleep(0)` between them) so it never holds the loop up for long.
        """
        served = [b[3] for b in batch if b[7] is None]  # drift watches what the model saw
        if self.drift is not None and served and self.drift.update(np.concatenate(served)):
            self.metrics.set_drift(self.drift.last_psi)
            self.metrics.inc("drift_windows")
        lines = []
        features = self.features
        for n, (ts, version, keys, rows, predict, proba, request_id, problems) in enumerate(batch):
            if n % 16 == 15:
                time.sleep(0)
            rid = request_id if request_id is not None else uuid.uuid4().hex
            violations = list(problems) if problems is not None else []
            for i in range(rows.shape[0]):
                record: dict[str, Any] = {
                    "ts": ts,
                    "request_id": rid,
                    "model_name": self.model_name,
                    "model_version": version,
                    "key": keys[i] if keys is not None else None,
                    "features": dict(zip(features, rows[i].tolist(), strict=False)),
                    "prediction": None,
                    "contract_violations": violations,
                }
                if predict is not None:
                    value = predict[i]
                    record["prediction"] = value.item() if hasattr(value, "item") else value
                if proba is not None:
                    record["proba"] = proba[i].tolist()
                lines.append(orjson.dumps(record))
        if self.sink is None:
            return
        sink = self.sink
        try:
            guarded_call(lambda: sink.write(lines), breaker=self.breaker, policy=self.policy)
        except Exception as exc:  # a failing sink costs records, never the server
            self.metrics.inc("log_sink_errors")
            self.metrics.inc("log_lost", len(lines))
            log.warning("prediction log: %d records lost: %s", len(lines), exc)
        else:
            self.metrics.inc("log_written", len(lines))


__all__ = ["DriftMonitor", "FileSink", "PredictionLog", "Sink"]
