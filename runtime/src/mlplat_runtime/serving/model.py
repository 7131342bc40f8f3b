"""Loading the served model: the one place that imports MLflow.

Why: MLflow is heavy and slow to import, and the registry is a remote dependency. Serving imports
it only here, at start-up and on reload, behind a breaker with retries and timeouts; the hot path
sees a plain `LoadedModel` holding the fitted sklearn Pipeline and the metadata saved with it.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .predict import Predictions, predict_arrays
from .resilience import CircuitBreaker, RetryPolicy, guarded_call

if TYPE_CHECKING:
    from mlplat_runtime.compiled import CompiledModel

log = logging.getLogger(__name__)
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
        compiled: the ONNX form registered with the model (see `compiled.py`), else None.
        runtime_note: why the model serves through sklearn, when it does.
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
    compiled: CompiledModel | None = None
    runtime_note: str = ""

    @property
    def runtime(self) -> str:
        """``"onnx"`` when the compiled model serves, ``"sklearn"`` otherwise."""
        return "onnx" if self.compiled is not None else "sklearn"

    def predict(self, features: np.ndarray) -> Predictions:
        """The one predict of serving and batch scoring: compiled when there is a compiled form."""
        if self.compiled is not None:
            return self.compiled.predict(features)
        return predict_arrays(self.estimator, features)


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


@dataclass(frozen=True, kw_only=True)
class _Fetched:
    resolved: str
    name: str | None
    version: str | None
    estimator: Any
    metadata: dict[str, Any]
    run_id: str | None
    onnx: bytes | None
    example: Any


def _load(uri: str) -> _Fetched:
    import mlflow
    import mlflow.sklearn

    from mlplat_runtime.compiled import ONNX_FILE

    resolved, name, version = _resolve(uri)
    local = resolved if Path(resolved).exists() else mlflow.artifacts.download_artifacts(resolved)
    meta = mlflow.models.Model.load(local)
    onnx_path = Path(local) / ONNX_FILE
    try:
        example = meta.load_input_example(local)
    except Exception:  # an example is optional; the load-time parity check then uses the warm row
        example = None
    return _Fetched(
        resolved=resolved,
        name=name,
        version=version,
        estimator=mlflow.sklearn.load_model(local),
        metadata=dict(meta.metadata or {}),
        run_id=meta.run_id,
        onnx=onnx_path.read_bytes() if onnx_path.is_file() else None,
        example=example,
    )


def _compiled(fetched: _Fetched, features: tuple[str, ...]) -> tuple[CompiledModel | None, str]:
    """The compiled model if it loads here and agrees with sklearn on the saved example."""
    from mlplat_runtime.compiled import CompiledModel, check_parity, class_labels

    if fetched.onnx is None:
        return None, "the registered model carries no compiled form (see its 'serving' tag)"
    try:
        compiled = CompiledModel(fetched.onnx, classes=class_labels(fetched.estimator))
        if fetched.example is not None:
            rows = np.asarray(fetched.example.loc[:, list(features)], dtype=np.float64)
            parity = check_parity(fetched.estimator, compiled, rows)
            if not parity.passed:
                return None, f"the compiled model disagrees with sklearn here: {parity.describe()}"
    except Exception as exc:  # an ONNX Runtime that cannot run it: serve through sklearn
        return None, f"the compiled model does not load here: {type(exc).__name__}: {exc}"
    return compiled, ""


def load_model(
    uri: str,
    *,
    default_name: str,
    features: tuple[str, ...],
    key: str,
    check: CheckFn,
    breaker: CircuitBreaker,
    policy: RetryPolicy,
    use_compiled: bool = True,
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
        use_compiled: serve the compiled (ONNX) form when the model carries one.

    Raises:
        ModelLoadError: the model is missing, unreachable, or does not match the contract.
    """
    from mlplat_runtime import tracking

    tracking.configure()
    # MLflow retries a failed HTTP call itself (7 times, backing off for minutes) and waits 120 s
    # for each, inside the attempt our timeout gives up on: the registry's retries are `policy`,
    # so MLflow gets one try within an attempt's time, unless the operator says otherwise.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(max(1, math.ceil(policy.timeout_s))))
    if "://" not in uri and not uri.startswith("models:") and not Path(uri).exists():
        raise ModelLoadError(
            f"model path {uri} does not exist: run `make pipeline` or pass --model-uri"
        )
    try:
        fetched = guarded_call(lambda: _load(uri), breaker=breaker, policy=policy)
    except Exception as exc:  # the registry's errors are many and untyped
        raise ModelLoadError(
            f"could not load model {uri}: {exc}. Check MLFLOW_TRACKING_URI, that the model is "
            "registered with that alias (run `make pipeline`), or pass --model-uri PATH"
        ) from exc
    metadata = fetched.metadata
    saved = tuple(metadata.get("features") or features)
    if saved != features:
        raise ModelLoadError(
            f"model {uri} expects features {list(saved)} but the project's contract declares "
            f"{list(features)}: serve a model trained by this project version"
        )
    compiled, note = (
        _compiled(fetched, features) if use_compiled else (None, "compilation disabled")
    )
    if compiled is None:
        log.warning("serving %s through sklearn (slower): %s", uri, note)
    run_id = fetched.run_id
    return LoadedModel(
        name=fetched.name or default_name,
        version=fetched.version or (f"run-{run_id[:8]}" if run_id else "local"),
        uri=fetched.resolved,
        estimator=fetched.estimator,
        features=features,
        key=key,
        problem_type=str(metadata.get("problem_type", "unknown")),
        check=check,
        reference_profile=metadata.get("reference_profile") or {},
        compiled=compiled,
        runtime_note=note,
    )


__all__ = ["CheckFn", "LoadedModel", "ModelLoadError", "load_model"]
