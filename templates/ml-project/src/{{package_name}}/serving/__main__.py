"""`python -m <package>.serving`: parse flags, build settings, serve.

Why a thin layer: the flags map one to one onto `ServeSettings`, so every limit is visible in
`--help`, and tests drive `serve()` directly.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .. import contract
from .app import Loader
from .model import LoadedModel, ModelLoadError, load_model
from .resilience import CircuitBreaker, RetryPolicy
from .server import configure_logging, serve
from .settings import ServeSettings

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    d = ServeSettings()
    p = argparse.ArgumentParser(prog=f"python -m {__package__}", description=__doc__)
    p.add_argument("--host", default=d.host, help="interface to bind (default %(default)s)")
    p.add_argument("--port", type=int, default=d.port, help="TCP port (default %(default)s)")
    p.add_argument("--workers", type=int, default=d.workers, help="worker processes")
    p.add_argument(
        "--model-uri",
        default="",
        help="models:/NAME@champion (default), "
        "models:/NAME/VERSION, runs:/..., or a local model directory",
    )
    p.add_argument(
        "--deadline-ms",
        type=float,
        default=d.deadline_ms,
        help="default per-request deadline; header X-Request-Timeout-Ms overrides",
    )
    p.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes, help="413 above this")
    p.add_argument(
        "--max-inflight",
        type=int,
        default=d.max_inflight,
        help="queued + running prediction requests per worker (503 above)",
    )
    p.add_argument(
        "--max-connections", type=int, default=d.max_connections, help="open connections per worker"
    )
    p.add_argument(
        "--drain-grace-s",
        type=float,
        default=d.drain_grace_s,
        help="after SIGTERM keep serving this long with readiness false",
    )
    p.add_argument(
        "--drain-timeout-s",
        type=float,
        default=d.drain_timeout_s,
        help="upper bound to finish in-flight requests",
    )
    p.add_argument(
        "--log-dir", default=str(d.log_dir), help="prediction log directory ('' disables writing)"
    )
    p.add_argument(
        "--log-sample-rate",
        type=float,
        default=d.log_sample_rate,
        help="fraction of requests recorded",
    )
    p.add_argument(
        "--cpu-affinity",
        action=argparse.BooleanOptionalAction,
        default=d.cpu_affinity,
        help="pin each worker to its own CPU (default on; lower tail latency)",
    )
    p.add_argument("--verbose", action="store_true", help="debug logs and tracebacks")
    return p


def _settings(args: argparse.Namespace) -> ServeSettings:
    if args.workers < 1 or not 0 <= args.port <= 65535 or not 0 <= args.log_sample_rate <= 1:
        raise ValueError("--workers must be >= 1, --port 0..65535, --log-sample-rate 0..1")
    # A zero limit would start a server that refuses every request while reporting ready.
    for flag, value in (
        ("--deadline-ms", args.deadline_ms),
        ("--max-body-bytes", args.max_body_bytes),
        ("--max-inflight", args.max_inflight),
        ("--max-connections", args.max_connections),
    ):
        if not value > 0:
            raise ValueError(f"{flag} must be positive, got {value}")
    if args.drain_grace_s < 0 or args.drain_timeout_s < 0:
        raise ValueError("--drain-grace-s and --drain-timeout-s must be >= 0")
    uri = args.model_uri
    name = "model"
    if not uri or not uri.startswith(("models:", "runs:")) and "://" not in uri:
        from .. import config

        name = config.load_config().registry.model_name
        uri = uri or f"models:/{name}@champion"
    return ServeSettings(
        host=args.host,
        port=args.port,
        workers=args.workers,
        model_uri=uri,
        model_name=name,
        deadline_ms=args.deadline_ms,
        max_body_bytes=args.max_body_bytes,
        max_inflight=args.max_inflight,
        max_connections=args.max_connections,
        drain_grace_s=args.drain_grace_s,
        drain_timeout_s=args.drain_timeout_s,
        log_dir=Path(args.log_dir) if args.log_dir else None,
        log_sample_rate=args.log_sample_rate,
        cpu_affinity=args.cpu_affinity,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        settings = _settings(args)
    except Exception as exc:  # config errors name the key; show them without a traceback
        if args.verbose:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def make_loader(breaker: CircuitBreaker) -> Loader:
        def load() -> LoadedModel:
            return load_model(
                settings.model_uri,
                default_name=settings.model_name,
                features=tuple(contract.FEATURES),
                key=contract.KEY or "key",
                check=contract.check_batch,
                breaker=breaker,
                policy=RetryPolicy(
                    attempts=settings.registry_attempts, timeout_s=settings.registry_timeout_s
                ),
            )

        return load

    try:
        return serve(settings, make_loader)
    except (OSError, ModelLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
