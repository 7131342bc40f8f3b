"""Server settings: one frozen, typed, validated object; the command line is generated from it.

Why: every limit the stability patterns rely on (deadline, caps, timeouts, drain) is a number an
operator may need to change. Each is declared once, here, with its help text and its bounds: the
flags of `python -m <package>.serving` are derived from these fields, and a value out of bounds
is refused by the type itself, whoever builds it (the command line, a test, the benchmark).
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _knob(
    default: Any, help: str, *, minimum: float | None = None, maximum: float | None = None
) -> Any:
    """A setting: default, help text and inclusive bounds (kept in the field's metadata)."""
    return field(default=default, metadata={"help": help, "min": minimum, "max": maximum})


def _positive(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help, "positive": True})


@dataclass(frozen=True, kw_only=True)
class ServeSettings:
    """Limits and knobs of one server; see each field's help (`--help` prints it)."""

    host: str = _knob("127.0.0.1", "interface to bind")
    port: int = _knob(8080, "TCP port (0 picks a free one)", minimum=0, maximum=65535)
    workers: int = _knob(1, "worker processes sharing the port", minimum=1, maximum=256)
    model_uri: str = _knob(
        "",
        "models:/NAME@champion (default: the configured model's champion), models:/NAME/VERSION, "
        "runs:/..., or a local model directory",
    )
    model_name: str = _knob("model", "name in routes and responses when the URI carries none")
    compiled: bool = _knob(
        True, "serve the compiled (ONNX) form when the model carries one; off: sklearn"
    )
    deadline_ms: float = _positive(
        1000.0, "default per-request deadline; header X-Request-Timeout-Ms overrides it"
    )
    max_deadline_ms: float = _positive(60000.0, "upper bound for the header override")
    max_body_bytes: int = _positive(1 << 20, "larger bodies get 413")
    max_connections: int = _positive(4096, "open connections per worker; more are closed")
    max_inflight: int = _positive(
        2048, "prediction requests queued or running per worker (503 above)"
    )
    max_batch_rows: int = _positive(512, "rows per model call (greedy batches split above)")
    keepalive_s: float = _positive(75.0, "idle keep-alive connections are closed after this")
    read_timeout_s: float = _positive(
        10.0, "a request must arrive within this (else 408); a silent connection is closed"
    )
    send_timeout_s: float = _positive(
        60.0, "a client that reads none of its responses for this long is dropped"
    )
    drain_grace_s: float = _knob(
        0.0, "after SIGTERM keep accepting this long with readiness false", minimum=0
    )
    drain_timeout_s: float = _knob(
        30.0, "then finish in-flight requests within this upper bound", minimum=0
    )
    log_dir: Path | None = _knob(
        Path("prediction-logs"), "prediction log directory ('' disables writing)"
    )
    log_sample_rate: float = _knob(0.05, "fraction of requests recorded", minimum=0, maximum=1)
    log_capacity: int = _positive(10000, "bound of the prediction-log queue (drops beyond)")
    drift_window: int = _positive(1000, "sampled rows per drift-check window")
    ship_batch_records: int = _positive(
        5000, "records per batch shipped to the object store (when MLPLAT_RECORDS_S3_URL is set)"
    )
    ship_batch_age_s: float = _positive(60.0, "a batch is shipped at the latest this old")
    ship_backlog: int = _positive(
        64, "batches waiting for the object store at most (newer ones are dropped, counted)"
    )
    ship_connect_timeout_s: float = _positive(2.0, "connect timeout of one upload")
    ship_read_timeout_s: float = _positive(10.0, "read timeout of one upload")
    registry_timeout_s: float = _positive(60.0, "timeout of one model-registry attempt")
    registry_attempts: int = _positive(3, "registry attempts before start-up fails")
    cpu_affinity: bool = _knob(
        True, "pin each worker to its own CPU (Linux; several workers; lower tail latency)"
    )
    online_features: bool = _knob(
        True,
        "look features up by key in the project's feature source (a project without one "
        "ignores this); off: every request carries its features",
    )
    feature_timeout_ms: float = _positive(
        50.0, "budget of one online lookup, within the request's deadline; slower: fallback"
    )
    feature_threads: int = _positive(4, "online lookups at once per worker (a bulkhead)")
    feature_defaults: str = _knob(
        "",
        "JSON file {feature: value} for rows sent with keys only when the online store cannot "
        "answer ('' : 503 instead)",
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            flag = "--" + f.name.replace("_", "-")
            meta = f.metadata
            if meta.get("positive") and not value > 0:
                raise ValueError(f"{flag} must be positive, got {value}")
            if meta.get("min") is not None and not value >= meta["min"]:
                raise ValueError(f"{flag} must be >= {meta['min']:g}, got {value}")
            if meta.get("max") is not None and not value <= meta["max"]:
                raise ValueError(f"{flag} must be <= {meta['max']:g}, got {value}")

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add one flag per setting (`--max-inflight` for `max_inflight`), defaults shown."""
        defaults = cls()
        for f in dataclasses.fields(cls):
            flag = "--" + f.name.replace("_", "-")
            default = getattr(defaults, f.name)
            helptext = f.metadata["help"]
            if isinstance(default, bool):
                parser.add_argument(
                    flag, action=argparse.BooleanOptionalAction, default=default, help=helptext
                )
                continue
            kind: Any = type(default) if isinstance(default, int | float) else str
            shown = "" if default == "" else " (default %(default)s)"
            parser.add_argument(
                flag,
                type=kind,
                default=str(default) if isinstance(default, Path) else default,
                help=helptext + shown,
            )

    @classmethod
    def from_arguments(cls, args: argparse.Namespace, **overrides: Any) -> ServeSettings:
        """Build settings from parsed flags (validated); `overrides` replace single fields."""
        values: dict[str, Any] = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)}
        log_dir = values["log_dir"]
        values["log_dir"] = Path(log_dir) if log_dir else None
        return cls(**(values | overrides))


__all__ = ["ServeSettings"]
