"""The gateway's certificates, issued by cert-manager once it runs.

Envoy Gateway's chart makes its control-plane certificates in a Helm hook Job (certgen);
``helm.v4.Chart`` drops hooks, so this component issues the same secrets (names and DNS names
certgen would use), and the public certificate of the Gateway's HTTPS listener.

It is its own component because of the order a fresh cluster needs (see
`mlplat_platform.gateway`): Envoy Gateway's chart (with the Gateway API CRDs), then
cert-manager, then these. The resources used to be children of the `Gateway` component;
``moved_from`` aliases them so an existing stack keeps them in place: give this component the
gateway's name, and its children keep their logical names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes.apiextensions as apiextensions

from mlplat_platform.k8s import NAMESPACES

__all__ = ["GatewayCertificates", "GatewayCertificatesArgs"]

_CM = "cert-manager.io/v1"
#: The Secret the Gateway's HTTPS listener terminates TLS with.
TLS_SECRET = "mlplat-gateway-tls"


@dataclass(frozen=True, kw_only=True)
class GatewayCertificatesArgs:
    """Inputs of `GatewayCertificates`.

    Attributes:
        domain: Base domain; the public certificate covers it, ``*.<domain>`` and
            ``*.models.<domain>``.
        cert_manager: The cert-manager chart: its CRDs, webhook and controller come first.
        cluster_issuer: ClusterIssuer for the public certificate; ``None`` self-signs.
        namespace: Envoy Gateway's namespace, where every secret is written.
        moved_from: The component these resources were children of before (aliases).
    """

    domain: str
    cert_manager: pulumi.Resource
    cluster_issuer: str | None = None
    namespace: str = NAMESPACES.gateway
    moved_from: pulumi.Resource | None = None


class GatewayCertificates(pulumi.ComponentResource):
    """Envoy Gateway's control-plane certificates and the listener's public certificate.

    Attributes:
        tls: The listener's Certificate (secret ``mlplat-gateway-tls``).
    """

    tls: pulumi.Resource

    def __init__(
        self, name: str, args: GatewayCertificatesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplat:index:GatewayCertificates", name, None, opts)
        self._args = args
        self._prefix = name
        issuer = self._control_plane(args.namespace)
        self.tls = self._public(args)
        self.register_outputs({"ca_issuer": issuer, "secret": TLS_SECRET})

    def _cr(
        self,
        suffix: str,
        name: str,
        kind: str,
        spec: dict[str, Any],
        after: list[pulumi.Resource] | None = None,
    ) -> pulumi.Resource:
        args = self._args
        aliases = [pulumi.Alias(parent=args.moved_from)] if args.moved_from is not None else None
        resource: pulumi.Resource = apiextensions.CustomResource(
            f"{self._prefix}-{suffix}",
            api_version=_CM,
            kind=kind,
            metadata={"name": name, "namespace": args.namespace},
            spec=spec,
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[args.cert_manager, *(after or [])], aliases=aliases
            ),
        )
        return resource

    def _control_plane(self, ns: str) -> str:
        """What Envoy Gateway's certgen hook would have made: a CA and three certificates."""
        self_signed = self._cr("eg-selfsigned", "eg-selfsigned", "Issuer", {"selfSigned": {}})
        ca = self._cr(
            "eg-ca",
            "eg-ca",
            "Certificate",
            {
                "isCA": True,
                "commonName": "envoy-gateway-ca",
                "secretName": "eg-ca",
                "duration": "87600h",
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"name": "eg-selfsigned", "kind": "Issuer"},
            },
            [self_signed],
        )
        issuer = self._cr(
            "eg-ca-issuer", "eg-ca-issuer", "Issuer", {"ca": {"secretName": "eg-ca"}}, [ca]
        )
        for secret, host in (
            ("envoy-gateway", "envoy-gateway"),
            ("envoy", "*"),
            ("envoy-rate-limit", "*"),
        ):
            dns = [f"{host}.{ns}", f"{host}.{ns}.svc", f"{host}.{ns}.svc.cluster.local"]
            if host != "*":
                dns.insert(0, host)
            self._cr(
                secret,
                secret,
                "Certificate",
                {
                    "secretName": secret,
                    "commonName": secret,
                    "dnsNames": dns,
                    "duration": "8760h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256},
                    "issuerRef": {"name": "eg-ca-issuer", "kind": "Issuer"},
                },
                [issuer],
            )
        return "eg-ca-issuer"

    def _public(self, args: GatewayCertificatesArgs) -> pulumi.Resource:
        """The HTTPS listener's certificate, from the ClusterIssuer or a self-signed Issuer."""
        issuer: dict[str, str]
        after: list[pulumi.Resource] = []
        if args.cluster_issuer:
            issuer = {"name": args.cluster_issuer, "kind": "ClusterIssuer"}
        else:
            after.append(self._cr("selfsigned", "mlplat-selfsigned", "Issuer", {"selfSigned": {}}))
            issuer = {"name": "mlplat-selfsigned", "kind": "Issuer"}
        d = args.domain
        return self._cr(
            "tls",
            TLS_SECRET,
            "Certificate",
            {
                "secretName": TLS_SECRET,
                "commonName": d,
                "dnsNames": [d, f"*.{d}", f"*.models.{d}"],
                "issuerRef": issuer,
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            },
            after,
        )
