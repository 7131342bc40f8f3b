"""Secure-by-default building blocks shared by every component.

Each helper returns the plain dict Kubernetes expects, so components stay declarative and
the defaults (DESIGN.md, "Secure by default") live in one place: non-root, read-only root
filesystem, no privilege escalation, all capabilities dropped, seccomp ``RuntimeDefault``,
requests and limits on every container, and no service-account token unless asked for.
"""

from __future__ import annotations

from typing import Any

import pulumi

from mlplat_platform.consumers import NAMESPACES, Namespaces

__all__ = [
    "DIGEST_SKIP",
    "NAMESPACES",
    "SLOW_START",
    "Namespaces",
    "checkov_skips",
    "child",
    "container_security",
    "labels",
    "run_once_job_spec",
    "pod_security",
    "resources",
]

#: Why images are pinned by tag and not digest: digests cannot be resolved offline, where the
#: platform is rendered and reviewed; versions.py pins each tag and Renovate-style bumps go there.
DIGEST_SKIP = (
    "CKV_K8S_43",
    "tag pinned in mlplat_platform/versions.py; digests cannot be resolved offline",
)

#: Await time for workloads whose first start pulls a large image (MLflow's ``-full`` image is
#: over a gigabyte) or waits for a database: Pulumi's 10-minute default is too tight on a laptop.
SLOW_START = pulumi.CustomTimeouts(create="30m", update="30m")

#: The non-root user every mlplat-owned container runs as (above 10000, so it never
#: collides with a host user; checkov CKV_K8S_40).
RUN_AS_USER = 10001


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a component's child: parented, so it shares the component's lifecycle."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def labels(app: str, component: str) -> dict[str, str]:
    """The recommended ``app.kubernetes.io`` labels for an mlplat-owned object."""
    return {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "mlplat",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def container_security(*, user: int = RUN_AS_USER) -> dict[str, Any]:
    """A container security context that passes Pod Security ``restricted``."""
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": user,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security(*, user: int = RUN_AS_USER) -> dict[str, Any]:
    """The pod-level security context matching `container_security`."""
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": user,
        "fsGroup": user,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(
    cpu: str, memory: str, *, cpu_limit: str | None = None, memory_limit: str | None = None
) -> dict[str, dict[str, str]]:
    """Requests and limits; limits default to 4x CPU and 2x memory of the request's size."""
    return {
        "requests": {"cpu": cpu, "memory": memory},
        "limits": {"cpu": cpu_limit or _scale(cpu, 4), "memory": memory_limit or _scale(memory, 2)},
    }


def _scale(quantity: str, factor: int) -> str:
    for suffix in ("m", "Ki", "Mi", "Gi", "Ti"):
        if quantity.endswith(suffix):
            number = float(quantity[: -len(suffix)]) * factor
            return f"{number:g}{suffix}"
    return f"{float(quantity) * factor:g}"


def run_once_job_spec(
    *,
    job_labels: dict[str, str],
    service_account: str,
    containers: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
) -> dict[str, Any]:
    """The ``spec`` of a hardened run-to-completion Job (bucket creation, schema upgrade).

    Retries on failure, runs as the restricted pod user and mounts no service-account token:
    the Jobs we own talk to S3 or PostgreSQL, never to the Kubernetes API.
    """
    return {
        "backoffLimit": 6,
        "template": {
            "metadata": {"labels": job_labels},
            "spec": {
                "restartPolicy": "OnFailure",
                "serviceAccountName": service_account,
                "automountServiceAccountToken": False,
                "securityContext": pod_security(),
                "containers": containers,
                "volumes": volumes,
            },
        },
    }


def checkov_skips(*skips: tuple[str, str]) -> dict[str, str]:
    """Checkov skip annotations, each with its reason, for checks that do not apply.

    Example:
        >>> checkov_skips(("CKV_K8S_43", "why"))
        {'checkov.io/skip1': 'CKV_K8S_43=why'}
    """
    return {
        f"checkov.io/skip{i}": f"{check}={reason}" for i, (check, reason) in enumerate(skips, 1)
    }
