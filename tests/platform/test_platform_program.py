"""The whole program: what each config deploys, and what it refuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest
from platform_helpers import Run

from mlplat_platform import ConfigError, PlatformSecrets, build_platform, load_config

Runner = Callable[[Callable[[], Any]], Run]


def _kinds(run: Run) -> set[str]:
    return {r.type.rsplit(":", 1)[1] for r in run.registrations if r.type.startswith("kubernetes:")}


def test_without_a_domain_nothing_is_exposed(run: Runner) -> None:
    result = run(lambda: build_platform(load_config(None)))
    kinds = _kinds(result)
    assert not kinds & {"Gateway", "HTTPRoute", "SecurityPolicy", "GatewayClass"}
    exports = result.result
    assert "nothing is exposed" in exports["exposure"]
    assert exports["mlflow_port_forward"] == (
        "kubectl -n mlplat-registry port-forward svc/mlflow 5000:5000"
    )
    assert exports["mlflow_url"] is None and exports["argo_url"] is None
    assert exports["argo_token_command"] == "kubectl -n mlplat-pipelines create token argo-ui"


def test_every_component_is_a_typed_component_resource(run: Runner) -> None:
    result = run(lambda: build_platform(load_config({"domain": "ml.example.com"})))
    components = {r.type for r in result.registrations if r.type.startswith("mlplat:")}
    assert components == {
        f"mlplat:index:{n}"
        for n in (
            "CertManager",
            "Gateway",
            "GatewayCertificates",
            "ObjectStore",
            "Database",
            "Registry",
            "Pipelines",
            "Serving",
        )
    }
    component_urns = {r.urn for r in result.registrations if r.type.startswith("mlplat:")}
    for reg in result.registrations:
        if not reg.type.startswith(("mlplat:", "pulumi:providers:")):
            assert reg.parent in component_urns, f"{reg.type} {reg.name} has no component parent"
    assert "auth_password" in result.result


def test_disabled_components_are_not_deployed(run: Runner) -> None:
    cfg = load_config({"components": {"pipelines": False, "serving": False}})
    result = run(lambda: build_platform(cfg))
    charts = {r.inputs["chart"] for r in result.of_type(":Chart")}
    assert not any("argo" in c or "kserve" in c for c in charts)
    assert "argo_url" not in result.result


def test_external_services_replace_the_in_cluster_ones(run: Runner) -> None:
    cfg = load_config(
        {
            "components": {"object_store": False, "database": False},
            "object_store": {"external": {"endpoint": "https://s3.example.com", "bucket": "ml"}},
            "database": {"external": {"host": "pg.example.com"}},
        }
    )
    secrets = PlatformSecrets(
        s3_access_key_id=pulumi.Output.secret("a"),
        s3_secret_access_key=pulumi.Output.secret("b"),
        db_password=pulumi.Output.secret("c"),
    )
    result = run(lambda: build_platform(cfg, secrets))
    assert not result.of_type("mlplat:index:ObjectStore") and not result.of_type(":Cluster")
    env = {
        e["name"]: e["value"]
        for e in result.named("Deployment", "mlflow").inputs["spec"]["template"]["spec"][
            "containers"
        ][0]["env"]
    }
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "https://s3.example.com"
    egress = result.named("NetworkPolicy", "allow-object-store", "mlplat-registry").inputs["spec"][
        "egress"
    ][0]
    assert egress["ports"] == [{"protocol": "TCP", "port": 443.0}]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (
            {
                "components": {"object_store": False},
                "object_store": {"external": {"endpoint": "https://s3.example.com", "bucket": "b"}},
            },
            "object_store.external",
        ),
        (
            {"components": {"database": False}, "database": {"external": {"host": "pg"}}},
            "database.external",
        ),
        (
            {
                "domain": "ml.example.com",
                "oidc": {"issuer": "https://id.example.com", "client_id": "c"},
            },
            "oidc",
        ),
    ],
)
def test_external_services_need_their_secrets(run: Runner, data: dict[str, Any], key: str) -> None:
    cfg = load_config(data)
    with pytest.raises(ConfigError) as caught:
        run(lambda: build_platform(cfg))
    assert caught.value.key == key
    assert "pulumi config set --secret mlplat:" in str(caught.value)


def test_every_kubernetes_object_uses_the_upserting_provider(run: Runner) -> None:
    result = run(lambda: build_platform(load_config({"kube_context": "kind-mlplat"})))
    (provider,) = result.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["upsertExistingObjects"] == "true"
    assert provider.inputs["context"] == "kind-mlplat"
    for reg in result.registrations:
        if reg.type.startswith("kubernetes:") and reg.custom:
            assert reg.provider.startswith(provider.urn), f"{reg.type} {reg.name}"


def test_the_pulumi_cli_program_runs_the_same_platform(run: Runner, tmp_path: Any) -> None:
    """platform/__main__.py (for `pulumi up`) reads its config file and builds the platform."""
    import runpy
    from pathlib import Path

    config = tmp_path / "platform.yaml"
    config.write_text("domain: ml.example.com\ncomponents: {serving: false}\n", encoding="utf-8")
    main = Path(__file__).resolve().parents[2] / "platform" / "__main__.py"

    def program() -> None:
        pulumi.runtime.set_all_config({"mlplat:config_file": str(config), "mlplat:profile": "prod"})
        try:
            runpy.run_path(str(main), run_name="__main__")
        finally:
            pulumi.runtime.set_all_config({})

    result = run(program)
    assert result.named("Gateway", "mlplat")
    assert not result.of_type("mlplat:index:Serving")
    cluster = result.one(":Cluster", "database-cluster")
    assert cluster.inputs["spec"]["instances"] == 3.0


def test_schema_job_waits_for_the_bucket_and_the_database(run: Runner) -> None:
    result = run(lambda: build_platform(load_config(None)))
    job = result.one(":Job", "registry-db-upgrade")
    assert result.depends_on(job, result.one(":Cluster", "database-cluster"))
    assert result.depends_on(job, result.one(":Job", "object-store-buckets"))


def test_each_consumer_gets_its_own_object_store_identity(run: Runner) -> None:
    """MLflow, workflow pods and model servers never share a key, and none holds the admin's."""
    result = run(lambda: build_platform(load_config(None)))
    keys = {
        r.name: r.urn
        for r in result.of_type("random:index/randomPassword:RandomPassword")
        if r.name.startswith("object-store-")
    }
    admin = {keys["object-store-access-key"], keys["object-store-secret-key"]}
    for namespace, secret, identity in (
        ("mlplat-registry", "mlflow-s3", "mlflow"),
        ("mlplat-pipelines", "argo-s3", "argo"),
        ("mlplat-models", "mlplat-s3", "models"),
    ):
        reg = result.named("Secret", secret, namespace)
        own = {
            keys[f"object-store-{identity}-access-key"],
            keys[f"object-store-{identity}-secret-key"],
        }
        used = set(reg.dependencies) & set(keys.values())
        assert used == own, f"{namespace}/{secret} holds keys of {sorted(used)}"
    client = result.named("Secret", "seaweedfs-client", "mlplat-storage")
    assert set(client.dependencies) & set(keys.values()) == admin


def _object_store_egress(result: Run, namespace: str) -> dict[str, Any]:
    spec = result.named("NetworkPolicy", "allow-object-store", namespace).inputs["spec"]
    rule: dict[str, Any] = spec["egress"][0]
    return rule


@pytest.mark.parametrize(
    ("endpoint", "port"),
    [
        ("http://minio.example.com:9000", 9000.0),
        ("http://s3.example.com", 80.0),
        ("https://s3.example.com", 443.0),
        ("https://s3.example.com:8443/", 8443.0),
    ],
)
def test_external_object_store_is_reachable_whatever_its_scheme(
    run: Runner, endpoint: str, port: float
) -> None:
    """A plain-HTTP external bucket is still outside the cluster: egress to it, on its port."""
    cfg = load_config(
        {
            "components": {"object_store": False},
            "object_store": {"external": {"endpoint": endpoint, "bucket": "ml"}},
        }
    )
    secrets = PlatformSecrets(
        s3_access_key_id=pulumi.Output.secret("a"), s3_secret_access_key=pulumi.Output.secret("b")
    )
    result = run(lambda: build_platform(cfg, secrets))
    for namespace in ("mlplat-registry", "mlplat-pipelines", "mlplat-models"):
        rule = _object_store_egress(result, namespace)
        assert rule["ports"] == [{"protocol": "TCP", "port": port}], namespace
        assert "to" not in rule, namespace  # any destination (ipBlocks miss nodes on Cilium)


def test_in_cluster_object_store_is_reached_only_in_its_namespace(run: Runner) -> None:
    result = run(lambda: build_platform(load_config(None)))
    for namespace in ("mlplat-registry", "mlplat-pipelines", "mlplat-models"):
        rule = _object_store_egress(result, namespace)
        assert rule["ports"] == [{"protocol": "TCP", "port": 8333.0}], namespace
        assert rule["to"] == [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "mlplat-storage"}
                }
            }
        ], namespace
