"""Serve the project's model over the Open Inference Protocol (V2) and MLflow's /invocations.

Every limit is a flag below; the defaults are safe. The champion of the configured model is
served unless --model-uri says otherwise; SIGTERM drains, SIGHUP reloads the model.
"""

from __future__ import annotations

import argparse
import logging
import sys

from .. import contract
from .app import Loader
from .guard import contract_check
from .model import LoadedModel, ModelLoadError, load_model
from .resilience import CircuitBreaker, RetryPolicy
from .server import configure_logging, serve
from .settings import ServeSettings

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    package = __package__ or "serving"
    p = argparse.ArgumentParser(prog=f"python -m {package}", description=__doc__)
    ServeSettings.add_arguments(p)
    p.add_argument("--verbose", action="store_true", help="debug logs and tracebacks")
    return p


def _settings(args: argparse.Namespace) -> ServeSettings:
    """The settings of the command line, the model URI resolved against the project config."""
    uri = args.model_uri
    name = args.model_name
    if not uri or not uri.startswith(("models:", "runs:")) and "://" not in uri:
        from .. import config

        name = config.load_config().registry.model_name
        uri = uri or f"models:/{name}@champion"
    return ServeSettings.from_arguments(args, model_uri=uri, model_name=name)


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
    check = contract_check()

    def make_loader(breaker: CircuitBreaker) -> Loader:
        def load() -> LoadedModel:
            return load_model(
                settings.model_uri,
                default_name=settings.model_name,
                features=tuple(contract.FEATURES),
                key=contract.KEY or "key",
                check=check,
                breaker=breaker,
                policy=RetryPolicy(
                    attempts=settings.registry_attempts, timeout_s=settings.registry_timeout_s
                ),
                use_compiled=settings.compiled,
            )

        return load

    try:
        return serve(settings, make_loader)
    except (OSError, ModelLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
