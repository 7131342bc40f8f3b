"""A namespace that starts closed: Pod Security ``restricted`` and default-deny traffic.

Every component gets its namespace from `secure_namespace`, which also writes a default-deny
NetworkPolicy (ingress and egress), the DNS egress every pod needs, and one NetworkPolicy per
explicit `Flow`. Reading a component's flows tells you exactly who may talk to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.networking.v1 as networking

from mlplat_platform.k8s import child

__all__ = [
    "GATEWAY_ACCESS_LABEL",
    "Flow",
    "Peer",
    "kube_api_egress",
    "secure_namespace",
    "webhook_ingress",
]

#: Namespaces carrying this label may attach routes to the platform's Gateway.
GATEWAY_ACCESS_LABEL = "mlplat.io/gateway-access"


class Peer:
    """Network peers for `Flow`, as NetworkPolicy peer dicts."""

    @staticmethod
    def namespace(name: str, pod_labels: dict[str, str] | None = None) -> dict[str, Any]:
        """All pods (or the labelled ones) of another namespace."""
        peer: dict[str, Any] = {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}
        }
        if pod_labels:
            peer["podSelector"] = {"matchLabels": pod_labels}
        return peer

    @staticmethod
    def same_namespace() -> dict[str, Any]:
        """Every pod of the namespace the policy lives in."""
        return {"podSelector": {}}

    @staticmethod
    def anywhere() -> dict[str, Any]:
        """Any address: for the Kubernetes API server and for external load balancers."""
        return {"ipBlock": {"cidr": "0.0.0.0/0"}}


@dataclass(frozen=True, kw_only=True)
class Flow:
    """One allowed traffic flow into or out of a namespace.

    ``ports`` are TCP ports; ``udp_ports`` are UDP ports of the same flow (DNS).

    Example:
        >>> Flow(name="s3-clients", direction="ingress", ports=(8333,),
        ...      peers=(Peer.namespace("mlplat-registry"),))
    """

    name: str
    direction: Literal["ingress", "egress"]
    ports: tuple[int, ...]
    peers: tuple[dict[str, Any], ...]
    pod_labels: dict[str, str] = field(default_factory=dict)
    udp_ports: tuple[int, ...] = ()


def kube_api_egress(pod_labels: dict[str, str] | None = None) -> Flow:
    """Egress to the Kubernetes API server (443 on the service IP, 6443 on the endpoints).

    The API server has no in-cluster selector, so this allows those ports to any address:
    the widest flow the platform grants, and only to namespaces whose pods call the API.
    """
    return Flow(
        name="kube-api",
        direction="egress",
        ports=(443, 6443),
        peers=(Peer.anywhere(),),
        pod_labels=pod_labels or {},
    )


def webhook_ingress(port: int, pod_labels: dict[str, str] | None = None) -> Flow:
    """Ingress from the Kubernetes API server to an admission webhook on ``port``.

    The API server calls webhooks from an address no selector can name, so the flow allows
    that one port from anywhere; ``pod_labels`` narrows it to the webhook's pods.
    """
    return Flow(
        name="webhook",
        direction="ingress",
        ports=(port,),
        peers=(Peer.anywhere(),),
        pod_labels=pod_labels or {},
    )


def secure_namespace(
    name: str,
    *,
    parent: pulumi.Resource,
    flows: Sequence[Flow] = (),
    gateway_access: bool = False,
    protect: bool = False,
) -> core.Namespace:
    """Create a restricted namespace with default-deny policies and the given flows.

    Args:
        name: The namespace name (also the logical resource name prefix).
        parent: The component that owns it.
        flows: Allowed flows besides DNS.
        gateway_access: Label it so its routes may attach to the platform Gateway.
        protect: Protect it from deletion (namespaces holding data).

    Returns:
        The Namespace; create the namespace's objects with ``depends_on`` on it.
    """
    ns_labels = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
        "app.kubernetes.io/part-of": "mlplat",
    }
    if gateway_access:
        ns_labels[GATEWAY_ACCESS_LABEL] = "true"
    namespace = core.Namespace(
        name,
        metadata={"name": name, "labels": ns_labels},
        opts=child(parent, protect=protect, retain_on_delete=protect),
    )
    opts = child(parent, depends_on=[namespace])
    policies = [_policy("default-deny", {}, ["Ingress", "Egress"], {})]
    dns = {
        "to": [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                },
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }
    policies.append(_policy("allow-dns", {}, ["Egress"], {"egress": [dns]}))
    for flow in flows:
        ports = [{"protocol": "TCP", "port": port} for port in flow.ports]
        ports += [{"protocol": "UDP", "port": port} for port in flow.udp_ports]
        if flow.direction == "ingress":
            rule = {"ingress": [{"from": list(flow.peers), "ports": ports}]}
        else:
            rule = {"egress": [{"to": list(flow.peers), "ports": ports}]}
        policies.append(
            _policy(f"allow-{flow.name}", flow.pod_labels, [flow.direction.capitalize()], rule)
        )
    for policy_name, spec in policies:
        networking.NetworkPolicy(
            f"{name}-{policy_name}",
            metadata={"name": policy_name, "namespace": name},
            spec=spec,
            opts=opts,
        )
    return namespace


def _policy(
    policy_name: str, pod_labels: dict[str, str], types: list[str], rules: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    spec: dict[str, Any] = {
        "podSelector": {"matchLabels": pod_labels} if pod_labels else {},
        "policyTypes": types,
    }
    spec.update(rules)
    return policy_name, spec
