"""Serve a project's model over the Open Inference Protocol (V2) and MLflow's /invocations.

A project's serving entry is a few lines: it names its contract, the registered model's name
and, optionally, a feature source, then calls :func:`main`. Every limit is a flag; the defaults
are safe. The champion of the project's model is served unless --model-uri says otherwise;
SIGTERM drains, SIGHUP reloads the model.

Exit codes: 0 after a drain on SIGTERM; 1 when the model cannot be served (the alias does not
exist, e.g. no champion because a gate held the model back: the message names the gates and the
command that serves the challenger; or a load failure); 2 for bad flags or configuration.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mlplat_runtime.rules import Contract

from .app import Loader
from .guard import contract_check
from .model import LoadedModel, ModelLoadError, load_model
from .online import Fetch, OnlineFeatures, load_defaults
from .preflight import NOT_SERVABLE, check_servable
from .resilience import CircuitBreaker, RetryPolicy
from .server import OnlineFactory, configure_logging, serve
from .settings import ServeSettings

__all__ = ["FeatureSource", "ServingProject", "main"]

log = logging.getLogger(__name__)

#: A feature source looks features up by key (a feature store). Called once, before any worker
#: starts, so a configuration mistake stops the server at once; it returns the opener each
#: worker calls after the fork to get its own ``Fetch`` (keys in, columns of values out).
FeatureSource = Callable[[], Callable[[], Fetch]]


@dataclass(frozen=True, kw_only=True)
class ServingProject:
    """What a project tells the runtime to serve.

    Example::

        PROJECT = ServingProject(
            prog="python -m churn.serving",
            contract=contract.CONTRACT,
            model_name=lambda: load_config().registry.model_name,
        )
        sys.exit(main(PROJECT))

    Attributes:
        prog: how the command is invoked (its ``--help`` says so).
        contract: the data contract; its features are the model's inputs, its key the row key.
        model_name: the registered model's name, read when no --model-uri names one.
        feature_source: where keys-only requests get their features; None (the default): every
            request carries its features and the feature-lookup flags do nothing.
    """

    prog: str
    contract: Contract
    model_name: Callable[[], str]
    feature_source: FeatureSource | None = None


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__)
    ServeSettings.add_arguments(p)
    p.add_argument("--verbose", action="store_true", help="debug logs and tracebacks")
    return p


def _settings(args: argparse.Namespace, project: ServingProject) -> ServeSettings:
    """The settings of the command line, the model URI resolved against the project."""
    uri = args.model_uri
    name = args.model_name
    if not uri or not uri.startswith(("models:", "runs:")) and "://" not in uri:
        name = project.model_name()
        uri = uri or f"models:/{name}@champion"
    return ServeSettings.from_arguments(args, model_uri=uri, model_name=name)


def main(project: ServingProject, argv: Sequence[str] | None = None) -> int:
    """Serve ``project``'s model; returns the process exit code (2: bad flags or config)."""
    args = _parser(project.prog).parse_args(argv)
    configure_logging(args.verbose)
    try:
        settings = _settings(args, project)
        make_online = _online_factory(settings, project)
    except Exception as exc:  # config errors name the key; show them without a traceback
        if args.verbose:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # Once, before any worker: a missing alias (no champion yet) is a reason to give, not a
    # load to retry in every worker until the supervisor gives up.
    held_back = check_servable(
        settings.model_uri, prog=project.prog, request_timeout_s=settings.registry_timeout_s
    )
    if held_back is not None:
        print(f"error: {held_back}", file=sys.stderr)
        return NOT_SERVABLE
    check = contract_check(project.contract)
    contract = project.contract

    def make_loader(breaker: CircuitBreaker) -> Loader:
        def load() -> LoadedModel:
            return load_model(
                settings.model_uri,
                default_name=settings.model_name,
                features=tuple(contract.features),
                key=contract.key or "key",
                check=check,
                breaker=breaker,
                policy=RetryPolicy(
                    attempts=settings.registry_attempts, timeout_s=settings.registry_timeout_s
                ),
                use_compiled=settings.compiled,
            )

        return load

    try:
        return serve(settings, make_loader, make_online)
    except (OSError, ModelLoadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _online_factory(settings: ServeSettings, project: ServingProject) -> OnlineFactory | None:
    """The feature source's client of each worker, or None (no source, or --no-online-features).

    The source's configuration and the defaults file are read here, before any worker starts,
    so a mistake stops the server at once; the store itself is opened in each worker.
    """
    if project.feature_source is None or not settings.online_features:
        return None
    opener = project.feature_source()
    contract = project.contract
    features = tuple(contract.features)
    defaults = (
        load_defaults(settings.feature_defaults, features) if settings.feature_defaults else None
    )
    if defaults is not None:  # served as they are: they must pass the contract like a request
        broken = contract.check_batch(defaults.reshape(1, -1))
        if broken:
            raise ValueError(
                f"--feature-defaults {settings.feature_defaults} breaks the contract: "
                + "; ".join(broken)
            )

    def make_online(breaker: CircuitBreaker) -> OnlineFeatures:
        return OnlineFeatures(
            opener,
            features=features,
            breaker=breaker,
            timeout_s=settings.feature_timeout_ms / 1000.0,
            threads=settings.feature_threads,
            defaults=defaults,
            warm_up_s=10.0,
        )

    return make_online
