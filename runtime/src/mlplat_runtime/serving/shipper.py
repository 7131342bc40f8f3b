"""Shipping prediction records to the object store, off the request path, bounded and breakered.

Why: on the platform the monitor runs elsewhere (an Argo step) and reads the records from the
platform's S3 bucket, so a deployed server must upload them; but the store may be slow or down,
and monitoring must never slow, grow or fail the server. So:

- `RecordShipper` is the prediction log's sink (``monitor.Sink``): ``write`` appends formatted
  lines to a pending buffer under a lock and returns (the log's writer thread calls it; the
  request path never does). A full buffer seals a batch at once.
- A batch is sealed by count (``batch_records``) or age (``batch_age_s``): gzip-compressed JSON
  lines named ``predictions-<UTC time>-<pod>-w<worker>-<sequence>.jsonl.gz``, unique per pod and
  worker and ordered by time. Sealed batches wait in a backlog of at most ``backlog`` batches,
  kept as files in ``spool`` when there is one (an ``emptyDir`` survives a container restart,
  and leftovers are picked up at start) or in memory otherwise. A batch that finds the backlog
  full is dropped and counted: the server never grows.
- One daemon thread uploads the oldest batch first, each PUT bounded by a connect and a read
  timeout, through a `CircuitBreaker`: consecutive failures open it, it is probed again after
  its cool-down, and failures back off exponentially with jitter meanwhile.
- `stop` (the SIGTERM drain) seals what is pending and uploads within the budget it is given;
  what is left stays in the spool for a restarted container.

``mlplat_runtime.evaluation.records`` reads these files as they are (``predictions-*.jsonl*``;
a shipped file never changes, so compaction takes it like a rotated one).
"""

from __future__ import annotations

import collections
import gzip
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .metrics import Metrics
from .resilience import CircuitBreaker, CircuitOpenError
from .s3 import S3Target, load_credentials, put_object

log = logging.getLogger(__name__)

#: Environment of a deployment that ships (the platform's ``ModelDeployment`` sets them).
ENV_URL = "MLPLAT_RECORDS_S3_URL"
ENV_ENDPOINT = "MLPLAT_RECORDS_S3_ENDPOINT"
ENV_REGION = "MLPLAT_RECORDS_S3_REGION"

#: Uploads a named batch body; raises on failure (tests replace it, the server uses `put_object`).
Upload = Callable[[str, bytes], None]


@dataclass(frozen=True, kw_only=True)
class ShipperLimits:
    """How much to buffer and how long to wait (the server's ``--ship-*`` settings)."""

    batch_records: int = 5000
    batch_age_s: float = 60.0
    backlog: int = 64
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 10.0
    max_backoff_s: float = 30.0


def target_from_env(environ: Mapping[str, str] | None = None) -> S3Target | None:
    """The shipping target from ``MLPLAT_RECORDS_S3_*``, or None when not configured.

    Raises:
        ValueError: The variables are set but malformed (the message names the variable).
    """
    env = os.environ if environ is None else environ
    url = env.get(ENV_URL, "").strip()
    if not url:
        return None
    try:
        return S3Target.parse(
            url,
            endpoint=env.get(ENV_ENDPOINT, "").strip(),
            region=env.get(ENV_REGION, "").strip() or "us-east-1",
        )
    except ValueError as exc:
        raise ValueError(f"{ENV_URL}/{ENV_ENDPOINT}: {exc}") from None


def s3_upload(target: S3Target, limits: ShipperLimits) -> Upload:
    """An `Upload` that PUTs to ``target`` with fresh credentials each time (rotation)."""

    def upload(name: str, body: bytes) -> None:
        put_object(
            target,
            target.key(name),
            body,
            credentials=load_credentials(),
            amz_date=time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
            connect_timeout_s=limits.connect_timeout_s,
            read_timeout_s=limits.read_timeout_s,
            content_type="application/gzip",
        )

    return upload


class RecordShipper:
    """The prediction log's sink on the platform: batches, a bounded backlog, one uploader."""

    def __init__(
        self,
        *,
        upload: Upload,
        metrics: Metrics,
        breaker: CircuitBreaker,
        limits: ShipperLimits,
        worker: int = 0,
        spool: Path | None = None,
        source: str | None = None,
    ) -> None:
        self.upload = upload
        self.metrics = metrics
        self.breaker = breaker
        self.limits = limits
        self.spool = spool
        self.source = f"{source or socket.gethostname()}-w{worker}"
        self._lock = threading.Lock()
        self._pending: list[bytes] = []
        self._pending_since = 0.0
        self._sequence = 0
        self._last_sealed = 0.0
        self._backlog: collections.deque[tuple[str, bytes | None]] = collections.deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._deadline = float("inf")
        self._backoff = 0.0
        self._thread = threading.Thread(target=self._run, name="record-shipper", daemon=True)
        if spool is not None:
            spool.mkdir(parents=True, exist_ok=True)
            for torn in spool.glob(".predictions-*.tmp"):  # a write cut by a crash
                torn.unlink(missing_ok=True)
            for left in sorted(spool.glob("predictions-*.jsonl.gz"))[: limits.backlog]:
                self._backlog.append((left.name, None))  # a restarted container's leftovers
        self.metrics.set("ship_backlog", len(self._backlog))

    def start(self) -> None:
        """Start the uploader thread."""
        self._thread.start()

    # the sink side (the prediction log's writer thread) -------------------------------------
    def write(self, lines: list[bytes]) -> None:
        """Take formatted records; seal a batch when enough are pending.

        Never waits for the store: the most it does is one batch's gzip and spool write.
        """
        with self._lock:
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending.extend(lines)
            size = self.limits.batch_records
            while len(self._pending) >= size:
                self._seal_locked(self._pending[:size])
                del self._pending[:size]
                self._pending_since = time.monotonic()

    def _seal_pending_locked(self) -> None:
        records, self._pending = self._pending, []
        if records:
            self._seal_locked(records)

    def _seal_locked(self, records: list[bytes]) -> None:
        if len(self._backlog) >= self.limits.backlog:
            self.metrics.inc("ship_dropped_batches")
            self.metrics.inc("ship_dropped_records", len(records))
            return
        # Names sort in sealing order even if the wall clock steps back (NTP).
        now = self._last_sealed = max(time.time(), self._last_sealed)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
        millis = int(now * 1000) % 1000
        name = f"predictions-{stamp}.{millis:03d}Z-{self.source}-{self._sequence:06d}.jsonl.gz"
        self._sequence += 1
        body = gzip.compress(b"\n".join(records) + b"\n", compresslevel=5, mtime=0)
        if self.spool is not None:
            try:
                tmp = self.spool / f".{name}.tmp"
                tmp.write_bytes(body)
                os.replace(tmp, self.spool / name)
                self._backlog.append((name, None))
            except OSError as exc:  # a full disk: keep it in memory, still bounded by count
                log.warning("record shipper: spool write failed (%s); batch kept in memory", exc)
                self._backlog.append((name, body))
        else:
            self._backlog.append((name, body))
        self.metrics.set("ship_backlog", len(self._backlog))
        self._wake.set()

    # the uploader thread --------------------------------------------------------------------
    def stop(self, timeout_s: float) -> None:
        """Seal what is pending and upload within ``timeout_s``; leftovers stay spooled."""
        with self._lock:
            self._seal_pending_locked()
        self._deadline = time.monotonic() + timeout_s
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        wait = 0.0  # the backoff before the next attempt (0: none pending)
        while True:
            self._wake.wait(self._next_wait(wait))
            self._wake.clear()
            with self._lock:
                if self._pending and (
                    time.monotonic() - self._pending_since >= self.limits.batch_age_s
                ):
                    self._seal_pending_locked()
            wait = self._ship_backlog()
            if self._stop.is_set() and (not self._backlog or time.monotonic() >= self._deadline):
                return

    def _next_wait(self, backoff: float) -> float:
        if self._stop.is_set():
            return min(backoff, max(0.0, self._deadline - time.monotonic()))
        if backoff:
            return backoff
        with self._lock:
            if self._backlog:  # leftovers of a restarted container, or a batch sealed by write
                return 0.0
            if self._pending:
                age = time.monotonic() - self._pending_since
                return max(0.0, self.limits.batch_age_s - age)
        return self.limits.batch_age_s

    def _ship_backlog(self) -> float:
        """Upload oldest first until empty or a failure; return how long to back off (0: none).

        The backoff doubles with each consecutive failure (with jitter, capped); an open
        breaker is waited out in quarters of its cool-down.
        """
        while self._backlog:
            if self._stop.is_set() and time.monotonic() >= self._deadline:
                return 0.0
            with self._lock:
                name, body = self._backlog[0]
            try:
                self.breaker.before_call()
            except CircuitOpenError:
                return min(self.breaker.reset_s, self.limits.max_backoff_s) / 4
            try:
                data = body if body is not None else self._spooled(name).read_bytes()
                self.upload(name, data)
            except Exception as exc:  # any failure is the store's: count, back off, retry
                self.breaker.record_failure()
                self.metrics.inc("ship_failed_batches")
                log.warning("record shipper: upload of %s failed: %s", name, exc)
                self._backoff = min(max(self._backoff * 2, 0.5), self.limits.max_backoff_s)
                return self._backoff * (0.5 + random.random() / 2)
            self.breaker.record_success()
            self._backoff = 0.0
            self.metrics.inc("ship_batches")
            with self._lock:
                self._backlog.popleft()
                self.metrics.set("ship_backlog", len(self._backlog))
            if body is None:
                self._spooled(name).unlink(missing_ok=True)
        return 0.0

    def _spooled(self, name: str) -> Path:
        assert self.spool is not None, "a batch without a body is a spooled file"
        return self.spool / name


__all__ = [
    "ENV_ENDPOINT",
    "ENV_REGION",
    "ENV_URL",
    "RecordShipper",
    "ShipperLimits",
    "Upload",
    "s3_upload",
    "target_from_env",
]
