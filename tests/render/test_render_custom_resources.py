"""Focused checks for custom resources, whose CRD schemas are not available offline.

kubernetes-validate bundles only built-in kinds; CRD schemas for Gateway API, Envoy Gateway,
cert-manager and CloudNativePG are not shipped in any package installable here, so each
custom kind gets assertions on the fields its controller requires (read in the CRDs each
chart ships at the pinned version, e.g. CloudNativePG 0.29.0's templates/crds/crds.yaml).
"""

from __future__ import annotations

from typing import Any

import pytest
from render_helpers import load_objects

from mlplat.render import RenderSummary

DOMAIN = "ml.example.com"


def _by_kind(renders: dict[str, RenderSummary], variant: str) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for obj in load_objects(renders[variant].out_dir):
        kinds.setdefault(obj["kind"], []).append(obj)
    return kinds


@pytest.fixture(scope="module")
def exposed(renders: dict[str, RenderSummary]) -> dict[str, list[dict[str, Any]]]:
    return _by_kind(renders, "dev-exposed")


def test_gateway_listeners_and_class(exposed: dict[str, list[dict[str, Any]]]) -> None:
    (gateway,) = exposed["Gateway"]
    (klass,) = exposed["GatewayClass"]
    assert gateway["apiVersion"] == klass["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert gateway["spec"]["gatewayClassName"] == klass["metadata"]["name"]
    assert klass["spec"]["controllerName"] == "gateway.envoyproxy.io/gatewayclass-controller"
    ref = klass["spec"]["parametersRef"]
    (proxy,) = exposed["EnvoyProxy"]
    assert (ref["kind"], ref["name"], ref["namespace"]) == (
        "EnvoyProxy",
        proxy["metadata"]["name"],
        proxy["metadata"]["namespace"],
    )
    listeners = {li["name"]: li for li in gateway["spec"]["listeners"]}
    assert listeners["http"]["port"] == 80 and listeners["https"]["port"] == 443
    assert listeners["https"]["hostname"] == f"*.{DOMAIN}"
    cert_secret = listeners["https"]["tls"]["certificateRefs"][0]["name"]
    certs = {c["spec"]["secretName"]: c for c in exposed["Certificate"]}
    assert f"*.models.{DOMAIN}" in certs[cert_secret]["spec"]["dnsNames"]


def test_routes_attach_to_the_gateway_under_the_domain(
    exposed: dict[str, list[dict[str, Any]]],
) -> None:
    (gateway,) = exposed["Gateway"]
    services = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in exposed["Service"]}
    for route in exposed["HTTPRoute"]:
        spec = route["spec"]
        for parent in spec["parentRefs"]:
            assert parent["name"] == gateway["metadata"]["name"]
        if route["metadata"]["name"] == "https-redirect":
            assert spec["rules"][0]["filters"][0]["requestRedirect"]["scheme"] == "https"
            continue
        assert all(h.endswith(f".{DOMAIN}") for h in spec["hostnames"])
        backend = spec["rules"][0]["backendRefs"][0]
        ns = route["metadata"]["namespace"]
        chart_made = backend["name"] == "argo-workflows-server"
        assert chart_made or (ns, backend["name"]) in services, backend


def test_security_policy_protects_the_https_listener_only(
    exposed: dict[str, list[dict[str, Any]]], renders: dict[str, RenderSummary]
) -> None:
    (policy,) = exposed["SecurityPolicy"]
    (gateway,) = exposed["Gateway"]
    assert policy["apiVersion"] == "gateway.envoyproxy.io/v1alpha1"
    (target,) = policy["spec"]["targetRefs"]
    assert (target["kind"], target["name"]) == ("Gateway", gateway["metadata"]["name"])
    listeners = {li["name"]: li for li in gateway["spec"]["listeners"]}
    # Credentials are asked for, and sent, only over TLS.
    assert listeners[target["sectionName"]]["protocol"] == "HTTPS"
    for route in exposed["HTTPRoute"]:
        if route["metadata"]["name"] != "https-redirect":
            assert {p["sectionName"] for p in route["spec"]["parentRefs"]} == {"https"}
    secret = policy["spec"]["basicAuth"]["users"]["name"]
    assert any(
        s["metadata"]["name"] == secret and ".htpasswd" in s["stringData"]
        for s in exposed["Secret"]
    )
    (oidc,) = _by_kind(renders, "external-oidc")["SecurityPolicy"]
    assert oidc["spec"]["oidc"]["clientSecret"]["name"] == "mlplat-oidc-client"
    assert "basicAuth" not in oidc["spec"]


def test_no_backend_receives_the_gateway_credentials(
    exposed: dict[str, list[dict[str, Any]]],
) -> None:
    """Our routes drop Authorization, and the patch drops it on the whole HTTPS listener."""
    strip = {
        "type": "RequestHeaderModifier",
        "requestHeaderModifier": {"remove": ["Authorization"]},
    }
    for route in exposed["HTTPRoute"]:
        if route["metadata"]["name"] != "https-redirect":
            for rule in route["spec"]["rules"]:
                assert strip in rule.get("filters", []), route["metadata"]["name"]
    (gateway,) = exposed["Gateway"]
    (policy,) = exposed["SecurityPolicy"]
    (patch,) = exposed["EnvoyPatchPolicy"]
    assert patch["metadata"]["namespace"] == gateway["metadata"]["namespace"]
    assert patch["spec"]["targetRef"]["name"] == gateway["metadata"]["name"]
    listener = policy["spec"]["targetRefs"][0]["sectionName"]
    route_table = f"{gateway['metadata']['namespace']}/{gateway['metadata']['name']}/{listener}"
    assert [p["name"] for p in patch["spec"]["jsonPatches"]] == [route_table]
    assert patch["spec"]["jsonPatches"][0]["operation"]["value"] == ["authorization"]


def test_cnpg_cluster(renders: dict[str, RenderSummary]) -> None:
    (cluster,) = _by_kind(renders, "dev")["Cluster"]
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    spec = cluster["spec"]
    assert spec["instances"] == 1 and spec["storage"]["size"]
    assert set(spec["resources"]) == {"requests", "limits"}
    secret = spec["bootstrap"]["initdb"]["secret"]["name"]
    assert any(
        s["metadata"]["name"] == secret and s["type"] == "kubernetes.io/basic-auth"
        for s in _by_kind(renders, "dev")["Secret"]
    )


def test_issuers_exist_for_every_certificate(exposed: dict[str, list[dict[str, Any]]]) -> None:
    issuers = {(i["metadata"]["namespace"], i["metadata"]["name"]) for i in exposed["Issuer"]}
    for cert in exposed["Certificate"]:
        ref = cert["spec"]["issuerRef"]
        assert ref["kind"] == "Issuer"
        assert (cert["metadata"]["namespace"], ref["name"]) in issuers


def test_prod_uses_the_configured_cluster_issuer(renders: dict[str, RenderSummary]) -> None:
    certs = _by_kind(renders, "prod-exposed")["Certificate"]
    public = next(c for c in certs if c["spec"]["secretName"] == "mlplat-gateway-tls")
    assert public["spec"]["issuerRef"] == {"kind": "ClusterIssuer", "name": "letsencrypt"}


def test_cnpg_database_roles_and_databases(renders: dict[str, RenderSummary]) -> None:
    """Consumers beyond the bootstrap get a role and a database (required: cluster, name,
    owner for Database; cluster, name for DatabaseRole), each pointing at the Cluster."""
    kinds = _by_kind(renders, "prod-exposed")
    (cluster,) = kinds["Cluster"]
    secrets = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in kinds["Secret"]}
    roles = {r["spec"]["name"]: r for r in kinds["DatabaseRole"]}
    assert set(roles) == {"feast"}
    for database in kinds["Database"]:
        spec = database["spec"]
        assert database["apiVersion"] == "postgresql.cnpg.io/v1"
        assert spec["cluster"] == {"name": cluster["metadata"]["name"]}
        assert spec["owner"] in roles and spec["name"] == spec["owner"]
        assert spec["databaseReclaimPolicy"] == "retain"
        role = roles[spec["owner"]]["spec"]
        assert role["cluster"] == spec["cluster"] and role["login"] is True
        secret = secrets[(cluster["metadata"]["namespace"], role["passwordSecret"]["name"])]
        assert secret["type"] == "kubernetes.io/basic-auth"
        assert set(secret["stringData"]) == {"username", "password"}
    assert "DatabaseRole" not in _by_kind(renders, "dev"), "no feature store in dev"
