"""Envoy Gateway's control-plane certificates, issued by cert-manager.

The chart makes these in a Helm hook Job (certgen); ``helm.v4.Chart`` drops hooks, so the
gateway component issues the same secrets (names and DNS names certgen would use) itself.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes.apiextensions as apiextensions
import pulumi_kubernetes.core.v1 as core
import pulumi_random as random

__all__ = ["control_plane_certs"]

_CM = "cert-manager.io/v1"


def control_plane_certs(name: str, ns: str, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """The secrets Envoy Gateway's certgen hook would have made: a CA, three certs, an HMAC key.

    Args:
        name: The gateway component's name, prefix of every logical name.
        ns: Envoy Gateway's namespace.
        opts: Options of each object (parented to the component, after cert-manager).
    """

    def cr(suffix: str, kind: str, spec: dict[str, Any], **kw: Any) -> pulumi.Resource:
        resource: pulumi.Resource = apiextensions.CustomResource(
            f"{name}-{suffix}",
            api_version=_CM,
            kind=kind,
            metadata={"name": suffix, "namespace": ns},
            spec=spec,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(**kw)),
        )
        return resource

    self_signed = cr("eg-selfsigned", "Issuer", {"selfSigned": {}})
    ca = cr(
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
        depends_on=[self_signed],
    )
    issuer = cr("eg-ca-issuer", "Issuer", {"ca": {"secretName": "eg-ca"}}, depends_on=[ca])
    made: list[pulumi.Resource] = []
    for secret, host in (
        ("envoy-gateway", "envoy-gateway"),
        ("envoy", "*"),
        ("envoy-rate-limit", "*"),
    ):
        dns = [f"{host}.{ns}", f"{host}.{ns}.svc", f"{host}.{ns}.svc.cluster.local"]
        if host != "*":
            dns.insert(0, host)
        made.append(
            cr(
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
                depends_on=[issuer],
            )
        )
    hmac = random.RandomPassword(
        f"{name}-oidc-hmac",
        length=32,
        special=False,
        opts=pulumi.ResourceOptions(parent=opts.parent),
    )
    made.append(
        core.Secret(
            f"{name}-oidc-hmac-secret",
            metadata={"name": "envoy-oidc-hmac", "namespace": ns},
            type="Opaque",
            string_data={"hmac-secret": pulumi.Output.secret(hmac.result)},
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"])
            ),
        )
    )
    return made
