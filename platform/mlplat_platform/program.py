"""The platform program: config in, components wired together, outputs exported.

`build_platform` is the one entry point shared by ``platform/__main__.py`` (the Pulumi CLI),
``mlplat up`` (the Automation API's inline program) and ``mlplat render`` (the mock runtime),
so all three deploy exactly the same thing.

The wiring comes from one table, `mlplat_platform.consumers.CONSUMERS`: the shared services
(gateway, object store, database) are created first, sized to the consumers the config turns
on; then each consumer is built by its entry in `_BUILDERS` from a `Wiring` that hands it its
own object-store identity, its own database, the services it calls and the namespaces that
call it. No builder lists another component.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from mlplat_platform.certmanager import CertManager, CertManagerArgs
from mlplat_platform.charts import ChartSource, charts_for
from mlplat_platform.config import SECRET_NAMES, ConfigError, PlatformConfig, secret_env_name
from mlplat_platform.consumers import NAMESPACES, Consumer, callers, enabled_consumers
from mlplat_platform.database import Database, DatabaseArgs, DatabaseUser
from mlplat_platform.endpoints import (
    DatabaseEndpoint,
    GatewayRef,
    S3Endpoint,
    ServiceRef,
)
from mlplat_platform.featurestore import FeatureStore, FeatureStoreArgs
from mlplat_platform.gateway import Backend, Gateway, GatewayArgs
from mlplat_platform.gatewaycerts import GatewayCertificates, GatewayCertificatesArgs
from mlplat_platform.objectstore import ObjectStore, ObjectStoreArgs, S3Identity
from mlplat_platform.pipelines import Pipelines, PipelinesArgs
from mlplat_platform.registry import Registry, RegistryArgs
from mlplat_platform.serving import Serving, ServingArgs

__all__ = ["PlatformSecrets", "Wiring", "build_platform"]


@dataclass(frozen=True, kw_only=True)
class PlatformSecrets:
    """Secrets for external services; Pulumi config secrets under the ``mlplat`` namespace.

    Attributes:
        s3_access_key_id: ``mlplat:s3_access_key_id``, with ``object_store.external``.
        s3_secret_access_key: ``mlplat:s3_secret_access_key``, with ``object_store.external``.
        db_password: ``mlplat:db_password``, with ``database.external``.
        oidc_client_secret: ``mlplat:oidc_client_secret``, with ``oidc``.
    """

    s3_access_key_id: pulumi.Output[str] | None = None
    s3_secret_access_key: pulumi.Output[str] | None = None
    db_password: pulumi.Output[str] | None = None
    oidc_client_secret: pulumi.Output[str] | None = None

    @classmethod
    def from_pulumi_config(cls) -> PlatformSecrets:
        """Read the secrets from the stack's ``mlplat:*`` config (absent ones stay ``None``)."""
        config = pulumi.Config("mlplat")
        return cls(**{name: config.get_secret(name) for name in SECRET_NAMES})

    def require(self, name: str, needed_by: str) -> pulumi.Output[str]:
        """The secret ``name``, or a `ConfigError` saying how to set it."""
        value: pulumi.Output[str] | None = getattr(self, name)
        if value is None:
            raise ConfigError(
                needed_by,
                f"needs the secret mlplat:{name}; set {secret_env_name(name)} for `mlplat up`, "
                f"or `pulumi config set --secret mlplat:{name} ...` with the Pulumi CLI",
            )
        return pulumi.Output.secret(value)


@dataclass(frozen=True, kw_only=True)
class Wiring:
    """What the shared services hand each consumer, derived from the consumer table.

    Attributes:
        config: The resolved platform config.
        opts: Resource options every component gets (the Kubernetes provider).
        charts: Where every chart comes from (upstream, or the config's chart mirror).
        enabled: The consumers the config deploys, in table order.
        gateway: What routes attach to, or ``None`` when nothing is exposed.
        cert_manager: The cert-manager chart, or ``None`` without cert-manager.
        object_store: Each consumer's object-store endpoint, by identity name.
        database: Each consumer's database endpoint, by database name.
        after_object_store: What must exist before a consumer writes to the object store.
        after_database: What must exist before a consumer's schema Job runs.
    """

    config: PlatformConfig
    opts: pulumi.ResourceOptions
    charts: ChartSource
    enabled: tuple[Consumer, ...]
    gateway: GatewayRef | None
    cert_manager: CertManager | None
    object_store: Mapping[str, S3Endpoint]
    database: Mapping[str, DatabaseEndpoint]
    after_object_store: tuple[pulumi.Resource, ...] = ()
    after_database: tuple[pulumi.Resource, ...] = ()

    def s3(self, row: Consumer) -> S3Endpoint:
        """The consumer's own object-store endpoint."""
        return self.object_store[row.identity]

    def db(self, row: Consumer) -> DatabaseEndpoint:
        """The consumer's own database endpoint."""
        assert row.database is not None, f"{row.component} has no database in the table"
        return self.database[row.database]

    def calls(self, row: Consumer) -> tuple[ServiceRef, ...]:
        """The deployed services the consumer calls, for its egress policy."""
        return tuple(
            ServiceRef(
                name=other.component.replace("_", "-"),
                namespace=other.namespace,
                ports=(other.port, *other.other_ports),
            )
            for other in self.enabled
            if other.component in row.calls and other.port is not None
        )

    def callers(self, row: Consumer) -> tuple[str, ...]:
        """The namespaces allowed to call the consumer: its callers, and the gateway's."""
        namespaces = callers(row.component, self.enabled)
        if row.exposed and self.gateway is not None:
            namespaces += (self.gateway.namespace,)
        return namespaces


def build_platform(
    config: PlatformConfig, secrets: PlatformSecrets | None = None
) -> dict[str, Any]:
    """Create every enabled component and export the platform's outputs.

    Args:
        config: The resolved platform config.
        secrets: Secrets for external services (`PlatformSecrets.from_pulumi_config`).

    Returns:
        The exported outputs, by name.

    Raises:
        ConfigError: When an external service is configured without its secret, or a chart
            of the chart mirror is missing or not the pinned one.
    """
    charts = ChartSource.of(config)
    charts.check(charts_for(config))  # a bad mirror fails before anything is registered
    secrets = secrets or PlatformSecrets()
    k8s = pulumi.ResourceOptions(providers=[_provider(config)])
    enabled = enabled_consumers(config.has)
    # The gateway's chart brings the Gateway API CRDs, which cert-manager needs before it
    # starts; cert-manager then issues the gateway's certificates (see mlplat_platform.gateway).
    gateway = _gateway(config, secrets, charts, enabled, k8s)
    cert_manager = (
        CertManager(
            "cert-manager",
            CertManagerArgs(
                replicas=config.sizing.replicas,
                acme=config.cluster_issuer is not None,
                gateway_api=gateway.chart if gateway is not None else None,
                charts=charts,
            ),
            opts=k8s,
        )
        if config.components.cert_manager
        else None
    )
    exports: dict[str, Any] = {"profile": config.profile}
    if gateway is not None and cert_manager is not None and config.domain is not None:
        GatewayCertificates(
            "gateway",
            GatewayCertificatesArgs(
                domain=config.domain,
                cert_manager=cert_manager.chart,
                cluster_issuer=config.cluster_issuer,
                namespace=gateway.namespace,
                moved_from=gateway,
            ),
            opts=k8s,
        )
    if gateway is not None:
        exports["auth_username"] = gateway.username
        if gateway.password is not None:
            exports["auth_password"] = pulumi.Output.secret(gateway.password)
    s3, s3_after = _object_store(config, secrets, enabled, k8s)
    db, db_after = _database(config, secrets, charts, enabled, k8s)
    wiring = Wiring(
        config=config,
        opts=k8s,
        charts=charts,
        enabled=enabled,
        gateway=gateway.ref if gateway is not None else None,
        cert_manager=cert_manager,
        object_store=s3,
        database=db,
        after_object_store=s3_after,
        after_database=db_after,
    )
    for row in enabled:
        exports.update(_BUILDERS[row.component](row, wiring))
    if wiring.gateway is None:
        exports["exposure"] = (
            "nothing is exposed (no domain configured); "
            "use the *_port_forward commands to reach the UIs"
        )
    for key, value in exports.items():
        pulumi.export(key, value)
    return exports


def _registry(row: Consumer, w: Wiring) -> dict[str, Any]:
    size = w.config.sizing
    registry = Registry(
        "registry",
        RegistryArgs(
            database=w.db(row),
            object_store=w.s3(row),
            replicas=size.replicas,
            cpu=size.mlflow_cpu,
            memory=size.mlflow_memory,
            disruption_budget=size.disruption_budgets,
            gateway=w.gateway,
            after=w.after_object_store + w.after_database,
            clients=w.callers(row),
            namespace=row.namespace,
        ),
        opts=w.opts,
    )
    return {
        "mlflow_internal_url": registry.internal_url,
        "mlflow_url": registry.url,
        "mlflow_port_forward": registry.port_forward,
    }


def _pipelines(row: Consumer, w: Wiring) -> dict[str, Any]:
    pipelines = Pipelines(
        "pipelines",
        PipelinesArgs(
            object_store=w.s3(row),
            replicas=w.config.sizing.replicas,
            calls=w.calls(row),
            gateway=w.gateway,
            after=w.after_object_store,
            namespace=row.namespace,
            charts=w.charts,
        ),
        opts=w.opts,
    )
    return {
        "argo_namespace": pipelines.namespace,
        "argo_url": pipelines.url,
        "argo_port_forward": pipelines.port_forward,
        "argo_token_command": pipelines.token_command,
    }


def _serving(row: Consumer, w: Wiring) -> dict[str, Any]:
    if w.cert_manager is None:  # load_config refuses this; a hand-built config may not
        raise ConfigError("components.serving", "needs components.cert_manager")
    s3 = w.s3(row)
    serving = Serving(
        "serving",
        ServingArgs(
            object_store=s3,
            cert_manager=w.cert_manager.chart,
            calls=w.calls(row),
            gateway=w.gateway,
            models_namespace=row.namespace,
            charts=w.charts,
        ),
        opts=w.opts,
    )
    return {
        "models_namespace": serving.models_namespace,
        "models_service_account": serving.service_account,
        "models_url_template": serving.url_template,
        # Where model servers ship prediction records (`ModelDeployment`'s `RecordsStore`).
        "models_s3_endpoint": s3.url,
        "models_s3_bucket": s3.bucket,
        "models_s3_region": s3.region,
        "models_s3_secret": serving.credentials_secret,
    }


def _feature_store(row: Consumer, w: Wiring) -> dict[str, Any]:
    size = w.config.sizing
    store = FeatureStore(
        "feature-store",
        FeatureStoreArgs(
            database=w.db(row),
            object_store=w.s3(row),
            replicas=size.replicas,
            cpu=size.feature_server_cpu,
            memory=size.feature_server_memory,
            disruption_budget=size.disruption_budgets,
            clients=w.callers(row),
            after=w.after_object_store + w.after_database,
            namespace=row.namespace,
        ),
        opts=w.opts,
    )
    return {
        "feature_server_internal_url": store.internal_url,
        "feature_registry_address": store.registry_address,
        "feature_store_project": store.project,
    }


#: How each consumer of the table is built; a new row needs its builder here.
_BUILDERS: dict[str, Callable[[Consumer, Wiring], dict[str, Any]]] = {
    "registry": _registry,
    "pipelines": _pipelines,
    "serving": _serving,
    "feature_store": _feature_store,
}


def _gateway(
    config: PlatformConfig,
    secrets: PlatformSecrets,
    charts: ChartSource,
    enabled: tuple[Consumer, ...],
    k8s: pulumi.ResourceOptions,
) -> Gateway | None:
    """The gateway, when there is a domain to serve; it forwards only to exposed consumers.

    Its certificates need cert-manager: without it (refused by `load_config`) there is none.
    """
    if not config.exposed or config.domain is None or not config.components.cert_manager:
        return None
    size = config.sizing
    backends = tuple(
        Backend(namespace=c.namespace, port=c.port)
        for c in enabled
        if c.exposed and c.port is not None
    )
    oidc_secret = secrets.require("oidc_client_secret", "oidc") if config.oidc else None
    return Gateway(
        "gateway",
        GatewayArgs(
            domain=config.domain,
            backends=backends,
            username=config.auth_username,
            oidc=config.oidc,
            oidc_client_secret=oidc_secret,
            cluster_issuer=config.cluster_issuer,
            service_type=config.gateway_service_type,
            replicas=size.replicas,
            disruption_budget=size.disruption_budgets,
            charts=charts,
        ),
        opts=k8s,
    )


def _provider(config: PlatformConfig) -> pulumi.ProviderResource:
    """The Kubernetes provider every component uses.

    ``upsert_existing_objects``: pulumi-kubernetes refuses to create an object that already
    exists (since 4.29). The platform must adopt what ``mlplat down`` deliberately kept (the
    data namespaces, volumes and database, retained on delete), so a later ``mlplat up``
    updates them in place instead of failing. Renames use aliases, which is what the
    provider's default guards against.
    """
    import pulumi_kubernetes as kubernetes

    provider: pulumi.ProviderResource = kubernetes.Provider(
        "kubernetes",
        context=config.kube_context,
        enable_server_side_apply=True,
        upsert_existing_objects=True,
        suppress_helm_hook_warnings=True,
    )
    return provider


def _object_store(
    config: PlatformConfig,
    secrets: PlatformSecrets,
    enabled: tuple[Consumer, ...],
    k8s: pulumi.ResourceOptions,
) -> tuple[dict[str, S3Endpoint], tuple[pulumi.Resource, ...]]:
    """Each consumer's object-store endpoint (by identity), and what must exist first."""
    users = tuple(c for c in enabled if c.object_store)
    if not users:
        return {}, ()
    external = config.object_store_external
    if external is not None:
        host = external.endpoint.split("://", 1)[1].rstrip("/")
        shared = S3Endpoint(
            url=external.endpoint.rstrip("/"),
            host=host,
            bucket=external.bucket,
            region=external.region,
            insecure=external.endpoint.startswith("http://"),
            access_key_id=secrets.require("s3_access_key_id", "object_store.external"),
            secret_access_key=secrets.require("s3_secret_access_key", "object_store.external"),
        )
        # One key pair from config for every consumer: scope it in the provider's IAM.
        return {c.identity: shared for c in users}, ()
    if not config.components.object_store:
        return {}, ()
    store = ObjectStore(
        "object-store",
        ObjectStoreArgs(
            size=config.sizing.object_store_size,
            cpu=config.sizing.object_store_cpu,
            memory=config.sizing.object_store_memory,
            storage_class=config.storage_class,
            identities=tuple(
                S3Identity(name=c.identity, namespace=c.namespace, actions=c.object_store)
                for c in users
            ),
        ),
        opts=k8s,
    )
    return dict(store.clients), (store.bucket_job,)


def _database(
    config: PlatformConfig,
    secrets: PlatformSecrets,
    charts: ChartSource,
    enabled: tuple[Consumer, ...],
    k8s: pulumi.ResourceOptions,
) -> tuple[dict[str, DatabaseEndpoint], tuple[pulumi.Resource, ...]]:
    """Each consumer's database endpoint (by name), and what must exist before it is used."""
    users = tuple(c for c in enabled if c.database is not None)
    if not users:
        return {}, ()
    external = config.database_external
    if external is not None:
        shared = DatabaseEndpoint(
            host=external.host,
            port=external.port,
            name=external.name,
            user=external.user,
            password=secrets.require("db_password", "database.external"),
            sslmode=external.sslmode,
            namespace=None,
        )
        # One external database and role for every consumer (their tables do not collide).
        return {c.database: shared for c in users if c.database is not None}, ()
    if not config.components.database:
        return {}, ()
    size = config.sizing
    database = Database(
        "database",
        DatabaseArgs(
            instances=size.database_instances,
            size=size.database_size,
            cpu=size.database_cpu,
            memory=size.database_memory,
            storage_class=config.storage_class,
            users=tuple(
                DatabaseUser(name=c.database, namespace=c.namespace)
                for c in users
                if c.database is not None
            ),
            namespace=NAMESPACES.database,
            charts=charts,
        ),
        opts=k8s,
    )
    return dict(database.endpoints), database.ready
