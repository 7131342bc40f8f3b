"""A namespace that starts closed: Pod Security ``restricted`` and default-deny traffic.

Every component gets its namespace from `secure_namespace`, which also writes a default-deny
NetworkPolicy (ingress and egress), the DNS egress every pod needs, and one NetworkPolicy per
explicit `Flow`. Reading a component's flows tells you exactly who may talk to it.

A flow "from anywhere" or "to anywhere" (`ANYWHERE`: the API server, webhooks called by it,
public clients, ACME servers, external S3 or PostgreSQL) is a rule with ports and no peer, not
an ``ipBlock`` of ``0.0.0.0/0``. Kubernetes defines a rule without peers as matching every
source or destination (k8s.io/api@v0.33.0:networking/v1/types.go, ``NetworkPolicyIngressRule
.From`` and ``NetworkPolicyEgressRule.To``: "empty or missing ... matches all"): the API's own
meaning, not an address range an implementation may classify differently. An ``ipBlock`` is
not the same thing everywhere: Cilium gives node and API-server addresses their own
identities (``host``, ``remote-node``, ``kube-apiserver``) that CIDR rules do not select
unless ``policyCIDRMatchMode: nodes`` is set
(cilium/cilium#14724, #16308, #20550), so on a Cilium cluster
whose control plane runs on its nodes, operators could not reach the API server and its
webhook calls timed out. Cilium turns a peer-less rule into the wildcard endpoint selector
(cilium/cilium@v1.18.4:pkg/k8s/network_policy.go), which selects every identity, reserved
ones included (pkg/policy/selectorcache_selector.go ``Selects``); #35212 reports the same
from a cluster. The peer-less rule allows no more than ``0.0.0.0/0`` already did
(every IPv4 address on those ports) except IPv6 and those node identities; the ports and the
pod selector remain what narrows each flow. A tighter, CNI-specific policy (Cilium's
``toEntities: [kube-apiserver]``) can be layered on top by the cluster's owner.
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
    "ANYWHERE",
    "GATEWAY_ACCESS_LABEL",
    "Flow",
    "Peer",
    "kube_api_egress",
    "secure_namespace",
    "webhook_ingress",
]

#: Namespaces carrying this label may attach routes to the platform's Gateway.
GATEWAY_ACCESS_LABEL = "mlplat.io/gateway-access"

#: The peers of a flow that may come from, or go to, any address (see the module doc).
ANYWHERE: tuple[dict[str, Any], ...] = ()


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


@dataclass(frozen=True, kw_only=True)
class Flow:
    """One allowed traffic flow into or out of a namespace.

    ``ports`` are TCP ports; ``udp_ports`` are UDP ports of the same flow (DNS). ``peers``
    `ANYWHERE` (empty) writes the rule without peers: any source or destination.

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

    The API server has no selector that every CNI honours (see the module doc), so this
    allows those ports to any destination: the widest flow the platform grants, and only to
    namespaces whose pods call the API.
    """
    return Flow(
        name="kube-api",
        direction="egress",
        ports=(443, 6443),
        peers=ANYWHERE,
        pod_labels=pod_labels or {},
    )


def webhook_ingress(port: int, pod_labels: dict[str, str] | None = None) -> Flow:
    """Ingress from the Kubernetes API server to an admission webhook on ``port``.

    The API server calls webhooks from an address no selector can name (a node's, on a
    cluster whose control plane runs on its nodes), so the flow allows that one port from
    anywhere; ``pod_labels`` narrows it to the webhook's pods.
    """
    return Flow(
        name="webhook",
        direction="ingress",
        ports=(port,),
        peers=ANYWHERE,
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
        peers_key = "from" if flow.direction == "ingress" else "to"
        entry: dict[str, Any] = {"ports": ports}
        if flow.peers:  # no peers: the rule matches every source or destination
            entry = {peers_key: list(flow.peers), **entry}
        rule: dict[str, Any] = {flow.direction: [entry]}
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
