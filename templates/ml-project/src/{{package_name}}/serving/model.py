"""Loading the served model: the one place that imports MLflow.

Why: MLflow is heavy and slow to import, and the registry is a remote dependency. Serving imports
it only here, at start-up and on reload, behind a breaker with retries and timeouts; the hot path
sees a plain `LoadedModel` holding the fitted sklearn Pipeline and the metadata saved with it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .resilience import CircuitBreaker, RetryPolicy, guarded_call

CheckFn = Callable[[np.ndarray], list[str]]

_ALIAS_URI = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/]+)$")
_VERSION_URI = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)$")


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message says what to check."""


@dataclass(frozen=True, kw_only=True)
class LoadedModel:
    """Everything serving needs, taken from the model alone.

    Attributes:
        name: the model's name in responses and OIP routes.
        version: the registry version (or a run-derived label for a local path).
        uri: the URI it was loaded from (an alias resolved to its version).
        estimator: the fitted Pipeline (feature transform + estimator).
        features: column order of the model's input.
        key: name of the optional row-key input, echoed in outputs.
        problem_type: "classification" or "regression" as saved by training.
        check: the data contract's fast batch check; [] when valid.
        reference_profile: per feature {"edges": [...], "fractions": [...]} for drift checks.
    """

    name: str
    version: str
    uri: str
    estimator: Any
    features: tuple[str, ...]
    key: str
    problem_type: str
    check: CheckFn
    reference_profile: Mapping[str, Mapping[str, list[float]]] = field(default_factory=dict)


def _resolve(uri: str) -> tuple[str, str | None, str | None]:
    """Return (uri to load, registered name, version) with an alias resolved to its version."""
    import mlflow

    alias = _ALIAS_URI.match(uri)
    if alias:
        client = mlflow.MlflowClient()
        found = client.get_model_version_by_alias(alias["name"], alias["alias"])
        return f"models:/{alias['name']}/{found.version}", alias["name"], str(found.version)
    version = _VERSION_URI.match(uri)
    if version:
        return uri, version["name"], version["version"]
    return uri, None, None


def _load(uri: str) -> tuple[str, str | None, str | None, Any, dict[str, Any], str | None]:
    import mlflow
    import mlflow.sklearn

    resolved, name, version = _resolve(uri)
    meta = mlflow.models.Model.load(resolved)
    estimator = mlflow.sklearn.load_model(resolved)
    return resolved, name, version, estimator, dict(meta.metadata or {}), meta.run_id


def load_model(
    uri: str,
    *,
    default_name: str,
    features: tuple[str, ...],
    key: str,
    check: CheckFn,
    breaker: CircuitBreaker,
    policy: RetryPolicy,
) -> LoadedModel:
    """Load `uri` (models:/name@alias, models:/name/N, runs:/..., or a local model directory).

    Args:
        uri: where the model is.
        default_name: name used when the URI does not carry a registered name.
        features: the project's contract features; the model's saved features must match.
        key: the row-key input name.
        check: the contract's batch check.
        breaker: the registry's breaker.
        policy: retries and timeout for the registry.

    Raises:
        ModelLoadError: the model is missing, unreachable, or does not match the contract.
    """
    from .. import tracking

    tracking.configure()
    if "://" not in uri and not uri.startswith("models:") and not Path(uri).exists():
        raise ModelLoadError(
            f"model path {uri} does not exist: run `make pipeline` or pass --model-uri"
        )
    try:
        resolved, name, version, estimator, metadata, run_id = guarded_call(
            lambda: _load(uri), breaker=breaker, policy=policy
        )
    except Exception as exc:  # the registry's errors are many and untyped
        raise ModelLoadError(
            f"could not load model {uri}: {exc}. Check MLFLOW_TRACKING_URI, that the model is "
            "registered with that alias (run `make pipeline`), or pass --model-uri PATH"
        ) from exc
    saved = tuple(metadata.get("features") or features)
    if saved != features:
        raise ModelLoadError(
            f"model {uri} expects features {list(saved)} but the project's contract declares "
            f"{list(features)}: serve a model trained by this project version"
        )
    return LoadedModel(
        name=name or default_name,
        version=version or (f"run-{run_id[:8]}" if run_id else "local"),
        uri=resolved,
        estimator=estimator,
        features=features,
        key=key,
        problem_type=str(metadata.get("problem_type", "unknown")),
        check=check,
        reference_profile=metadata.get("reference_profile") or {},
    )


__all__ = ["CheckFn", "LoadedModel", "ModelLoadError", "load_model"]
