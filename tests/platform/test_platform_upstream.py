"""The platform against its upstream components: what each chart, CRD and binary needs.

Each expectation here was read in the upstream file named beside it, at the pinned tag (see
`mlplat_platform.versions`); the platform code derives its objects from its own tables, so a
drift between the two fails here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from platform_helpers import Run

from mlplat.render._mock import Registration
from mlplat_platform import build_platform, load_config, versions
from mlplat_platform.certmanager import CertManager, CertManagerArgs
from mlplat_platform.pipelines import argo_crds

Runner = Callable[[Callable[[], Any]], Run]
_REF = re.compile(r"^[\w.-]+/[\w.-]+@[\w.()-]+:\S|^[\w.-]+==[\w.]+ \(PyPI")


def _chart(run: Run, pin: versions.ChartPin) -> Registration:
    (reg,) = [r for r in run.of_type(":Chart") if r.inputs["chart"] == pin.chart]
    return reg


@pytest.mark.parametrize("pin", [*versions.ALL_CHARTS, *versions.ALL_IMAGES], ids=lambda p: p.name)
def test_every_pin_names_the_upstream_files_it_was_checked_against(pin: Any) -> None:
    assert pin.checked, f"{pin.name}: no upstream file recorded"
    for entry in pin.checked:
        assert _REF.match(entry), f"{pin.name}: {entry!r} is not repo@ref:path"


def test_pins_are_the_releases_the_issue_checked() -> None:
    """Tags that exist upstream (a tag validators cannot check: they check shape only)."""
    assert versions.MLFLOW_IMAGE == "ghcr.io/mlflow/mlflow:v3.17.2-full"  # -full from v3.9.0
    assert re.fullmatch(
        r"ghcr.io/cloudnative-pg/postgresql:\d+\.\d+-standard-trixie", (versions.POSTGRES_IMAGE)
    ), "MM.mm tags are deprecated: MM.mm-standard-<distro>"
    assert versions.SEAWEEDFS.tag.startswith("4.")
    assert versions.CERT_MANAGER.chart == "oci://quay.io/jetstack/charts/cert-manager"
    assert versions.CERT_MANAGER.repo is None
    kserve = {p.name: p for p in versions.ALL_CHARTS if p.name.startswith("kserve")}
    assert set(kserve) == {"kserve-crd", "kserve-resources", "kserve-runtime-configs"}
    assert {p.version for p in kserve.values()} == {"v0.20.0"}


# argoproj/argo-workflows@v4.0.10 manifests/base/crds/minimal/: (scope, short names,
# status subresource, printer columns, top-level fields) of each CRD.
_UPSTREAM_ARGO_CRDS = {
    "clusterworkflowtemplates": ("Cluster", ["clusterwftmpl", "cwft"], False, [], {"spec"}),
    "cronworkflows": ("Namespaced", ["cwf", "cronwf"], False, [], {"spec", "status"}),
    "workflowartifactgctasks": ("Namespaced", ["wfat"], True, [], {"spec", "status"}),
    "workfloweventbindings": ("Namespaced", ["wfeb"], False, [], {"spec"}),
    "workflows": ("Namespaced", ["wf"], False, ["Status", "Age", "Message"], {"spec", "status"}),
    "workflowtaskresults": (
        "Namespaced",
        None,
        False,
        [],
        {"message", "outputs", "phase", "progress"},
    ),
    "workflowtasksets": ("Namespaced", ["wfts"], True, [], {"spec", "status"}),
    "workflowtemplates": ("Namespaced", ["wftmpl"], False, [], {"spec"}),
}


def test_argo_crds_match_upstream_including_status_subresources() -> None:
    """The controller and executor write /status of task sets and artifact GC tasks."""
    crds = {doc["spec"]["names"]["plural"]: doc for doc in argo_crds()}
    assert set(crds) == set(_UPSTREAM_ARGO_CRDS)
    for plural, (scope, short, status_sub, columns, fields) in _UPSTREAM_ARGO_CRDS.items():
        spec = crds[plural]["spec"]
        (version,) = spec["versions"]
        assert crds[plural]["metadata"]["name"] == f"{plural}.argoproj.io"
        assert spec["scope"] == scope, plural
        assert spec["names"].get("shortNames") == short, plural
        assert spec["names"]["singular"] == plural[:-1], plural
        assert ("status" in version.get("subresources", {})) == status_sub, plural
        assert [c["name"] for c in version.get("additionalPrinterColumns", [])] == columns
        schema = version["schema"]["openAPIV3Schema"]
        top = set(schema["properties"]) - {"apiVersion", "kind", "metadata"}
        assert top == fields, plural
        assert (version["served"], version["storage"], version["name"]) == (True, True, "v1alpha1")


def test_argo_runs_the_newest_patch_of_the_charts_release_line(run: Runner) -> None:
    result = run(lambda: build_platform(load_config(None)))
    values = _chart(result, versions.ARGO_WORKFLOWS).inputs["values"]
    assert values["images"]["tag"] == versions.ARGO_WORKFLOWS.app_version == "v4.0.10"


def test_kserve_runtime_configs_wait_for_the_controller(run: Runner) -> None:
    """ClusterServingRuntimes go through a Fail-policy webhook (kserve/kserve#5037)."""
    result = run(lambda: build_platform(load_config(None)))
    crds = _chart(result, versions.KSERVE_CRD)
    controller = _chart(result, versions.KSERVE_RESOURCES)
    runtimes = _chart(result, versions.KSERVE_RUNTIME_CONFIGS)
    cert_manager = _chart(result, versions.CERT_MANAGER)
    assert result.depends_on(runtimes, controller), "runtimes before the webhook answers"
    assert result.depends_on(controller, crds) and result.depends_on(controller, cert_manager)
    assert not result.depends_on(controller, runtimes)
    assert not result.depends_on(crds, controller)
    # Pulumi awaits the controller chart's Deployment and Service: nothing may switch that off.
    assert "skipAwait" not in str(controller.inputs)


def test_kserve_runs_standard_mode_and_restricted_runtimes(run: Runner) -> None:
    result = run(lambda: build_platform(load_config(None)))
    controller = _chart(result, versions.KSERVE_RESOURCES).inputs["values"]["kserve"]
    assert controller["controller"]["deploymentMode"] == "Standard"
    assert controller["storage"]["containerSecurityContext"]["seccompProfile"] == {
        "type": "RuntimeDefault"
    }
    runtimes = _chart(result, versions.KSERVE_RUNTIME_CONFIGS).inputs["values"]["kserve"]
    serving = runtimes["servingruntime"]
    assert serving["enabled"] is True, "the chart renders nothing without it"
    enabled = {k for k, v in serving.items() if isinstance(v, dict) and not v["disabled"]}
    assert enabled == {"sklearnserver", "xgbserver", "lgbserver", "mlserver"}
    for key in enabled:
        context = serving[key]["securityContext"]
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, key
        assert context["runAsNonRoot"] is True and context["capabilities"] == {"drop": ["ALL"]}
    assert runtimes["llmisvcConfigs"] == {"enabled": False}


def _proxy(result: Run) -> dict[str, Any]:
    spec: dict[str, Any] = result.named("EnvoyProxy", "mlplat").inputs["spec"]
    return spec["provider"]["kubernetes"]["envoyDeployment"]


def test_envoy_proxy_shutdown_manager_can_write_tmp(run: Runner) -> None:
    """The container securityContext reaches the shutdown-manager too (proxy/resource.go)."""
    result = run(lambda: build_platform(load_config({"domain": "ml.example.com"})))
    deployment = _proxy(result)
    container = deployment["container"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    volumes = {v["name"]: v for v in deployment["pod"]["volumes"]}
    assert "emptyDir" in volumes["tmp"]
    patch = deployment["patch"]
    assert patch["type"] == "StrategicMerge"
    (shutdown,) = patch["value"]["spec"]["template"]["spec"]["containers"]
    assert shutdown["name"] == "shutdown-manager"  # the container name Envoy Gateway uses
    assert {"name": "tmp", "mountPath": "/tmp"} in shutdown["volumeMounts"]
    assert set(shutdown["resources"]) == {"requests", "limits"}
    values = _chart(result, versions.ENVOY_GATEWAY).inputs["values"]
    assert values["topologyInjector"] == {"enabled": False}, "its webhook is a dropped hook"


def _rule(result: Run, namespace: str, policy: str) -> dict[str, Any]:
    spec = result.named("NetworkPolicy", policy, namespace).inputs["spec"]
    key = "egress" if "Egress" in spec["policyTypes"] else "ingress"
    rule: dict[str, Any] = spec[key][0]
    return {**rule, "pods": spec["podSelector"]}


def test_acme_issuer_can_solve_http01_and_dns01(run: Runner) -> None:
    """Self-checks leave the cluster on 80 and 53; the solver is reached through the proxies."""
    result = run(
        lambda: build_platform(
            load_config({"domain": "ml.example.com", "cluster_issuer": "letsencrypt"})
        )
    )
    controller = {"matchLabels": {"app.kubernetes.io/component": "controller"}}
    acme = _rule(result, "cert-manager", "allow-acme")
    assert {p["port"] for p in acme["ports"]} == {80.0, 443.0} and acme["pods"] == controller
    assert "to" not in acme, "any destination: the public host may be a node's address"
    dns = _rule(result, "cert-manager", "allow-dns01-check")
    assert sorted((p["protocol"], p["port"]) for p in dns["ports"]) == [
        ("TCP", 53.0),
        ("UDP", 53.0),
    ]
    assert "to" not in dns
    solver = _rule(result, "mlplat-gateway", "allow-acme-solver")
    assert solver["ports"] == [{"protocol": "TCP", "port": 8089.0}]
    assert solver["pods"] == {"matchLabels": {"acme.cert-manager.io/http01-solver": "true"}}
    client = _rule(result, "mlplat-gateway", "allow-acme-solver-client")
    assert client["ports"] == [{"protocol": "TCP", "port": 8089.0}]


def test_self_signed_gateway_opens_no_acme_flows(run: Runner) -> None:
    result = run(lambda: build_platform(load_config({"domain": "ml.example.com"})))
    names = {r.inputs["metadata"]["name"] for r in result.of_type(":NetworkPolicy")}
    assert not {"allow-acme", "allow-dns01-check", "allow-acme-solver"} & names


def test_cert_manager_webhook_gets_a_disruption_budget_with_replicas(run: Runner) -> None:
    result = run(lambda: CertManager("cm", CertManagerArgs(replicas=2)))
    values = _chart(result, versions.CERT_MANAGER).inputs["values"]
    assert values["webhook"]["podDisruptionBudget"] == {"enabled": True}
    assert values["podDisruptionBudget"] == {"enabled": True}


def test_mlflow_schema_job_uses_the_supported_command(run: Runner) -> None:
    """`mlflow db upgrade` creates an empty schema and migrates an old one (mlflow/db.py)."""
    result = run(lambda: build_platform(load_config(None)))
    job = result.one(":Job", "registry-db-upgrade")
    (container,) = job.inputs["spec"]["template"]["spec"]["containers"]
    command = container["command"]
    assert command[:2] == ["sh", "-c"]
    assert command[2].startswith("exec mlflow db upgrade ")
    assert "/etc/mlflow/db/uri" in command[2]
    assert "_upgrade_db" not in str(command) and "_initialize_tables" not in str(command)
    assert job.inputs["metadata"]["name"] == "mlflow-db-upgrade-v3-17-2-full"


def test_seaweedfs_probes_ask_the_s3_gateway(run: Runner) -> None:
    result = run(lambda: build_platform(load_config(None)))
    pod = result.named("Deployment", "seaweedfs").inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == versions.SEAWEEDFS_IMAGE
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "s3"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "s3"}
    flags = {arg.split("=", 1)[0] for arg in container["command"][2:]}
    # Flags `weed server` defines at the pinned tag (weed/command/server.go).
    assert flags <= {"-dir", "-ip.bind", "-master.volumeSizeLimitMB", "-volume.max", "-s3"} | {
        "-s3.port",
        "-s3.config",
    }
