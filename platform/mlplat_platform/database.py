"""The database: the CloudNativePG operator and one PostgreSQL `Cluster` for every consumer.

No Bitnami chart or image (Bitnami went legacy in 2025): the operator comes from the
CloudNativePG chart, PostgreSQL from CloudNativePG's own images. The Cluster holds data, so it
is protected and retained on delete. Each consumer gets a database and a role of its own: the
first (MLflow's) is the Cluster's ``initdb`` bootstrap, every other one a `DatabaseRole` and a
`Database` object (CloudNativePG 1.30), so adding a consumer never edits the protected Cluster.
Passwords are generated with pulumi-random and handed on only as secret outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes.apiextensions as apiextensions
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.helm.v4 as helm
import pulumi_random as random

from mlplat_platform import versions
from mlplat_platform.charts import ChartSource
from mlplat_platform.endpoints import DatabaseEndpoint
from mlplat_platform.k8s import NAMESPACES, child, labels, resources
from mlplat_platform.namespace import Flow, Peer, kube_api_egress, secure_namespace, webhook_ingress

__all__ = ["Database", "DatabaseArgs", "DatabaseUser"]

PG_PORT = 5432
_STATUS_PORT = 8000
_WEBHOOK_PORT = 9443
_CLUSTER = "mlplat-db"
_CNPG = "postgresql.cnpg.io/v1"


@dataclass(frozen=True, kw_only=True)
class DatabaseUser:
    """A consumer's own database, and the role of the same name that owns it.

    Attributes:
        name: Database and role name (``mlflow``).
        namespace: The consumer's namespace, allowed to reach 5432.
    """

    name: str
    namespace: str


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    """Inputs of `Database`.

    Attributes:
        instances: PostgreSQL instances (1 primary plus replicas).
        size: Volume size per instance.
        cpu: CPU request per instance.
        memory: Memory request per instance.
        storage_class: StorageClass; ``None`` for the cluster default.
        users: Every consumer's database and role. The one named ``bootstrap`` is created
            by ``initdb``, the others as `DatabaseRole` and `Database` objects.
        bootstrap: The database (and owner) ``initdb`` creates. Fixed once the Cluster
            exists, so it stays MLflow's even when the registry is switched off.
        namespace: Namespace of the Cluster.
        operator_namespace: Namespace of the operator.
        charts: Where the operator's chart comes from.
    """

    instances: int
    size: str
    cpu: str
    memory: str
    storage_class: str | None = None
    users: tuple[DatabaseUser, ...] = ()
    bootstrap: str = "mlflow"
    namespace: str = NAMESPACES.database
    operator_namespace: str = NAMESPACES.cnpg
    charts: ChartSource = ChartSource()


class Database(pulumi.ComponentResource):
    """CloudNativePG operator plus a protected PostgreSQL Cluster.

    Attributes:
        endpoints: Each user's host, database, role and secret password, by user name.
        cluster: The CNPG Cluster custom resource.
        ready: The Cluster and every declared database: what a consumer's first
            connection (its schema Job) waits for.
    """

    endpoints: Mapping[str, DatabaseEndpoint]
    cluster: apiextensions.CustomResource
    ready: tuple[pulumi.Resource, ...]

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
                peers=tuple(Peer.namespace(u.namespace) for u in args.users)
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
        names = [args.bootstrap] + [u.name for u in args.users if u.name != args.bootstrap]
        passwords = {user: self._credentials(name, args, user, ns) for user in names}
        storage: dict[str, object] = {"size": args.size}
        if args.storage_class:
            storage["storageClass"] = args.storage_class
        self.cluster = apiextensions.CustomResource(
            f"{name}-cluster",
            api_version=_CNPG,
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
                        "database": args.bootstrap,
                        "owner": args.bootstrap,
                        "secret": {"name": f"{_CLUSTER}-{args.bootstrap}"},
                    }
                },
                "primaryUpdateStrategy": "unsupervised",
            },
            opts=child(
                self,
                depends_on=[ns, operator, *(s for _, s in passwords.values())],
                protect=True,
                retain_on_delete=True,
            ),
        )
        declared = [self._declare(name, args, user, passwords[user][1]) for user in names[1:]]
        self.ready = (self.cluster, *declared)
        self.endpoints = {
            user: DatabaseEndpoint(
                host=f"{_CLUSTER}-rw.{args.namespace}.svc.cluster.local",
                port=PG_PORT,
                name=user,
                user=user,
                password=passwords[user][0],
                sslmode="require",
                namespace=args.namespace,
            )
            for user in names
        }
        self.register_outputs(
            {"host": f"{_CLUSTER}-rw.{args.namespace}", "databases": sorted(names)}
        )

    def _credentials(
        self, name: str, args: DatabaseArgs, user: str, ns: pulumi.Resource
    ) -> tuple[pulumi.Output[str], core.Secret]:
        """A generated password, and the basic-auth Secret CloudNativePG reads it from."""
        suffix = "" if user == args.bootstrap else f"-{user}"
        password = random.RandomPassword(
            f"{name}-password{suffix}", length=32, special=False, opts=child(self)
        )
        secret = core.Secret(
            f"{name}-credentials{suffix}",
            metadata={
                "name": f"{_CLUSTER}-{user}",
                "namespace": args.namespace,
                "labels": labels(_CLUSTER, "database"),
            },
            type="kubernetes.io/basic-auth",
            string_data={"username": user, "password": pulumi.Output.secret(password.result)},
            opts=child(self, depends_on=[ns], additional_secret_outputs=["data", "stringData"]),
        )
        return pulumi.Output.secret(password.result), secret

    def _declare(
        self, name: str, args: DatabaseArgs, user: str, secret: core.Secret
    ) -> pulumi.Resource:
        """A consumer's role and database, reconciled by the operator inside the Cluster.

        Both keep what they made when deleted (``retain``): dropping a consumer from the
        config never drops its data.
        """
        cluster_ref = {"name": _CLUSTER}
        role = apiextensions.CustomResource(
            f"{name}-role-{user}",
            api_version=_CNPG,
            kind="DatabaseRole",
            metadata={"name": f"{_CLUSTER}-{user}", "namespace": args.namespace},
            spec={
                "cluster": cluster_ref,
                "name": user,
                "ensure": "present",
                "login": True,
                "passwordSecret": {"name": f"{_CLUSTER}-{user}"},
                "databaseRoleReclaimPolicy": "retain",
            },
            opts=child(self, depends_on=[self.cluster, secret]),
        )
        database: pulumi.Resource = apiextensions.CustomResource(
            f"{name}-db-{user}",
            api_version=_CNPG,
            kind="Database",
            metadata={"name": f"{_CLUSTER}-{user}", "namespace": args.namespace},
            spec={
                "cluster": cluster_ref,
                "name": user,
                "owner": user,
                "ensure": "present",
                "databaseReclaimPolicy": "retain",
            },
            opts=child(self, depends_on=[role]),
        )
        return database

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
        values = {
            "crds": {"create": True},
            "monitoring": {"podMonitorEnabled": False},
            "resources": versions.chart_pods("cloudnative-pg")["operator"].resources(),
        }
        return args.charts.chart(
            f"{name}-operator",
            versions.CLOUDNATIVE_PG,
            namespace=args.operator_namespace,
            values=values,
            opts=child(self, depends_on=[ns]),
        )
