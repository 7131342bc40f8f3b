"""Who uses what: the one table that wires the platform's shared services to their consumers.

Every application concern (the registry, pipelines, serving, the feature store) is a
`Consumer` row: its namespace, the port it serves on, the object-store actions of its own S3
identity, its own database on the platform's PostgreSQL, and the other applications it
calls. `build_platform` derives everything cross-cutting from this table: the object store's
identities and who may reach its S3 port, the database's roles and who may reach 5432, each
application's ingress from its callers and egress to what it calls, and the gateway's
backends. `load_config` checks a config against it (an application that needs a database
gets one).

Adding a component means one row here and its own module; nothing else lists consumers.

This module imports nothing from Pulumi, so the config loader can use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

__all__ = [
    "ARGO_SERVER_PORT",
    "CONSUMERS",
    "FEATURE_REGISTRY_PORT",
    "FEATURE_SERVER_PORT",
    "MLFLOW_PORT",
    "MODEL_PORT",
    "NAMESPACES",
    "READ_ONLY",
    "READ_WRITE",
    "RECORDS_WRITE",
    "Consumer",
    "Namespaces",
    "callers",
    "consumer",
    "enabled_consumers",
]

#: MLflow's tracking server (``mlflow server --port``).
MLFLOW_PORT = 5000
#: Argo Workflows' server (the chart's ``server.servicePort`` and container port).
ARGO_SERVER_PORT = 2746
#: The port project model servers listen on inside InferenceService pods.
MODEL_PORT = 8080
#: Feast's feature server and its registry server (feast/constants.py, feast 0.67.0).
FEATURE_SERVER_PORT = 6566
FEATURE_REGISTRY_PORT = 6570

#: SeaweedFS identity actions (``weed/s3api/s3_constants/s3_actions.go``), scoped to the bucket.
READ_WRITE: tuple[str, ...] = ("Read", "Write", "List", "Tagging")
READ_ONLY: tuple[str, ...] = ("Read", "List")
#: Writing under ``monitor/`` only: model servers ship their prediction records there
#: (``monitor/<name>/prediction-logs``), where the project's monitor reads them.
RECORDS_WRITE = "Write:monitor/*"


@dataclass(frozen=True, kw_only=True)
class Namespaces:
    """Where each concern lives. One namespace per concern keeps network policies readable."""

    gateway: str = "mlplat-gateway"
    cert_manager: str = "cert-manager"
    object_store: str = "mlplat-storage"
    database: str = "mlplat-database"
    cnpg: str = "cnpg-system"
    registry: str = "mlplat-registry"
    pipelines: str = "mlplat-pipelines"
    serving: str = "kserve"
    models: str = "mlplat-models"
    features: str = "mlplat-features"


NAMESPACES = Namespaces()


@dataclass(frozen=True, kw_only=True)
class Consumer:
    """An application namespace and what it needs from the platform's shared services.

    Attributes:
        component: The `Components` flag that deploys it (``registry``).
        namespace: Where its pods run.
        port: The port its pods serve on, for callers and for the gateway; ``None`` when it
            serves nothing to others.
        other_ports: Further ports its callers (not the gateway) reach.
        exposed: Whether the gateway publishes it (behind the gateway's login) when the
            platform has a domain.
        identity: The name of its own object-store identity (its keys, its ``s3.json`` entry).
        object_store: The actions that identity may take in the platform's bucket; ``()``
            means it never touches the object store.
        database: The name of its own PostgreSQL database and role; ``None`` for none.
        calls: The components whose service it calls (egress to their namespace and port).

    Example:
        >>> Consumer(component="registry", namespace="mlplat-registry", port=5000,
        ...          identity="mlflow", object_store=READ_WRITE, database="mlflow")
    """

    component: str
    namespace: str
    port: int | None = None
    other_ports: tuple[int, ...] = ()
    exposed: bool = False
    identity: str = ""
    object_store: tuple[str, ...] = ()
    database: str | None = None
    calls: tuple[str, ...] = ()


#: Every application concern, in the order the program creates them.
CONSUMERS: tuple[Consumer, ...] = (
    Consumer(
        component="registry",
        namespace=NAMESPACES.registry,
        port=MLFLOW_PORT,
        exposed=True,
        identity="mlflow",
        object_store=READ_WRITE,
        database="mlflow",
    ),
    Consumer(
        component="pipelines",
        namespace=NAMESPACES.pipelines,
        port=ARGO_SERVER_PORT,
        exposed=True,
        identity="argo",
        object_store=READ_WRITE,
        calls=("registry", "feature_store"),
    ),
    Consumer(
        component="serving",
        namespace=NAMESPACES.models,
        port=MODEL_PORT,
        exposed=True,
        identity="models",
        # InferenceServices read models and write only their prediction records.
        object_store=(*READ_ONLY, RECORDS_WRITE),
        calls=("registry", "feature_store"),
    ),
    Consumer(
        component="feature_store",
        namespace=NAMESPACES.features,
        port=FEATURE_SERVER_PORT,
        other_ports=(FEATURE_REGISTRY_PORT,),
        identity="feast",
        object_store=READ_WRITE,  # the offline store
        database="feast",  # the SQL registry and the online store
    ),
)


def enabled_consumers(
    has: Callable[[str], bool], table: Iterable[Consumer] | None = None
) -> tuple[Consumer, ...]:
    """The rows whose component is deployed (``has`` is `PlatformConfig.has`)."""
    return tuple(c for c in (CONSUMERS if table is None else table) if has(c.component))


def consumer(component: str, table: Iterable[Consumer] | None = None) -> Consumer:
    """The row of ``component``."""
    for row in CONSUMERS if table is None else table:
        if row.component == component:
            return row
    raise KeyError(component)


def callers(component: str, enabled: Iterable[Consumer]) -> tuple[str, ...]:
    """The namespaces of the deployed consumers that call ``component``."""
    return tuple(c.namespace for c in enabled if component in c.calls)
