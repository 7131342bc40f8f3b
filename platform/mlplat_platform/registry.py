"""The model registry: an MLflow 3 tracking server on PostgreSQL and the object store.

Our own component rather than a chart: the ``-full`` image carries the PostgreSQL and S3
drivers, the schema upgrade is a Job we own (named after the MLflow version, so an upgrade
runs it once before the new server starts), and ``MLFLOW_SERVER_ALLOWED_HOSTS`` lists exactly
the names the server is reached by. Credentials arrive as files, never as environment values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes.apiextensions as apiextensions
import pulumi_kubernetes.apps.v1 as apps
import pulumi_kubernetes.batch.v1 as batch
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.policy.v1 as policy

from mlplat_platform import versions
from mlplat_platform.consumers import MLFLOW_PORT
from mlplat_platform.endpoints import DatabaseEndpoint, GatewayRef, S3Endpoint
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
    run_once_job_spec,
)
from mlplat_platform.namespace import Flow, Peer, secure_namespace

__all__ = ["MLFLOW_PORT", "Registry", "RegistryArgs"]

_NAME = "mlflow"
# MLflow's supported schema command: since 3.x `mlflow db upgrade` creates the tables on an
# empty database and migrates an existing one (mlflow/db.py, checked at 3.17.2). The URI is
# read from the mounted secret, so it is never in the pod spec or the environment.
_SCHEMA_COMMAND = 'exec mlflow db upgrade "$(cat /etc/mlflow/db/uri)"'


@dataclass(frozen=True, kw_only=True)
class RegistryArgs:
    """Inputs of `Registry`.

    Attributes:
        database: Where runs and registered models are stored.
        object_store: Where artefacts are stored (``s3://<bucket>/mlflow``).
        replicas: Server replicas.
        cpu: CPU request.
        memory: Memory request.
        disruption_budget: Add a PodDisruptionBudget.
        clients: Namespaces allowed to call the server.
        gateway: Publish ``mlflow.<domain>`` on this gateway; ``None`` keeps it internal.
        after: Resources that must exist first (the bucket Job, the database).
        namespace: Where MLflow runs.
    """

    database: DatabaseEndpoint
    object_store: S3Endpoint
    replicas: int
    cpu: str
    memory: str
    disruption_budget: bool = False
    clients: tuple[str, ...] = ()
    gateway: GatewayRef | None = None
    after: tuple[pulumi.Resource, ...] = ()
    namespace: str = NAMESPACES.registry


class Registry(pulumi.ComponentResource):
    """MLflow tracking server and model registry.

    Attributes:
        internal_url: In-cluster tracking URI.
        url: Public URL behind the gateway, or ``None`` when not exposed.
        port_forward: The command that reaches the UI without a gateway.
    """

    internal_url: str
    url: str | None
    port_forward: str

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplat:index:Registry", name, None, opts)
        ns_name = args.namespace
        selector = {"app.kubernetes.io/name": _NAME}
        db, s3 = args.database, args.object_store
        flows = [
            Flow(
                name="mlflow-clients",
                direction="ingress",
                ports=(MLFLOW_PORT,),
                peers=tuple(Peer.namespace(c) for c in args.clients),
                pod_labels=selector,
            ),
            db.egress_flow(),
            s3.egress_flow(),
        ]
        ns = secure_namespace(
            ns_name, parent=self, flows=flows, gateway_access=args.gateway is not None
        )
        deps = child(self, depends_on=[ns])
        backend = core.Secret(
            f"{name}-backend",
            metadata={"name": f"{_NAME}-backend", "namespace": ns_name},
            type="Opaque",
            string_data={"uri": db.uri()},
            opts=child(self, depends_on=[ns], additional_secret_outputs=["data", "stringData"]),
        )
        s3_secret = s3.credentials_secret(f"{_NAME}-s3", ns_name, parent=self, depends_on=[ns])
        core.ServiceAccount(
            f"{name}-sa",
            metadata={"name": _NAME, "namespace": ns_name},
            automount_service_account_token=False,
            opts=deps,
        )
        hosts = [
            f"{_NAME}.{ns_name}.svc.cluster.local:{MLFLOW_PORT}",
            f"{_NAME}.{ns_name}.svc:{MLFLOW_PORT}",
            f"{_NAME}.{ns_name}:{MLFLOW_PORT}",
            f"localhost:{MLFLOW_PORT}",
            f"127.0.0.1:{MLFLOW_PORT}",
        ]
        if args.gateway is not None:
            # MLflow matches these with fnmatch. Behind a NodePort (or any non-default port)
            # browsers send ``Host: mlflow.<domain>:<port>``, hence the port wildcard.
            public = args.gateway.host(_NAME)
            hosts[:0] = [public, f"{public}:*"]
        env = self._env(s3, hosts)
        upgrade = self._upgrade_job(name, ns_name, env, [backend, s3_secret, *args.after])
        app = labels(_NAME, "registry")
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
                "template": {"metadata": {"labels": app}, "spec": self._server_pod(args, env)},
            },
            opts=child(self, depends_on=[upgrade], custom_timeouts=SLOW_START),
        )
        core.Service(
            f"{name}-service",
            metadata={"name": _NAME, "namespace": ns_name, "labels": app},
            spec={
                "selector": selector,
                "ports": [
                    {"name": "http", "port": MLFLOW_PORT, "targetPort": "http", "protocol": "TCP"}
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
        self.internal_url = f"http://{_NAME}.{ns_name}.svc.cluster.local:{MLFLOW_PORT}"
        self.port_forward = (
            f"kubectl -n {ns_name} port-forward svc/{_NAME} {MLFLOW_PORT}:{MLFLOW_PORT}"
        )
        self.url = None
        if args.gateway is not None:
            self.url = f"https://{args.gateway.host(_NAME)}"
            apiextensions.CustomResource(
                f"{name}-route",
                api_version="gateway.networking.k8s.io/v1",
                kind="HTTPRoute",
                metadata={"name": _NAME, "namespace": ns_name},
                spec={
                    "parentRefs": [args.gateway.parent_ref()],
                    "hostnames": [args.gateway.host(_NAME)],
                    "rules": [
                        {
                            "backendRefs": [{"name": _NAME, "port": MLFLOW_PORT}],
                            "filters": [args.gateway.strip_credentials()],
                        }
                    ],
                },
                opts=child(self, depends_on=[ns, *args.gateway.crds]),
            )
        self.register_outputs({"internal_url": self.internal_url, "url": self.url})

    @staticmethod
    def _env(s3: S3Endpoint, hosts: list[str]) -> list[dict[str, str]]:
        return [
            {"name": "MLFLOW_S3_ENDPOINT_URL", "value": s3.url},
            {"name": "AWS_DEFAULT_REGION", "value": s3.region},
            {"name": "AWS_SHARED_CREDENTIALS_FILE", "value": "/etc/mlflow/s3/credentials"},
            {"name": "MLFLOW_SERVER_ALLOWED_HOSTS", "value": ",".join(hosts)},
            {"name": "HOME", "value": "/tmp"},
        ]

    @staticmethod
    def _volumes() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        mounts: list[dict[str, Any]] = [
            {"name": "backend", "mountPath": "/etc/mlflow/db", "readOnly": True},
            {"name": "s3", "mountPath": "/etc/mlflow/s3", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ]
        volumes: list[dict[str, Any]] = [
            {"name": "backend", "secret": {"secretName": f"{_NAME}-backend"}},
            {
                "name": "s3",
                "secret": {
                    "secretName": f"{_NAME}-s3",
                    "items": [{"key": "credentials", "path": "credentials"}],
                },
            },
            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
        ]
        return mounts, volumes

    def _server_pod(self, args: RegistryArgs, env: list[dict[str, str]]) -> dict[str, Any]:
        s3 = args.object_store
        workers = 1 if args.replicas == 1 else 2
        server = (
            f"exec mlflow server --host 0.0.0.0 --port {MLFLOW_PORT} --workers {workers}"
            ' --backend-store-uri "$(cat /etc/mlflow/db/uri)"'
            f" --artifacts-destination s3://{s3.bucket}/mlflow --serve-artifacts"
        )
        probe = {
            "httpGet": {
                "path": "/health",
                "port": "http",
                "httpHeaders": [{"name": "Host", "value": f"localhost:{MLFLOW_PORT}"}],
            },
            "periodSeconds": 10,
            "timeoutSeconds": 5,
        }
        mounts, volumes = self._volumes()
        return {
            "serviceAccountName": _NAME,
            "automountServiceAccountToken": False,
            "securityContext": pod_security(),
            "containers": [
                {
                    "name": "mlflow",
                    "image": versions.MLFLOW_IMAGE,
                    "imagePullPolicy": "Always",
                    "command": ["sh", "-c", server],
                    "env": env,
                    "ports": [{"name": "http", "containerPort": MLFLOW_PORT, "protocol": "TCP"}],
                    "resources": resources(args.cpu, args.memory),
                    "securityContext": container_security(),
                    "readinessProbe": {**probe, "initialDelaySeconds": 10},
                    "livenessProbe": {**probe, "initialDelaySeconds": 60, "failureThreshold": 6},
                    "volumeMounts": mounts,
                }
            ],
            "volumes": volumes,
        }

    def _upgrade_job(
        self, name: str, ns: str, env: list[dict[str, str]], after: list[pulumi.Resource]
    ) -> batch.Job:
        """Create or upgrade the schema, once per MLflow version, before the server rolls out."""
        tag = versions.MLFLOW_IMAGE.rsplit(":", 1)[1]
        slug = re.sub(r"[^a-z0-9]+", "-", tag.lower()).strip("-")
        job_labels = labels(f"{_NAME}-db-upgrade", "registry")
        mounts, volumes = self._volumes()
        return batch.Job(
            f"{name}-db-upgrade",
            metadata={
                "name": f"{_NAME}-db-upgrade-{slug}",
                "namespace": ns,
                "labels": job_labels,
                "annotations": checkov_skips(DIGEST_SKIP),
            },
            spec=run_once_job_spec(
                job_labels=job_labels,
                service_account=_NAME,
                containers=[
                    {
                        "name": "db-upgrade",
                        "image": versions.MLFLOW_IMAGE,
                        "imagePullPolicy": "Always",
                        "command": ["sh", "-c", _SCHEMA_COMMAND],
                        "env": env,
                        "resources": resources("100m", "256Mi"),
                        "securityContext": container_security(),
                        "volumeMounts": mounts,
                    }
                ],
                volumes=volumes,
            ),
            opts=child(self, depends_on=after, custom_timeouts=SLOW_START),
        )
