"""The feature store: a Feast feature server and registry server on the platform's services.

Feast's own image (``quay.io/feastdev/feature-server``) runs two processes from one
``feature_store.yaml``: the feature server (``feast serve``, HTTP on 6566: online features,
pushes, materialisation) and the registry server (``feast serve_registry``, gRPC on 6570),
through which projects ``feast apply`` their definitions and read them back
(``registry_type: remote``) without holding database credentials. Behind both:

- the registry in PostgreSQL (``registry_type: sql``) and the online store in PostgreSQL
  (``type: postgres``), in a database and role of the feature store's own on the
  CloudNativePG cluster;
- the offline store on the object store (``type: file``: Parquet under ``s3://``), read with
  the feature store's own S3 identity.

``feature_store.yaml`` holds the database password, so it is a Secret mounted as a file; the
S3 keys arrive as an AWS shared-credentials file. Feast expands ``$VAR`` references in the
file with ``os.path.expandvars``: generated passwords are alphanumeric, and an external
database's password must not contain ``$``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes.apps.v1 as apps
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.policy.v1 as policy
import yaml

from mlplat_platform import versions
from mlplat_platform.consumers import FEATURE_REGISTRY_PORT, FEATURE_SERVER_PORT
from mlplat_platform.endpoints import DatabaseEndpoint, S3Endpoint
from mlplat_platform.k8s import (
    DIGEST_SKIP,
    NAMESPACES,
    SLOW_START,
    checkov_skips,
    child,
    container_security,
    labels,
    pod_security,
    resources,
)
from mlplat_platform.namespace import Flow, Peer, secure_namespace

__all__ = ["FEAST_PROJECT", "FeatureStore", "FeatureStoreArgs", "feature_store_yaml"]

#: The Feast project the server serves; projects apply their definitions into it.
FEAST_PROJECT = "mlplat"
_NAME = "feast"
_CONFIG = "/etc/feast/config/feature_store.yaml"


def feature_store_yaml(
    *, database: DatabaseEndpoint, password: str, project: str = FEAST_PROJECT
) -> str:
    """The server's ``feature_store.yaml`` (keys of feast 0.67.0's ``RepoConfig``).

    Args:
        database: Where the registry and the online store live.
        password: The role's password, resolved.
        project: The Feast project.
    """
    config: dict[str, Any] = {
        "project": project,
        "provider": "local",
        "registry": {
            "registry_type": "sql",
            # psycopg 3, the driver Feast standardises on (it rewrites a bare postgresql://).
            "path": database.url(password, driver="postgresql+psycopg"),
            "cache_ttl_seconds": 60,
        },
        "online_store": {
            "type": "postgres",
            "host": database.host,
            "port": database.port,
            "database": database.name,
            "db_schema": "public",
            "user": database.user,
            "password": password,
            "sslmode": database.sslmode,
            "conn_type": "pool",
        },
        # Parquet sources under s3:// on the object store; the endpoint and keys come from
        # the environment (AWS_ENDPOINT_URL, AWS_SHARED_CREDENTIALS_FILE).
        "offline_store": {"type": "file"},
        "entity_key_serialization_version": 3,
    }
    return yaml.safe_dump(config, sort_keys=False)


@dataclass(frozen=True, kw_only=True)
class FeatureStoreArgs:
    """Inputs of `FeatureStore`.

    Attributes:
        database: The feature store's own database (registry and online store).
        object_store: The offline store, with the feature store's own identity.
        replicas: Server replicas.
        cpu: CPU request of the feature server.
        memory: Memory request of the feature server.
        disruption_budget: Add a PodDisruptionBudget.
        clients: Namespaces allowed to call the servers (pipelines, models).
        after: What must exist first (the database objects, the bucket Job).
        namespace: Where the servers run.
    """

    database: DatabaseEndpoint
    object_store: S3Endpoint
    replicas: int = 1
    cpu: str = "100m"
    memory: str = "384Mi"
    disruption_budget: bool = False
    clients: tuple[str, ...] = ()
    after: tuple[pulumi.Resource, ...] = ()
    namespace: str = NAMESPACES.features


class FeatureStore(pulumi.ComponentResource):
    """Feast's feature server and registry server, in a restricted namespace.

    Attributes:
        internal_url: The feature server's in-cluster URL (online features, push).
        registry_address: ``host:port`` of the registry server (``registry_type: remote``).
        project: The Feast project served.
    """

    internal_url: str
    registry_address: str
    project: str

    def __init__(
        self, name: str, args: FeatureStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplat:index:FeatureStore", name, None, opts)
        ns_name = args.namespace
        selector = {"app.kubernetes.io/name": _NAME}
        flows = [
            Flow(
                name="feature-clients",
                direction="ingress",
                ports=(FEATURE_SERVER_PORT, FEATURE_REGISTRY_PORT),
                peers=tuple(Peer.namespace(c) for c in args.clients),
                pod_labels=selector,
            ),
            args.database.egress_flow(),
            args.object_store.egress_flow(),
        ]
        ns = secure_namespace(ns_name, parent=self, flows=flows)
        deps = child(self, depends_on=[ns])
        db = args.database
        # Secret: derived from the password, itself a secret output (DatabaseEndpoint).
        rendered = db.password.apply(lambda pw: feature_store_yaml(database=db, password=pw))
        config = core.Secret(
            f"{name}-config",
            metadata={"name": f"{_NAME}-config", "namespace": ns_name},
            type="Opaque",
            string_data={"feature_store.yaml": rendered},
            opts=child(self, depends_on=[ns], additional_secret_outputs=["data", "stringData"]),
        )
        s3 = args.object_store.credentials_secret(
            f"{_NAME}-s3", ns_name, parent=self, depends_on=[ns]
        )
        core.ServiceAccount(
            f"{name}-sa",
            metadata={"name": _NAME, "namespace": ns_name},
            automount_service_account_token=False,
            opts=deps,
        )
        app = labels(_NAME, "feature-store")
        apps.Deployment(
            f"{name}-server",
            metadata={
                "name": _NAME,
                "namespace": ns_name,
                "labels": app,
                "annotations": checkov_skips(DIGEST_SKIP),
            },
            spec={
                "replicas": args.replicas,
                "selector": {"matchLabels": selector},
                "template": {"metadata": {"labels": app}, "spec": self._pod(args)},
            },
            opts=child(self, depends_on=[config, s3, *args.after], custom_timeouts=SLOW_START),
        )
        core.Service(
            f"{name}-service",
            metadata={"name": _NAME, "namespace": ns_name, "labels": app},
            spec={
                "selector": selector,
                "ports": [
                    {
                        "name": "http",
                        "port": FEATURE_SERVER_PORT,
                        "targetPort": "http",
                        "protocol": "TCP",
                    },
                    {
                        "name": "registry",
                        "port": FEATURE_REGISTRY_PORT,
                        "targetPort": "registry",
                        "protocol": "TCP",
                    },
                ],
            },
            opts=deps,
        )
        if args.disruption_budget:
            policy.PodDisruptionBudget(
                f"{name}-pdb",
                metadata={"name": _NAME, "namespace": ns_name},
                spec={"minAvailable": 1, "selector": {"matchLabels": selector}},
                opts=deps,
            )
        host = f"{_NAME}.{ns_name}.svc.cluster.local"
        self.internal_url = f"http://{host}:{FEATURE_SERVER_PORT}"
        self.registry_address = f"{host}:{FEATURE_REGISTRY_PORT}"
        self.project = FEAST_PROJECT
        self.register_outputs(
            {
                "internal_url": self.internal_url,
                "registry_address": self.registry_address,
                "project": self.project,
            }
        )

    @staticmethod
    def _pod(args: FeatureStoreArgs) -> dict[str, Any]:
        s3 = args.object_store
        env = [
            {"name": "HOME", "value": "/tmp"},
            {"name": "AWS_ENDPOINT_URL", "value": s3.url},
            {"name": "AWS_DEFAULT_REGION", "value": s3.region},
            {"name": "AWS_SHARED_CREDENTIALS_FILE", "value": "/etc/feast/s3/credentials"},
        ]
        mounts = [
            {"name": "config", "mountPath": "/etc/feast/config", "readOnly": True},
            {"name": "s3", "mountPath": "/etc/feast/s3", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ]
        feast = ["feast", "--chdir", "/tmp", "--feature-store-yaml", _CONFIG]
        workers = 1 if args.replicas == 1 else 2

        def container(
            name: str, args_: list[str], port: tuple[str, int], probe: dict[str, Any], res: Any
        ) -> dict[str, Any]:
            return {
                "name": name,
                "image": versions.FEAST_IMAGE,
                "imagePullPolicy": "Always",
                "command": [*feast, *args_],
                "env": env,
                "ports": [{"name": port[0], "containerPort": port[1], "protocol": "TCP"}],
                "resources": res,
                "securityContext": container_security(),
                "readinessProbe": {**probe, "initialDelaySeconds": 10, "periodSeconds": 10},
                "livenessProbe": {
                    **probe,
                    "initialDelaySeconds": 60,
                    "periodSeconds": 20,
                    "failureThreshold": 6,
                },
                "volumeMounts": mounts,
            }

        server = container(
            "feature-server",
            [
                "serve",
                "--host",
                "0.0.0.0",
                "--port",
                str(FEATURE_SERVER_PORT),
                "--workers",
                str(workers),
            ],
            ("http", FEATURE_SERVER_PORT),
            # /health lists the registry's projects: ready only when the database answers.
            {"httpGet": {"path": "/health", "port": "http"}, "timeoutSeconds": 5},
            resources(args.cpu, args.memory),
        )
        registry = container(
            "registry-server",
            ["serve_registry", "--port", str(FEATURE_REGISTRY_PORT)],
            ("registry", FEATURE_REGISTRY_PORT),
            {"tcpSocket": {"port": "registry"}, "timeoutSeconds": 3},
            resources("50m", "256Mi"),
        )
        return {
            "serviceAccountName": _NAME,
            "automountServiceAccountToken": False,
            "securityContext": pod_security(),
            "containers": [server, registry],
            "volumes": [
                {
                    "name": "config",
                    "secret": {
                        "secretName": f"{_NAME}-config",
                        "items": [{"key": "feature_store.yaml", "path": "feature_store.yaml"}],
                    },
                },
                {
                    "name": "s3",
                    "secret": {
                        "secretName": f"{_NAME}-s3",
                        "items": [{"key": "credentials", "path": "credentials"}],
                    },
                },
                {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
            ],
        }
