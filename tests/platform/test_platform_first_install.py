"""What a first install on a real cluster needs, read in the upstream sources at the pins.

Each test names the upstream file that forces its expectation (see `mlplat_platform.versions`
for the pins); where the pinned chart archive is at hand (the shared chart mirror) the test
also reads the fact in the chart itself, so a pin bump that changes it fails here.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from platform_helpers import Run

from mlplat.render._mock import Registration
from mlplat_platform import build_platform, load_config, versions
from mlplat_platform.pipelines import argo_crds

Runner = Callable[[Callable[[], Any]], Run]
_DOMAIN = {"domain": "ml.example.com"}
_ACME = {**_DOMAIN, "cluster_issuer": "letsencrypt"}


def _chart(run: Run, pin: versions.ChartPin) -> Registration:
    (reg,) = [r for r in run.of_type(":Chart") if r.inputs["name"] == pin.name]
    return reg


def _member(mirror: Path, pin: versions.ChartPin, path: str) -> str:
    """One file of the pinned chart's archive, as text."""
    with tarfile.open(mirror / pin.archive, "r:gz") as archive:
        stream = archive.extractfile(f"{pin.chart_name}/{path}")
        assert stream is not None, path
        return stream.read().decode()


# --- cert-manager and the Gateway API --------------------------------------------------------


@pytest.mark.parametrize("config", [_DOMAIN, _ACME], ids=["self-signed", "acme"])
def test_cert_manager_can_solve_http01_through_the_gateway(run: Runner, config: Any) -> None:
    """v1.21.1 refuses gatewayHTTPRoute solvers unless Gateway API support is on.

    cert-manager/cert-manager@v1.21.1: internal/apis/config/controller/v1alpha1/defaults.go
    (gatewayAPI.enabled defaults to false), pkg/issuer/acme/http/http.go ("gateway api is
    not enabled"), deploy/charts/cert-manager/templates/controller-config.yaml (``config``
    becomes the ControllerConfiguration file passed with --config).
    """
    result = run(lambda: build_platform(load_config(config)))
    values = _chart(result, versions.CERT_MANAGER).inputs["values"]
    assert values["config"] == {
        "apiVersion": "controller.config.cert-manager.io/v1alpha1",
        "kind": "ControllerConfiguration",
        "gatewayAPI": {"enabled": True},
    }


def test_cert_manager_without_a_gateway_leaves_gateway_api_off(run: Runner) -> None:
    """Without Gateway API CRDs the flag would crash the controller (pkg/controller/context.go)."""
    result = run(lambda: build_platform(load_config(None)))
    assert "config" not in _chart(result, versions.CERT_MANAGER).inputs["values"]


def test_gateway_api_crds_come_before_cert_manager_and_certificates_after(run: Runner) -> None:
    """cert-manager exits at start-up while the Gateway API CRDs are missing
    (cert-manager/cert-manager@v1.21.1:pkg/controller/context.go), and they come with the
    Envoy Gateway chart (envoyproxy/gateway@v1.9.0:charts/gateway-helm, subchart crds)."""
    result = run(lambda: build_platform(load_config(_ACME)))
    cert_manager = _chart(result, versions.CERT_MANAGER)
    envoy_gateway = _chart(result, versions.ENVOY_GATEWAY)
    assert result.waits_for(cert_manager, envoy_gateway)
    assert not result.waits_for(envoy_gateway, cert_manager), "a cycle never finishes"
    certificates = result.of_type(":Certificate") + result.of_type(":Issuer")
    assert len(certificates) == 7  # CA issuer chain, three control-plane certs, the listener's
    for cert in certificates:
        assert result.waits_for(cert, cert_manager), cert.name


def test_envoy_gateway_is_not_awaited_before_its_certificates_exist(run: Runner) -> None:
    """Its Deployment mounts the ``envoy-gateway`` secret cert-manager issues after the chart
    (templates/envoy-gateway-deployment.yaml), and its Service has no ready endpoint until
    then: awaiting either would deadlock the first install."""
    result = run(lambda: build_platform(load_config(_DOMAIN)))
    values = _chart(result, versions.ENVOY_GATEWAY).inputs["values"]
    skip = {"pulumi.com/skipAwait": "true"}
    assert values["deployment"]["annotations"] == skip
    assert values["service"]["annotations"] == skip


def test_envoy_gateway_chart_places_those_annotations(chart_mirror: Path) -> None:
    pin = versions.ENVOY_GATEWAY
    deployment = _member(chart_mirror, pin, "templates/envoy-gateway-deployment.yaml")
    service = _member(chart_mirror, pin, "templates/envoy-gateway-service.yaml")
    assert deployment.index(".Values.deployment.annotations") < deployment.index("spec:")
    assert service.index(".Values.service.annotations") < service.index("spec:")
    assert "secretName: envoy-gateway" in deployment


def test_kserve_controller_waits_for_the_httproute_crd(run: Runner) -> None:
    """kserve/kserve@v0.20.0: pkg/controller/v1beta1/inferenceservice/controller.go
    (SetupWithManager returns an error when Gateway API mode finds no HTTPRoute CRD) and
    cmd/manager/main.go (which then exits)."""
    result = run(lambda: build_platform(load_config(_DOMAIN)))
    controller = _chart(result, versions.KSERVE_RESOURCES)
    gateway = controller.inputs["values"]["kserve"]["controller"]["gateway"]
    assert gateway["ingressGateway"]["enableGatewayApi"] is True
    assert result.waits_for(controller, _chart(result, versions.ENVOY_GATEWAY))


def test_every_route_waits_for_the_gateway_api_crds(run: Runner) -> None:
    """An HTTPRoute is refused until its CRD exists: nothing may race the chart."""
    result = run(lambda: build_platform(load_config(_DOMAIN)))
    envoy_gateway = _chart(result, versions.ENVOY_GATEWAY)
    routes = result.of_type(":HTTPRoute")
    assert {r.inputs["metadata"]["name"] for r in routes} >= {"mlflow", "argo", "https-redirect"}
    for route in routes:
        assert result.waits_for(route, envoy_gateway), route.name


# --- NetworkPolicy on Cilium, Calico and kindnet ---------------------------------------------


def _rules(run: Run, name: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for reg in run.of_type(":NetworkPolicy"):
        if reg.inputs["metadata"]["name"] == name:
            spec = reg.inputs["spec"]
            for key in ("ingress", "egress"):
                found += [(reg.inputs["metadata"]["namespace"], r) for r in spec.get(key, [])]
    return found


def test_api_server_and_webhook_flows_match_without_ip_blocks(run: Runner) -> None:
    """Cilium does not select node or API-server addresses with an ipBlock
    (cilium/cilium#14724, #16308, #20550); a rule without peers matches every address on
    every implementation, Cilium included (#35212)."""
    result = run(
        lambda: build_platform(load_config({**_ACME, "components": {"feature_store": True}}))
    )
    api = _rules(result, "allow-kube-api")
    assert {ns for ns, _ in api} >= {"cert-manager", "mlplat-gateway", "kserve"}
    for namespace, rule in api:
        assert "to" not in rule, namespace
        assert sorted(p["port"] for p in rule["ports"]) == [443, 6443], namespace
    webhooks = _rules(result, "allow-webhook")
    assert {ns for ns, _ in webhooks} >= {"cert-manager", "kserve", "cnpg-system"}
    for namespace, rule in webhooks:
        assert "from" not in rule, namespace
        assert len(rule["ports"]) == 1, namespace
    for reg in result.of_type(":NetworkPolicy"):
        assert "ipBlock" not in str(reg.inputs), reg.inputs["metadata"]


# --- values the charts ignore ----------------------------------------------------------------


def test_envoy_gateway_pull_policy_is_set_where_the_chart_reads_it(run: Runner) -> None:
    """``eg.image.pullPolicy`` is ``default deployment.envoyGateway.imagePullPolicy
    global.images.envoyGateway.pullPolicy``: the global value wins
    (envoyproxy/gateway@v1.9.0:charts/gateway-helm/templates/_helpers.tpl)."""
    result = run(lambda: build_platform(load_config(_DOMAIN)))
    values = _chart(result, versions.ENVOY_GATEWAY).inputs["values"]
    assert values["global"]["images"]["envoyGateway"]["pullPolicy"] == "Always"
    assert "imagePullPolicy" not in values["deployment"]["envoyGateway"]


def test_envoy_gateway_chart_reads_the_global_pull_policy_first(chart_mirror: Path) -> None:
    helpers = _member(chart_mirror, versions.ENVOY_GATEWAY, "templates/_helpers.tpl")
    assert (
        "default .Values.deployment.envoyGateway.imagePullPolicy "
        ".Values.global.images.envoyGateway.pullPolicy"
    ) in helpers


def test_argo_values_set_nothing_single_namespace_ignores(run: Runner) -> None:
    """Under singleNamespace the chart ranges over ``list ""`` instead of
    controller.workflowNamespaces (argoproj/argo-helm@argo-workflows-1.0.18:
    charts/argo-workflows/templates/controller/workflow-rb.yaml)."""
    result = run(lambda: build_platform(load_config(None)))
    values = _chart(result, versions.ARGO_WORKFLOWS).inputs["values"]
    assert values["singleNamespace"] is True
    assert "workflowNamespaces" not in values["controller"]
    assert values["crds"] == {"install": False}, "we apply the CRDs ourselves"


def test_argo_chart_ignores_workflow_namespaces_under_single_namespace(chart_mirror: Path) -> None:
    template = _member(
        chart_mirror, versions.ARGO_WORKFLOWS, "templates/controller/workflow-rb.yaml"
    )
    assert 'or .Values.singleNamespace false | ternary (list "")' in template


def test_our_argo_crds_are_the_charts_minimal_crds(chart_mirror: Path) -> None:
    """With ``crds.full: false`` the chart would render files/crds/minimal/ as templates
    (templates/crds.yaml); ours must be those CRDs: names, scope and subresources."""
    import yaml

    pin = versions.ARGO_WORKFLOWS
    ours = {doc["metadata"]["name"]: doc["spec"] for doc in argo_crds()}
    assert "files/crds/minimal/*.yaml" in _member(chart_mirror, pin, "templates/crds.yaml")
    for name, spec in ours.items():
        plural = name.split(".")[0]
        theirs = yaml.safe_load(
            _member(chart_mirror, pin, f"files/crds/minimal/argoproj.io_{plural}.yaml")
        )
        assert theirs["metadata"]["name"] == name
        upstream = theirs["spec"]
        assert (spec["group"], spec["scope"]) == (upstream["group"], upstream["scope"]), name
        assert spec["names"] == upstream["names"], name
        (version,) = spec["versions"]
        (their_version,) = upstream["versions"]
        # `subresources: {}` (upstream's Workflow) is no subresource, like a missing key.
        assert (version.get("subresources") or {}) == (their_version.get("subresources") or {})
        assert version["name"] == their_version["name"], name
