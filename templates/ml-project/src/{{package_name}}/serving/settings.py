"""Server settings: one frozen, typed object built from the command line.

Why: every limit the stability patterns rely on (deadline, caps, timeouts, drain) is a number an
operator may need to change, so each is a flag with a safe default, and nothing reads globals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class ServeSettings:
    """Limits and knobs of one server.

    Attributes:
        host: interface to bind.
        port: TCP port (0 picks a free one).
        workers: worker processes sharing the listening socket.
        model_uri: models:/name@alias, models:/name/N, runs:/..., or a local model directory.
        model_name: name used in routes and responses when the URI carries none.
        deadline_ms: default per-request deadline; the X-Request-Timeout-Ms header overrides it.
        max_deadline_ms: upper bound for the header override.
        max_body_bytes: larger bodies get 413.
        max_connections: open connections per worker; more are closed at once.
        max_inflight: prediction requests queued or running per worker; more get 503.
        max_batch_rows: rows per model call (greedy batches are split above this).
        keepalive_s: idle keep-alive connections are closed after this.
        read_timeout_s: a request must arrive completely within this (slow clients get 408).
        drain_grace_s: after SIGTERM, keep serving this long with readiness false.
        drain_timeout_s: upper bound for finishing in-flight requests after the grace.
        log_dir: directory of the sampled prediction log (None disables writing).
        log_sample_rate: fraction of requests recorded for continued evaluation.
        log_capacity: bound of the prediction-log queue; records beyond it are dropped and counted.
        drift_window: sampled rows per drift-check window.
        registry_timeout_s: timeout of one model-registry attempt.
        registry_attempts: attempts for the registry before start-up fails.
        cpu_affinity: pin worker i to the i-th allowed CPU (Linux; only with several workers).
    """

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    model_uri: str = ""
    model_name: str = "model"
    deadline_ms: float = 1000.0
    max_deadline_ms: float = 60000.0
    max_body_bytes: int = 1 << 20
    max_connections: int = 4096
    max_inflight: int = 2048
    max_batch_rows: int = 512
    keepalive_s: float = 75.0
    read_timeout_s: float = 10.0
    drain_grace_s: float = 0.0
    drain_timeout_s: float = 30.0
    log_dir: Path | None = Path("prediction-logs")
    log_sample_rate: float = 0.05
    log_capacity: int = 10000
    drift_window: int = 1000
    registry_timeout_s: float = 60.0
    registry_attempts: int = 3
    cpu_affinity: bool = True


__all__ = ["ServeSettings"]
