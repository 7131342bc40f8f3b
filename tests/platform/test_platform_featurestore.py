"""The Feast feature store: its config, its servers, its database and its flows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import yaml
from platform_helpers import Run, is_secret

from mlplat_platform import build_platform, load_config, versions
from mlplat_platform.endpoints import DatabaseEndpoint
from mlplat_platform.featurestore import feature_store_yaml

Runner = Callable[[Callable[[], Any]], Run]

#: The keys feast 0.67.0 accepts (feast/repo_config.py RepoConfig and RegistryConfig,
#: feast/infra/utils/postgres/postgres_config.py PostgreSQLConfig plus the online store's
#: own, feast/infra/offline_stores/dask.py DaskOfflineStoreConfig). Its models forbid others.
_REPO_KEYS = {
    "project",
    "provider",
    "registry",
    "online_store",
    "offline_store",
    "entity_key_serialization_version",
}
_REGISTRY_KEYS = {"registry_type", "path", "cache_ttl_seconds", "cache_mode"}
_POSTGRES_KEYS = {
    "type",
    "host",
    "port",
    "database",
    "db_schema",
    "user",
    "password",
    "sslmode",
    "conn_type",
    "min_conn",
    "max_conn",
}


def _prod(run: Runner) -> Run:
    return run(lambda: build_platform(load_config({"profile": "prod"})))


def test_feature_store_yaml_uses_only_feasts_keys() -> None:
    endpoint = DatabaseEndpoint(
        host="db.svc",
        port=5432,
        name="feast",
        user="feast",
        password=pulumi.Output.secret("unused"),
        sslmode="require",
        namespace="mlplat-database",
    )
    config = yaml.safe_load(feature_store_yaml(database=endpoint, password="p@ss/w:rd"))
    assert set(config) <= _REPO_KEYS
    assert config["project"] == "mlplat" and config["provider"] == "local"
    registry = config["registry"]
    assert set(registry) <= _REGISTRY_KEYS and registry["registry_type"] == "sql"
    # psycopg 3 explicitly, credentials percent-encoded (SQLAlchemy decodes them).
    assert registry["path"] == (
        "postgresql+psycopg://feast:p%40ss%2Fw%3Ard@db.svc:5432/feast?sslmode=require"
    )
    online = config["online_store"]
    assert set(online) <= _POSTGRES_KEYS and online["type"] == "postgres"
    assert (online["host"], online["port"], online["database"]) == ("db.svc", 5432, "feast")
    assert online["password"] == "p@ss/w:rd" and online["sslmode"] == "require"
    assert config["offline_store"] == {"type": "file"}
    assert config["entity_key_serialization_version"] == 3


def test_feature_store_is_off_in_dev_and_on_in_prod(run: Runner) -> None:
    dev = run(lambda: build_platform(load_config(None)))
    assert not dev.of_type("mlplat:index:FeatureStore")
    assert "feature_server_internal_url" not in dev.result
    prod = _prod(run)
    assert prod.one("mlplat:index:FeatureStore", "feature-store")
    exports = prod.result
    assert exports["feature_server_internal_url"] == (
        "http://feast.mlplat-features.svc.cluster.local:6566"
    )
    assert exports["feature_registry_address"] == "feast.mlplat-features.svc.cluster.local:6570"
    assert exports["feature_store_project"] == "mlplat"


def test_feature_servers_run_restricted_from_a_mounted_config(run: Runner) -> None:
    result = _prod(run)
    deployment = result.named("Deployment", "feast", "mlplat-features")
    spec = deployment.inputs["spec"]
    assert spec["replicas"] == 2.0
    pod = spec["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    containers = {c["name"]: c for c in pod["containers"]}
    assert set(containers) == {"feature-server", "registry-server"}
    for name, container in containers.items():
        assert container["image"] == versions.FEAST_IMAGE, name
        command = container["command"]
        assert command[:5] == [
            "feast",
            "--chdir",
            "/tmp",
            "--feature-store-yaml",
            "/etc/feast/config/feature_store.yaml",
        ]
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True and context["runAsNonRoot"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert set(container["resources"]) == {"requests", "limits"}
        assert {"readinessProbe", "livenessProbe"} <= set(container)
        assert not any("valueFrom" in e for e in container["env"]), "credentials are files"
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert mounts == {"/etc/feast/config", "/etc/feast/s3", "/tmp"}
    server = containers["feature-server"]
    assert server["command"][5:9] == ["serve", "--host", "0.0.0.0", "--port"]
    assert server["ports"] == [{"name": "http", "containerPort": 6566.0, "protocol": "TCP"}]
    assert server["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    registry = containers["registry-server"]
    assert registry["command"][5:] == ["serve_registry", "--port", "6570"]
    env = {e["name"]: e["value"] for e in server["env"]}
    assert env["AWS_ENDPOINT_URL"] == "http://seaweedfs.mlplat-storage.svc.cluster.local:8333"
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == "/etc/feast/s3/credentials"
    config = result.named("Secret", "feast-config", "mlplat-features")
    assert is_secret(config.inputs["stringData"])
    assert result.named("PodDisruptionBudget", "feast", "mlplat-features")
    service = result.named("Service", "feast", "mlplat-features").inputs["spec"]
    assert [p["port"] for p in service["ports"]] == [6566.0, 6570.0]


def test_feature_store_has_a_database_and_role_of_its_own(run: Runner) -> None:
    result = _prod(run)
    cluster = result.one(":Cluster", "database-cluster")
    role = result.one(":DatabaseRole", "database-role-feast")
    database = result.one(":Database", "database-db-feast")
    assert role.inputs["spec"] == {
        "cluster": {"name": "mlplat-db"},
        "name": "feast",
        "ensure": "present",
        "login": True,
        "passwordSecret": {"name": "mlplat-db-feast"},
        "databaseRoleReclaimPolicy": "retain",
    }
    assert database.inputs["spec"]["owner"] == "feast"
    assert database.inputs["spec"]["databaseReclaimPolicy"] == "retain"
    assert result.depends_on(role, cluster) and result.depends_on(database, role)
    secret = result.named("Secret", "mlplat-db-feast", "mlplat-database")
    assert secret.inputs["type"] == "kubernetes.io/basic-auth"
    assert is_secret(secret.inputs["stringData"])
    # MLflow keeps the bootstrap database; the protected Cluster lists no consumer.
    assert cluster.inputs["spec"]["bootstrap"]["initdb"]["database"] == "mlflow"
    assert "managed" not in cluster.inputs["spec"]
    server = result.named("Deployment", "feast", "mlplat-features")
    assert result.depends_on(server, database), "the server starts once its database exists"
    assert result.depends_on(server, result.one(":Job", "object-store-buckets"))


def _peers(result: Run, namespace: str, name: str) -> tuple[set[str], set[float]]:
    spec = result.named("NetworkPolicy", name, namespace).inputs["spec"]
    rule = (spec.get("ingress") or spec.get("egress"))[0]
    peers = rule.get("from") or rule.get("to")
    names = {
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for p in peers
        if "namespaceSelector" in p
    }
    return names, {p["port"] for p in rule["ports"]}


def test_feature_store_flows(run: Runner) -> None:
    """Pipelines and model servers reach it; it reaches only its database and the store."""
    result = _prod(run)
    assert _peers(result, "mlplat-features", "allow-feature-clients") == (
        {"mlplat-pipelines", "mlplat-models"},
        {6566.0, 6570.0},
    )
    assert _peers(result, "mlplat-features", "allow-database") == ({"mlplat-database"}, {5432.0})
    assert _peers(result, "mlplat-features", "allow-object-store") == (
        {"mlplat-storage"},
        {8333.0},
    )
    for caller in ("mlplat-pipelines", "mlplat-models"):
        assert _peers(result, caller, "allow-feature-store") == (
            {"mlplat-features"},
            {6566.0, 6570.0},
        )
    assert "mlplat-features" in _peers(result, "mlplat-database", "allow-postgres-clients")[0]
    assert "mlplat-features" in _peers(result, "mlplat-storage", "allow-s3-clients")[0]
    labels = result.named("Namespace", "mlplat-features").inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert "mlplat.io/gateway-access" not in labels, "the feature store is never published"
