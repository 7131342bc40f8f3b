"""The typed hand-offs between components: an S3 endpoint, a database, a service, a gateway.

Components never reach into each other; the program passes these values from producer to
consumer. Credentials stay `pulumi.Output` values marked secret all the way, and each consumer
writes its own copy into its own namespace with `S3Endpoint.credentials_secret`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

import pulumi
import pulumi_kubernetes.core.v1 as core

from mlplat_platform.k8s import child
from mlplat_platform.namespace import ANYWHERE, Flow, Peer

__all__ = ["DatabaseEndpoint", "GatewayRef", "S3Endpoint", "ServiceRef"]


@dataclass(frozen=True, kw_only=True)
class S3Endpoint:
    """An S3-compatible bucket and the credentials to use it.

    Attributes:
        url: Endpoint URL (``http://seaweedfs.mlplat-storage.svc.cluster.local:8333``).
        host: ``host:port`` of the endpoint, for clients that take no scheme (Argo).
        bucket: The platform's bucket; consumers use their own key prefix in it.
        region: Region name sent with requests.
        insecure: Whether the endpoint is plain HTTP.
        access_key_id: Secret output.
        secret_access_key: Secret output.
        namespace: Namespace of the in-cluster store, for network policies; ``None`` for an
            external endpoint (reached at any address, whatever its scheme).
    """

    url: str
    host: str
    bucket: str
    region: str
    insecure: bool
    access_key_id: pulumi.Output[str]
    secret_access_key: pulumi.Output[str]
    namespace: str | None = None

    @property
    def port(self) -> int:
        """The TCP port clients connect to: explicit in ``host``, else the scheme's default."""
        _, sep, port = self.host.rpartition(":")
        if sep and port.isdigit():
            return int(port)
        return 80 if self.insecure else 443

    def egress_flow(self) -> Flow:
        """The NetworkPolicy flow a consumer namespace needs to reach this endpoint."""
        peers = (Peer.namespace(self.namespace),) if self.namespace else ANYWHERE
        return Flow(name="object-store", direction="egress", ports=(self.port,), peers=peers)

    def credentials_secret(
        self,
        name: str,
        namespace: str,
        *,
        parent: pulumi.Resource,
        annotations: dict[str, str] | None = None,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> core.Secret:
        """Write the credentials into ``namespace`` as a Secret.

        Keys: ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` (what KServe and Argo read)
        and ``credentials``, an AWS shared-credentials file for mounting as a file, so
        boto3-based containers never see the keys in their environment.
        """
        ini = pulumi.Output.all(self.access_key_id, self.secret_access_key).apply(
            lambda keys: (
                f"[default]\naws_access_key_id = {keys[0]}\naws_secret_access_key = {keys[1]}\n"
            )
        )
        return core.Secret(
            f"{namespace}-{name}",
            metadata={"name": name, "namespace": namespace, "annotations": annotations or {}},
            type="Opaque",
            string_data={
                "AWS_ACCESS_KEY_ID": self.access_key_id,
                "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                "credentials": ini,  # secret: derived from secret outputs
            },
            opts=child(
                parent,
                depends_on=depends_on or [],
                additional_secret_outputs=["data", "stringData"],
            ),
        )


@dataclass(frozen=True, kw_only=True)
class ServiceRef:
    """An in-cluster service another namespace calls, for the caller's egress policy.

    Attributes:
        name: What the caller calls it (``registry``); also the flow's name.
        namespace: The service's namespace.
        ports: The pod ports its callers reach.
    """

    name: str
    namespace: str
    ports: tuple[int, ...]

    def egress_flow(self) -> Flow:
        """The NetworkPolicy flow a caller namespace needs to reach this service."""
        return Flow(
            name=self.name,
            direction="egress",
            ports=self.ports,
            peers=(Peer.namespace(self.namespace),),
        )


@dataclass(frozen=True, kw_only=True)
class DatabaseEndpoint:
    """A PostgreSQL database and the role its consumer logs in with.

    Attributes:
        host: Service host name.
        port: TCP port.
        name: Database name.
        user: Role name.
        password: Secret output.
        sslmode: libpq ``sslmode``.
        namespace: Namespace of the database pods, for network policies (``None`` if external).
    """

    host: str
    port: int
    name: str
    user: str
    password: pulumi.Output[str]
    sslmode: str
    namespace: str | None

    def egress_flow(self) -> Flow:
        """The NetworkPolicy flow a consumer namespace needs to reach this database."""
        peers = (Peer.namespace(self.namespace),) if self.namespace else ANYWHERE
        return Flow(name="database", direction="egress", ports=(self.port,), peers=peers)

    def url(self, password: str, driver: str = "postgresql") -> str:
        """The SQLAlchemy URL for a resolved ``password``; keep the result secret.

        User, password and database name are percent-encoded: an external database's
        password may hold ``@``, ``:``, ``/`` or ``%``, which would otherwise split the URL
        in the wrong place (SQLAlchemy decodes them again). ``driver`` is the scheme:
        SQLAlchemy reads a bare ``postgresql`` as psycopg2, ``postgresql+psycopg`` as
        psycopg 3.
        """
        user, name = quote(self.user, safe=""), quote(self.name, safe="")
        return (
            f"{driver}://{user}:{quote(password, safe='')}@{self.host}:{self.port}/{name}"
            f"?sslmode={quote(self.sslmode, safe='')}"
        )

    def uri(self, driver: str = "postgresql") -> pulumi.Output[str]:
        """The SQLAlchemy URI (`url`), as a secret output."""
        return pulumi.Output.secret(self.password.apply(lambda pw: self.url(pw, driver)))


@dataclass(frozen=True, kw_only=True)
class GatewayRef:
    """The Gateway that routes attach to, and the domain they serve under.

    Attributes:
        name: Gateway name.
        namespace: Gateway namespace.
        domain: Base domain; apps serve at ``<app>.<domain>``.
        section: Listener name that routes attach to.
        crds: What installs the Gateway API CRDs (the Envoy Gateway chart): an HTTPRoute
            is refused until they exist, and KServe's controller exits at start-up without
            them, so whatever writes or watches routes depends on these.
    """

    name: str
    namespace: str
    domain: str
    section: str = "https"
    crds: tuple[pulumi.Resource, ...] = field(default=(), compare=False)

    def parent_ref(self) -> dict[str, str]:
        """The ``parentRefs`` entry of an HTTPRoute attaching to this gateway."""
        return {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": self.name,
            "namespace": self.namespace,
            "sectionName": self.section,
        }

    def host(self, app: str) -> str:
        """The public host name of ``app``."""
        return f"{app}.{self.domain}"

    @staticmethod
    def strip_credentials() -> dict[str, object]:
        """An HTTPRoute filter dropping ``Authorization`` once the gateway has checked it.

        The gateway's shared login must never reach a backend (a compromised or logging app
        would learn everyone's password). The gateway also strips it for every route on its
        HTTPS listener, including routes KServe creates; our own routes say so explicitly.
        """
        return {
            "type": "RequestHeaderModifier",
            "requestHeaderModifier": {"remove": ["Authorization"]},
        }
