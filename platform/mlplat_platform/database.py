"""The database: the CloudNativePG operator and one PostgreSQL `Cluster` for MLflow.

No Bitnami chart or image (Bitnami went legacy in 2025): the operator comes from the
CloudNativePG chart, PostgreSQL from CloudNativePG's own images. The Cluster holds data, so it
is protected and retained on delete; the role's password is generated with pulumi-random and
handed on only as a secret output.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes.apiextensions as apiextensions
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.helm.v4 as helm
import pulumi_random as random

from mlplat_platform import versions
from mlplat_platform.endpoints import DatabaseEndpoint
from mlplat_platform.k8s import NAMESPACES, child, labels, resources
from mlplat_platform.namespace import Flow, Peer, kube_api_egress, secure_namespace, webhook_ingress

__all__ = ["Database", "DatabaseArgs"]

PG_PORT = 5432
_STATUS_PORT = 8000
_WEBHOOK_PORT = 9443
_CLUSTER = "mlplat-db"


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    """Inputs of `Database`.

    Attributes:
        instances: PostgreSQL instances (1 primary plus replicas).
        size: Volume size per instance.
        cpu: CPU request per instance.
        memory: Memory request per instance.
        storage_class: StorageClass; ``None`` for the cluster default.
        clients: Namespaces allowed to connect on 5432.
        database: Database name.
        owner: Role that owns the database.
        namespace: Namespace of the Cluster.
        operator_namespace: Namespace of the operator.
    """

    instances: int
    size: str
    cpu: str
    memory: str
    storage_class: str | None = None
    clients: tuple[str, ...] = ()
    database: str = "mlflow"
    owner: str = "mlflow"
    namespace: str = NAMESPACES.database
    operator_namespace: str = NAMESPACES.cnpg


class Database(pulumi.ComponentResource):
    """CloudNativePG operator plus a protected PostgreSQL Cluster.

    Attributes:
        endpoint: Host, database, role and secret password for clients.
        cluster: The CNPG Cluster custom resource.
    """

    endpoint: DatabaseEndpoint
    cluster: apiextensions.CustomResource

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplat:index:Database", name, None, opts)
        operator = self._operator(name, args)
        instance_labels = {"cnpg.io/cluster": _CLUSTER}
        flows = [
            Flow(
                name="postgres-clients",
                direction="ingress",
                ports=(PG_PORT,),
                peers=tuple(Peer.namespace(c) for c in args.clients)
                + (Peer.same_namespace(), Peer.namespace(args.operator_namespace)),
                pod_labels=instance_labels,
            ),
            Flow(
                name="operator-status",
                direction="ingress",
                ports=(_STATUS_PORT,),
                peers=(Peer.namespace(args.operator_namespace),),
                pod_labels=instance_labels,
            ),
            Flow(
                name="replication",
                direction="egress",
                ports=(PG_PORT,),
                peers=(Peer.same_namespace(),),
            ),
            # The instance manager in each pod watches its Cluster through the API server.
            kube_api_egress(instance_labels),
        ]
        ns = secure_namespace(args.namespace, parent=self, flows=flows, protect=True)
        password = random.RandomPassword(
            f"{name}-password", length=32, special=False, opts=child(self)
        )
        credentials = core.Secret(
            f"{name}-credentials",
            metadata={
                "name": f"{_CLUSTER}-{args.owner}",
                "namespace": args.namespace,
                "labels": labels(_CLUSTER, "database"),
            },
            type="kubernetes.io/basic-auth",
            string_data={"username": args.owner, "password": pulumi.Output.secret(password.result)},
            opts=child(self, depends_on=[ns], additional_secret_outputs=["data", "stringData"]),
        )
        storage: dict[str, object] = {"size": args.size}
        if args.storage_class:
            storage["storageClass"] = args.storage_class
        self.cluster = apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="postgresql.cnpg.io/v1",
            kind="Cluster",
            metadata={
                "name": _CLUSTER,
                "namespace": args.namespace,
                "labels": labels(_CLUSTER, "database"),
            },
            spec={
                "instances": args.instances,
                "imageName": versions.POSTGRES_IMAGE,
                "enableSuperuserAccess": False,
                "storage": storage,
                "resources": resources(args.cpu, args.memory),
                "bootstrap": {
                    "initdb": {
                        "database": args.database,
                        "owner": args.owner,
                        "secret": {"name": f"{_CLUSTER}-{args.owner}"},
                    }
                },
                "primaryUpdateStrategy": "unsupervised",
            },
            opts=child(
                self, depends_on=[ns, operator, credentials], protect=True, retain_on_delete=True
            ),
        )
        self.endpoint = DatabaseEndpoint(
            host=f"{_CLUSTER}-rw.{args.namespace}.svc.cluster.local",
            port=PG_PORT,
            name=args.database,
            user=args.owner,
            password=pulumi.Output.secret(password.result),
            sslmode="require",
            namespace=args.namespace,
        )
        self.register_outputs({"host": self.endpoint.host, "database": args.database})

    def _operator(self, name: str, args: DatabaseArgs) -> helm.Chart:
        flows = [
            kube_api_egress(),
            webhook_ingress(_WEBHOOK_PORT),
            Flow(
                name="instances",
                direction="egress",
                ports=(_STATUS_PORT, PG_PORT),
                peers=(Peer.namespace(args.namespace),),
            ),
        ]
        ns = secure_namespace(args.operator_namespace, parent=self, flows=flows)
        pin = versions.CLOUDNATIVE_PG
        values = {
            "crds": {"create": True},
            "monitoring": {"podMonitorEnabled": False},
            "resources": versions.chart_pods("cloudnative-pg")["operator"].resources(),
        }
        return helm.Chart(
            f"{name}-operator",
            name=pin.name,
            chart=pin.chart,
            version=pin.version,
            namespace=args.operator_namespace,
            repository_opts={"repo": pin.repo},
            values=values,
            opts=child(self, depends_on=[ns]),
        )
