"""The MLflow model registry calls ``mlplat deploy --promote`` makes, over MLflow's REST API.

Promotion has one source of truth, MLflow's aliases: ``--promote`` points ``champion`` at the
version ``challenger`` points at, and the deployment then serves ``@champion`` again. Only
the two documented endpoints of MLflow 3's REST API are used
(``GET/POST /api/2.0/mlflow/registered-models/alias``), with ``urllib``, so promoting needs no
MLflow client in mlplat's environment.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from mlplat.errors import MlplatError

__all__ = ["Registry", "alias_version", "move_alias"]


@dataclass(frozen=True, kw_only=True)
class Registry:
    """Where MLflow is and how to authenticate.

    Attributes:
        url: The tracking server's base URL.
        username: Basic-auth user (the platform gateway's), if any.
        password: Its password.
    """

    url: str
    username: str | None = None
    password: str | None = None


def _call(registry: Registry, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    url = registry.url.rstrip("/") + path
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    if registry.username and registry.password:
        token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = _error_message(exc)
        raise _RegistryHTTPError(exc.code, detail) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise MlplatError(
            f"MLflow at {registry.url} is unreachable: {reason}",
            hint="Check --tracking-uri (for a platform without a domain, port-forward first: "
            "`mlplat status` prints the command).",
        ) from None


class _RegistryHTTPError(MlplatError):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"MLflow answered {status}: {detail}")
        self.status = status
        self.detail = detail


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read() or b"{}")
    except ValueError:
        return exc.reason or "no detail"
    return str(data.get("message") or data.get("error_code") or exc.reason)


def alias_version(registry: Registry, model: str, alias: str) -> str:
    """The version ``model@alias`` points at.

    Raises:
        MlplatError: The alias or model does not exist, or MLflow cannot be reached.
    """
    query = urllib.parse.urlencode({"name": model, "alias": alias})
    try:
        data = _call(registry, "GET", f"/api/2.0/mlflow/registered-models/alias?{query}")
    except _RegistryHTTPError as exc:
        # MLflow 3.17.2 answers 404 for an unknown model and 400 (INVALID_PARAMETER_VALUE,
        # "Registered model alias X not found.") for an unknown alias: seen against a real
        # server (mlflow/store/model_registry/sqlalchemy_store.py, get_model_version_by_alias).
        if exc.status == 404:
            raise MlplatError(
                f"model {model!r} is not registered in MLflow",
                hint="Register it first (the project's pipeline registers it and sets "
                f"@{alias}), or check --tracking-uri.",
            ) from None
        if exc.status == 400 and "alias" in exc.detail and "not found" in exc.detail:
            raise MlplatError(
                f"model {model!r} has no version with alias {alias!r} in MLflow",
                hint=f"Register one first (the project's pipeline sets @{alias}), then deploy.",
            ) from None
        raise
    return str(data["model_version"]["version"])


def move_alias(registry: Registry, model: str, *, source: str, target: str) -> str:
    """Point ``model@target`` at the version ``model@source`` points at; return that version."""
    version = alias_version(registry, model, source)
    _call(
        registry,
        "POST",
        "/api/2.0/mlflow/registered-models/alias",
        {"name": model, "alias": target, "version": version},
    )
    return version
