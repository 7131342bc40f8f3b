"""The platform program: config in, components wired together, outputs exported.

`build_platform` is the one entry point shared by ``platform/__main__.py`` (the Pulumi CLI),
``mlplat up`` (the Automation API's inline program) and ``mlplat render`` (the mock runtime),
so all three deploy exactly the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from mlplat_platform.certmanager import CertManager, CertManagerArgs
from mlplat_platform.config import SECRET_NAMES, ConfigError, PlatformConfig
from mlplat_platform.database import Database, DatabaseArgs
from mlplat_platform.endpoints import DatabaseEndpoint, S3Clients, S3Endpoint
from mlplat_platform.gateway import Backend, Gateway, GatewayArgs
from mlplat_platform.k8s import NAMESPACES
from mlplat_platform.objectstore import ObjectStore, ObjectStoreArgs
from mlplat_platform.pipelines import SERVER_PORT, Pipelines, PipelinesArgs
from mlplat_platform.registry import MLFLOW_PORT, Registry, RegistryArgs
from mlplat_platform.serving import MODEL_PORT, Serving, ServingArgs

__all__ = ["PlatformSecrets", "build_platform"]


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
                f"needs the secret mlplat:{name}; set it with "
                f"`pulumi config set --secret mlplat:{name} ...`",
            )
        return pulumi.Output.secret(value)


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
        ConfigError: When an external service is configured without its secret.
    """
    secrets = secrets or PlatformSecrets()
    k8s = pulumi.ResourceOptions(providers=[_provider(config)])
    c, size = config.components, config.sizing
    ns = NAMESPACES
    cert_manager = (
        CertManager("cert-manager", CertManagerArgs(replicas=size.replicas), opts=k8s)
        if c.cert_manager
        else None
    )
    exports: dict[str, Any] = {"profile": config.profile}
    gateway = _gateway(config, secrets, cert_manager, k8s) if cert_manager else None
    gateway_ref = gateway.ref if gateway is not None else None
    if gateway is not None:
        exports["auth_username"] = gateway.username
        if gateway.password is not None:
            exports["auth_password"] = pulumi.Output.secret(gateway.password)
    s3, s3_after = _object_store(config, secrets, k8s)
    registry_ns = ns.registry if c.registry else None
    if c.registry and s3 is not None:
        database, database_after = _database(config, secrets, k8s)
        registry = Registry(
            "registry",
            RegistryArgs(
                database=database,
                object_store=s3.registry,
                replicas=size.replicas,
                cpu=size.mlflow_cpu,
                memory=size.mlflow_memory,
                disruption_budget=size.disruption_budgets,
                gateway=gateway_ref,
                after=s3_after + database_after,
                clients=tuple(
                    n
                    for on, n in (
                        (c.pipelines, ns.pipelines),
                        (c.serving, ns.models),
                        (gateway_ref is not None, ns.gateway),
                    )
                    if on
                ),
            ),
            opts=k8s,
        )
        exports.update(
            mlflow_internal_url=registry.internal_url,
            mlflow_url=registry.url,
            mlflow_port_forward=registry.port_forward,
        )
    if c.pipelines and s3 is not None:
        pipelines = Pipelines(
            "pipelines",
            PipelinesArgs(
                object_store=s3.pipelines,
                replicas=size.replicas,
                registry_namespace=registry_ns,
                gateway=gateway_ref,
                after=s3_after,
            ),
            opts=k8s,
        )
        exports.update(
            argo_namespace=pipelines.namespace,
            argo_url=pipelines.url,
            argo_port_forward=pipelines.port_forward,
            argo_token_command=pipelines.token_command,
        )
    if c.serving and s3 is not None and cert_manager is not None:
        serving = Serving(
            "serving",
            ServingArgs(
                object_store=s3.models,
                cert_manager=cert_manager.chart,
                registry_namespace=registry_ns,
                gateway=gateway_ref,
            ),
            opts=k8s,
        )
        exports.update(
            models_namespace=serving.models_namespace,
            models_service_account=serving.service_account,
            models_url_template=serving.url_template,
        )
    if gateway_ref is None:
        exports["exposure"] = (
            "nothing is exposed (no domain configured); "
            "use the *_port_forward commands to reach the UIs"
        )
    for key, value in exports.items():
        pulumi.export(key, value)
    return exports


def _gateway(
    config: PlatformConfig,
    secrets: PlatformSecrets,
    cert_manager: CertManager,
    k8s: pulumi.ResourceOptions,
) -> Gateway | None:
    """The gateway, when there is a domain to serve; it may forward only to enabled apps."""
    if not config.exposed or config.domain is None:
        return None
    c, ns, size = config.components, NAMESPACES, config.sizing
    backends = tuple(
        Backend(namespace=n, port=p)
        for enabled, n, p in (
            (c.registry, ns.registry, MLFLOW_PORT),
            (c.pipelines, ns.pipelines, SERVER_PORT),
            (c.serving, ns.models, MODEL_PORT),
        )
        if enabled
    )
    oidc_secret = secrets.require("oidc_client_secret", "oidc") if config.oidc else None
    return Gateway(
        "gateway",
        GatewayArgs(
            domain=config.domain,
            cert_manager=cert_manager.chart,
            backends=backends,
            username=config.auth_username,
            oidc=config.oidc,
            oidc_client_secret=oidc_secret,
            cluster_issuer=config.cluster_issuer,
            service_type=config.gateway_service_type,
            replicas=size.replicas,
            disruption_budget=size.disruption_budgets,
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
    k8s: pulumi.ResourceOptions,
) -> tuple[S3Clients | None, tuple[pulumi.Resource, ...]]:
    """Each consumer's view of the object store, and what must exist before they use it."""
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
        return S3Clients.shared(shared), ()
    if not config.components.object_store:
        return None, ()
    c, ns = config.components, NAMESPACES
    store = ObjectStore(
        "object-store",
        ObjectStoreArgs(
            size=config.sizing.object_store_size,
            cpu=config.sizing.object_store_cpu,
            memory=config.sizing.object_store_memory,
            storage_class=config.storage_class,
            clients=tuple(
                n
                for on, n in (
                    (c.registry, ns.registry),
                    (c.pipelines, ns.pipelines),
                    (c.serving, ns.models),
                )
                if on
            ),
        ),
        opts=k8s,
    )
    return store.clients, (store.bucket_job,)


def _database(
    config: PlatformConfig, secrets: PlatformSecrets, k8s: pulumi.ResourceOptions
) -> tuple[DatabaseEndpoint, tuple[pulumi.Resource, ...]]:
    """The database endpoint, and what must exist before a client's schema Job runs."""
    external = config.database_external
    if external is not None:
        return DatabaseEndpoint(
            host=external.host,
            port=external.port,
            name=external.name,
            user=external.user,
            password=secrets.require("db_password", "database.external"),
            sslmode=external.sslmode,
            namespace=None,
        ), ()
    size = config.sizing
    database = Database(
        "database",
        DatabaseArgs(
            instances=size.database_instances,
            size=size.database_size,
            cpu=size.database_cpu,
            memory=size.database_memory,
            storage_class=config.storage_class,
            clients=(NAMESPACES.registry,),
        ),
        opts=k8s,
    )
    return database.endpoint, (database.cluster,)
