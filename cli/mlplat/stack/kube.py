"""Which Kubernetes cluster a stack deploys to: kubeconfig contexts, read the way kubectl does.

The platform's provider is always given an explicit context name, resolved here once
(``--kube-context`` > the config file's ``kube_context`` > kubeconfig's ``current-context``),
so a later ``kubectl config use-context`` cannot silently move a stack to another cluster.
Reading kubeconfig needs no cluster and no kubectl; `probe` then tells an unreachable API
server apart from everything else before the Pulumi engine starts.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mlplat.errors import MlplatError, UsageError

__all__ = [
    "KubeContext",
    "kubeconfig_paths",
    "load_contexts",
    "probe",
    "resolve_context",
    "server_version",
    "unreachable_error",
]

_DOCTOR = "Run `mlplat doctor` to check the cluster and the other prerequisites."


@dataclass(frozen=True, kw_only=True)
class KubeContext:
    """One kubeconfig context.

    Attributes:
        name: The context's name (what the provider is given).
        cluster: The cluster entry it points at.
        server: That cluster's API server URL, when the kubeconfig names one.
        proxied: Whether the cluster is reached through ``proxy-url`` (then `probe` skips).
        ca_data: The cluster's ``certificate-authority-data`` (base64 PEM).
        ca_file: The cluster's ``certificate-authority`` file.
        insecure: ``insecure-skip-tls-verify``.
    """

    name: str
    cluster: str
    server: str | None
    proxied: bool = False
    ca_data: str | None = None
    ca_file: str | None = None
    insecure: bool = False


def kubeconfig_paths() -> list[Path]:
    """The kubeconfig files kubectl reads: ``$KUBECONFIG`` (a path list) or ``~/.kube/config``."""
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def load_contexts() -> tuple[dict[str, KubeContext], str | None]:
    """All contexts and the current one, merged like kubectl (the first file to set one wins).

    Raises:
        MlplatError: A kubeconfig file exists but is not valid YAML.
    """
    import yaml

    contexts: dict[str, KubeContext] = {}
    clusters: dict[str, dict[str, Any]] = {}
    raw_contexts: dict[str, str] = {}
    current: str | None = None
    for path in kubeconfig_paths():
        if not path.is_file():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise MlplatError(
                f"kubeconfig {path} cannot be read: {exc}",
                hint="Fix the file (or point KUBECONFIG at a good one). " + _DOCTOR,
            ) from exc
        if not isinstance(data, dict):
            continue
        current = current or (data.get("current-context") or None)
        for item in data.get("clusters") or []:
            if isinstance(item, dict) and isinstance(item.get("cluster"), dict):
                clusters.setdefault(str(item.get("name")), item["cluster"])
        for item in data.get("contexts") or []:
            if isinstance(item, dict) and isinstance(item.get("context"), dict):
                raw_contexts.setdefault(str(item.get("name")), str(item["context"].get("cluster")))
    for name, cluster_name in raw_contexts.items():
        cluster = clusters.get(cluster_name, {})
        server = cluster.get("server")
        contexts[name] = KubeContext(
            name=name,
            cluster=cluster_name,
            server=str(server) if server else None,
            proxied=bool(cluster.get("proxy-url")),
            ca_data=cluster.get("certificate-authority-data"),
            ca_file=cluster.get("certificate-authority"),
            insecure=bool(cluster.get("insecure-skip-tls-verify")),
        )
    return contexts, current


def resolve_context(requested: str | None, *, source: str = "--kube-context") -> KubeContext:
    """The context to deploy to: ``requested`` if given, else kubeconfig's current context.

    Args:
        requested: A context name from ``--kube-context`` or the config file.
        source: Where ``requested`` came from, for the error message.

    Raises:
        UsageError: ``requested`` is not in any kubeconfig file.
        MlplatError: No context was requested and kubeconfig has no current context.
    """
    contexts, current = load_contexts()
    if requested is not None:
        if requested not in contexts:
            known = ", ".join(sorted(contexts)) or "none"
            raise UsageError(
                f"{source} {requested!r} is not a context in your kubeconfig (contexts: {known})",
                hint="Pass a context listed by `kubectl config get-contexts`.",
            )
        return contexts[requested]
    if current is None or current not in contexts:
        where = os.pathsep.join(str(p) for p in kubeconfig_paths())
        raise MlplatError(
            f"no current Kubernetes context (kubeconfig: {where})",
            hint="Create a cluster (for example `kind create cluster`), select one with "
            "`kubectl config use-context NAME`, or pass --kube-context. " + _DOCTOR,
        )
    return contexts[current]


def probe(context: KubeContext, *, timeout: float = 3.0) -> str | None:
    """Open a TCP connection to the context's API server; ``None`` when it answers.

    Only the connection is tried (no credentials are used), which is what distinguishes a
    stopped or unreachable cluster from an authorisation problem. Contexts without a server
    URL or reached through a proxy are not probed.

    Returns:
        Why the server cannot be reached, or ``None``.
    """
    if context.server is None or context.proxied:
        return None
    parts = urlsplit(context.server)
    if not parts.hostname:
        return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if isinstance(exc, TimeoutError | socket.timeout):
            reason = f"no answer within {timeout:g}s"
        return f"{context.server} ({reason})"


def unreachable_error(context: KubeContext, reason: str) -> MlplatError:
    """The one message for a cluster that does not answer (exit 1, names ``mlplat doctor``)."""
    return MlplatError(
        f"the Kubernetes cluster of context {context.name!r} is unreachable: {reason}",
        hint="Start the cluster or pick another one with --kube-context. " + _DOCTOR,
    )


def server_version(context: KubeContext, *, timeout: float = 5.0) -> tuple[int, int, str]:
    """The API server's version from ``GET /version``, which Kubernetes serves to anyone.

    The default RBAC role ``system:public-info-viewer`` grants ``/version`` to unauthenticated
    users, so no credential (and no kubectl) is needed; the server's certificate is checked
    against the kubeconfig's CA.

    Returns:
        ``(major, minor, gitVersion)``.

    Raises:
        OSError: The server did not answer, refused, or the answer was not a version.
    """
    import base64
    import json
    import ssl
    import urllib.request

    if context.server is None:
        raise OSError("the context names no API server")
    ctx = ssl.create_default_context()
    if context.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif context.ca_data:
        pem = base64.b64decode(context.ca_data).decode("ascii", "replace")
        ctx = ssl.create_default_context(cadata=pem)
    elif context.ca_file:
        ctx = ssl.create_default_context(cafile=context.ca_file)
    url = context.server.rstrip("/") + "/version"
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as response:
            data = json.loads(response.read().decode("utf-8"))
    except (ValueError, ssl.SSLError) as exc:
        raise OSError(str(exc)) from exc
    major = int("".join(ch for ch in str(data.get("major", "")) if ch.isdigit()) or 0)
    minor = int("".join(ch for ch in str(data.get("minor", "")) if ch.isdigit()) or 0)
    return major, minor, str(data.get("gitVersion", f"v{major}.{minor}"))
