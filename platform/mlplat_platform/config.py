"""The typed platform configuration: which components run, how big, and where they point.

A config is resolved as profile defaults (``dev`` fits a laptop kind cluster, ``prod`` adds
replicas and disruption budgets) overlaid with a YAML mapping. Every key is checked: an
unknown key, a wrong type or an impossible combination raises `ConfigError` naming the key,
so a typo never silently falls back to a default.

One key has an environment override: ``MLPLAT_CHART_MIRROR`` (`CHART_MIRROR_ENV`) sets
``chart_mirror`` over the file, so CI and air-gapped machines point every entry point at their
archives without editing a config (flag > environment > file > default).

Example:
    >>> cfg = load_config({"domain": "ml.example.com"}, profile="dev")
    >>> cfg.exposed
    True
"""

from __future__ import annotations

import dataclasses
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlplat_platform.consumers import enabled_consumers

__all__ = [
    "CHART_MIRROR_ENV",
    "PROFILES",
    "SECRET_NAMES",
    "Components",
    "ConfigError",
    "ExternalDatabase",
    "ExternalS3",
    "Oidc",
    "PlatformConfig",
    "Profile",
    "Sizing",
    "load_config",
    "load_config_file",
    "secret_env_name",
]

Profile = Literal["dev", "prod"]
PROFILES: tuple[Profile, ...] = ("dev", "prod")

_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$"
)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti)?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


#: The environment variable that overrides the file's ``chart_mirror``.
CHART_MIRROR_ENV = "MLPLAT_CHART_MIRROR"

# The Pulumi config secrets (``mlplat:<name>``) the platform reads for external services, listed
# once: `PlatformSecrets`, the render's stand-ins and ``mlplat up``'s config all derive from it.
# ``mlplat up`` takes each from the environment variable `secret_env_name` gives and stores it
# encrypted in the stack's config; with the Pulumi CLI it is ``pulumi config set --secret``.
SECRET_NAMES: tuple[str, ...] = (
    "s3_access_key_id",
    "s3_secret_access_key",
    "db_password",
    "oidc_client_secret",
)


def secret_env_name(name: str) -> str:
    """The environment variable ``mlplat up`` reads the secret ``mlplat:<name>`` from."""
    return f"MLPLAT_{name.upper()}"


class ConfigError(ValueError):
    """An invalid platform configuration.

    Args:
        key: The dotted key at fault (``database.external.port``), or ``<file>`` when the file
            itself cannot be read or parsed.
        problem: What is wrong with it and what would be accepted.
        source: The config file it came from, when there is one.
    """

    def __init__(self, key: str, problem: str, *, source: Path | None = None) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem
        self.source = source


@dataclass(frozen=True, kw_only=True)
class Components:
    """Which concerns the platform deploys. Disabling one also drops what depends on it.

    The profile sets the defaults a config's ``components`` overrides: ``feature_store`` (a
    Feast feature server) is off in ``dev`` and on in ``prod``.
    """

    gateway: bool = True
    cert_manager: bool = True
    object_store: bool = True
    database: bool = True
    registry: bool = True
    pipelines: bool = True
    serving: bool = True
    feature_store: bool = False


@dataclass(frozen=True, kw_only=True)
class Sizing:
    """Replicas, volumes and requests. Profiles fill every field; a config may override any."""

    replicas: int
    database_instances: int
    database_size: str
    object_store_size: str
    mlflow_cpu: str
    mlflow_memory: str
    database_cpu: str
    database_memory: str
    object_store_cpu: str
    object_store_memory: str
    feature_server_cpu: str
    feature_server_memory: str
    disruption_budgets: bool


@dataclass(frozen=True, kw_only=True)
class ExternalS3:
    """An S3 bucket the platform uses instead of deploying SeaweedFS.

    Credentials are not part of the file: ``mlplat up`` reads them from
    ``MLPLAT_S3_ACCESS_KEY_ID`` and ``MLPLAT_S3_SECRET_ACCESS_KEY`` (the stack secrets
    ``mlplat:s3_access_key_id`` and ``mlplat:s3_secret_access_key``).
    """

    endpoint: str
    bucket: str
    region: str = "us-east-1"


@dataclass(frozen=True, kw_only=True)
class ExternalDatabase:
    """A PostgreSQL database used instead of a CloudNativePG cluster.

    The password comes from ``MLPLAT_DB_PASSWORD`` (the stack secret ``mlplat:db_password``).
    """

    host: str
    port: int = 5432
    name: str = "mlflow"
    user: str = "mlflow"
    sslmode: str = "require"


@dataclass(frozen=True, kw_only=True)
class Oidc:
    """OpenID Connect in front of the UIs instead of basic auth.

    The client secret comes from ``MLPLAT_OIDC_CLIENT_SECRET`` (the stack secret
    ``mlplat:oidc_client_secret``).
    """

    issuer: str
    client_id: str


_GATEWAY_SERVICE_TYPES = ("LoadBalancer", "NodePort", "ClusterIP")


@dataclass(frozen=True, kw_only=True)
class PlatformConfig:
    """The resolved platform configuration every component reads.

    Attributes:
        profile: ``dev`` or ``prod``; chooses the `Sizing` defaults.
        domain: Base domain for the UIs and inference routes; ``None`` exposes nothing.
        storage_class: StorageClass for volumes; ``None`` uses the cluster default.
        cluster_issuer: cert-manager ClusterIssuer for the gateway certificate; ``None``
            creates a self-signed one.
        gateway_service_type: Service type of the Envoy proxy.
        auth_username: User name for basic auth at the gateway.
        kube_context: kubeconfig context to deploy to; ``None`` uses the current one.
        chart_mirror: A directory of chart archives (``<chart>-<version>.tgz``, as ``helm
            package`` names them) to install every chart from instead of its registry or
            repository, for clusters without internet. Each archive must be the pinned
            chart at the pinned version (its Chart.yaml is checked). A relative path is
            relative to the config file; ``MLPLAT_CHART_MIRROR`` overrides it; ``None``
            pulls from upstream.
    """

    profile: Profile = "dev"
    domain: str | None = None
    storage_class: str | None = None
    cluster_issuer: str | None = None
    gateway_service_type: str = "LoadBalancer"
    auth_username: str = "mlplat"
    kube_context: str | None = None
    chart_mirror: str | None = None
    components: Components = field(default_factory=Components)
    sizing: Sizing
    object_store_external: ExternalS3 | None = None
    database_external: ExternalDatabase | None = None
    oidc: Oidc | None = None

    @property
    def exposed(self) -> bool:
        """Whether anything is reachable from outside the cluster (needs a domain)."""
        return self.domain is not None and self.components.gateway

    def has(self, component: str) -> bool:
        """Whether ``component`` (a `Components` field) is deployed."""
        return bool(getattr(self.components, component))


_PROFILE_SIZING: dict[Profile, Sizing] = {
    "dev": Sizing(
        replicas=1,
        database_instances=1,
        database_size="2Gi",
        object_store_size="5Gi",
        mlflow_cpu="100m",
        mlflow_memory="512Mi",
        database_cpu="100m",
        database_memory="256Mi",
        object_store_cpu="100m",
        object_store_memory="256Mi",
        feature_server_cpu="100m",
        feature_server_memory="384Mi",
        disruption_budgets=False,
    ),
    "prod": Sizing(
        replicas=2,
        database_instances=3,
        database_size="20Gi",
        object_store_size="100Gi",
        mlflow_cpu="500m",
        mlflow_memory="1Gi",
        database_cpu="500m",
        database_memory="1Gi",
        object_store_cpu="500m",
        object_store_memory="1Gi",
        feature_server_cpu="500m",
        feature_server_memory="1Gi",
        disruption_budgets=True,
    ),
}

_PROFILE_COMPONENTS: dict[Profile, Components] = {
    "dev": Components(),
    "prod": Components(feature_store=True),
}

# Top-level file keys that map onto nested dataclasses with a different attribute name.
_SECTIONS = {"object_store": "object_store_external", "database": "database_external"}


def load_config(
    data: Mapping[str, Any] | None,
    *,
    profile: Profile | None = None,
    base_dir: Path | None = None,
) -> PlatformConfig:
    """Resolve a platform config from a parsed YAML mapping.

    Args:
        data: The file's content (``None`` or ``{}`` for all defaults). Sections
            ``object_store`` and ``database`` take an ``external`` mapping.
        profile: Overrides the file's ``profile`` key (the CLI flag wins over the file).
        base_dir: What a relative ``chart_mirror`` is relative to (the config file's
            directory); ``None`` for the working directory.

    Returns:
        The frozen, validated config.

    Raises:
        ConfigError: On any unknown key, wrong type or inconsistent combination.
    """
    if data is not None and not isinstance(data, Mapping):
        raise ConfigError("<root>", f"expected a mapping, got {type(data).__name__}")
    raw = dict(data or {})
    chosen = profile or raw.pop("profile", "dev")
    raw.pop("profile", None)
    if chosen not in PROFILES:
        raise ConfigError("profile", f"must be one of {', '.join(PROFILES)}, got {chosen!r}")
    kwargs: dict[str, Any] = {"profile": chosen}
    for key, value in raw.items():
        if key in _SECTIONS:
            kwargs[_SECTIONS[key]] = _external_section(key, value)
        elif key == "components":
            base = dataclasses.asdict(_PROFILE_COMPONENTS[chosen])
            base.update(_mapping(value, key))
            kwargs["components"] = _build(Components, base, key)
        elif key == "sizing":
            base = dataclasses.asdict(_PROFILE_SIZING[chosen])
            base.update(_mapping(value, key))
            kwargs["sizing"] = _build(Sizing, base, key)
        elif key == "oidc":
            kwargs["oidc"] = _build(Oidc, value, key)
        elif key in _SCALARS:
            kwargs[key] = _convert(value, _SCALARS[key], key)
        else:
            raise ConfigError(key, f"unknown key; known keys: {', '.join(sorted(_KNOWN))}")
    kwargs.setdefault("sizing", _PROFILE_SIZING[chosen])
    kwargs.setdefault("components", _PROFILE_COMPONENTS[chosen])
    if kwargs.get("chart_mirror") is not None:
        mirror = Path(kwargs["chart_mirror"]).expanduser()
        kwargs["chart_mirror"] = str(((base_dir or Path.cwd()) / mirror).resolve())
    cfg = PlatformConfig(**kwargs)
    _validate(cfg)
    return cfg


def load_config_file(
    path: Path | None,
    *,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> PlatformConfig:
    """Read and resolve a platform config file: the one loader of every entry point.

    ``mlplat render``, ``mlplat up`` and ``platform/__main__.py`` (``pulumi up``) all call this,
    so a file means the same thing to each of them, and ``MLPLAT_CHART_MIRROR`` reaches all
    three.

    Args:
        path: A YAML file; ``None`` for the profile's defaults.
        profile: Overrides the file's ``profile`` key (a flag wins over the file).
        environ: The environment to read `CHART_MIRROR_ENV` from; ``None`` for ``os.environ``.

    Returns:
        The frozen, validated config.

    Raises:
        ConfigError: The file cannot be read, is not YAML, or has a bad key; ``source`` is set
            to ``path``.
    """
    data: Any = None
    if path is not None:
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError("<file>", f"cannot be read: {exc.strerror}", source=path) from exc
        except UnicodeDecodeError as exc:
            raise ConfigError("<file>", "is not UTF-8 text", source=path) from exc
        except yaml.YAMLError as exc:
            raise ConfigError("<file>", f"is not valid YAML: {exc}", source=path) from exc
    env = os.environ if environ is None else environ
    mirror = env.get(CHART_MIRROR_ENV)
    if mirror and (data is None or isinstance(data, Mapping)):
        # Relative to where the variable was set (the working directory), not to the file.
        data = {**(data or {}), "chart_mirror": str(Path(mirror).expanduser().resolve())}
    base_dir = path.parent.resolve() if path is not None else None
    try:
        return load_config(data, profile=profile, base_dir=base_dir)  # type: ignore[arg-type]
    except ConfigError as exc:
        problem = exc.problem
        if mirror and exc.key == "chart_mirror":
            problem += f" (set by {CHART_MIRROR_ENV})"
        raise ConfigError(exc.key, problem, source=path) from None


_SCALARS: dict[str, Any] = {
    "domain": str | None,
    "storage_class": str | None,
    "cluster_issuer": str | None,
    "gateway_service_type": str,
    "auth_username": str,
    "kube_context": str | None,
    "chart_mirror": str | None,
}
_KNOWN = {*_SCALARS, *_SECTIONS, "components", "sizing", "oidc", "profile"}


def _external_section(key: str, value: Any) -> Any:
    section = _mapping(value, key)
    unknown = set(section) - {"external"}
    if unknown:
        raise ConfigError(f"{key}.{sorted(unknown)[0]}", "unknown key; only 'external' is accepted")
    external = section.get("external")
    if external is None:
        return None
    cls = ExternalS3 if key == "object_store" else ExternalDatabase
    return _build(cls, external, f"{key}.external")


def _mapping(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"expected a mapping, got {type(value).__name__}")
    return dict(value)


def _build(cls: type[Any], value: Any, key: str) -> Any:
    """Build a config dataclass from a mapping, naming the first bad key."""
    data = _mapping(value, key)
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for name, item in data.items():
        if name not in names:
            raise ConfigError(
                f"{key}.{name}", f"unknown key; known keys: {', '.join(sorted(names))}"
            )
        kwargs[name] = _convert(item, hints[name], f"{key}.{name}")
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"{key}.{missing[0]}", "is required")
    return cls(**kwargs)


def _convert(value: Any, hint: Any, key: str) -> Any:
    """Check ``value`` against a simple type hint (bool, int, str, or ``X | None``)."""
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) and type(None) in args:
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
    if hint is bool and isinstance(value, bool):
        return value
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is str and isinstance(value, str) and value:
        return value
    expected = {bool: "true or false", int: "an integer", str: "a non-empty string"}[hint]
    raise ConfigError(key, f"expected {expected}, got {value!r}")


def _validate(cfg: PlatformConfig) -> None:
    """Cross-field rules: formats, and components whose dependencies are missing."""
    if cfg.domain is not None and not _DNS_NAME.match(cfg.domain):
        raise ConfigError(
            "domain", f"{cfg.domain!r} is not a lower-case DNS name such as ml.example.com"
        )
    for key in ("storage_class", "cluster_issuer"):
        value = getattr(cfg, key)
        if value is not None and not _DNS_NAME.match(value):
            raise ConfigError(key, f"{value!r} is not a valid Kubernetes object name")
    if cfg.gateway_service_type not in _GATEWAY_SERVICE_TYPES:
        raise ConfigError(
            "gateway_service_type", f"must be one of {', '.join(_GATEWAY_SERVICE_TYPES)}"
        )
    if cfg.chart_mirror is not None and not Path(cfg.chart_mirror).is_dir():
        raise ConfigError(
            "chart_mirror", f"{cfg.chart_mirror} is not a directory of chart archives"
        )
    if not _DNS_LABEL.match(cfg.auth_username):
        raise ConfigError("auth_username", "use lower-case letters, digits and '-'")
    sizing = cfg.sizing
    for name in ("replicas", "database_instances"):
        if getattr(sizing, name) < 1:
            raise ConfigError(f"sizing.{name}", "must be at least 1")
    for f in dataclasses.fields(Sizing):
        value = getattr(sizing, f.name)
        if isinstance(value, str) and not _QUANTITY.match(value):
            raise ConfigError(
                f"sizing.{f.name}", f"{value!r} is not a Kubernetes quantity (e.g. 512Mi, 100m)"
            )
    if cfg.oidc is not None and not cfg.oidc.issuer.startswith("https://"):
        raise ConfigError("oidc.issuer", "must be an https:// URL")
    s3 = cfg.object_store_external
    if s3 is not None and not s3.endpoint.startswith(("https://", "http://")):
        raise ConfigError("object_store.external.endpoint", "must be an http(s):// URL")
    db = cfg.database_external
    if db is not None and not 0 < db.port < 65536:
        raise ConfigError("database.external.port", "must be between 1 and 65535")
    _validate_dependencies(cfg)


def _validate_dependencies(cfg: PlatformConfig) -> None:
    """Every deployed consumer gets the shared services the consumer table says it needs."""
    c = cfg.components
    has_s3 = c.object_store or cfg.object_store_external is not None
    has_db = c.database or cfg.database_external is not None
    for row in enabled_consumers(cfg.has):
        if row.database is not None and not has_db:
            raise ConfigError(
                f"components.{row.component}", "needs components.database or database.external"
            )
        if row.object_store and not has_s3:
            raise ConfigError(
                f"components.{row.component}",
                "needs components.object_store or object_store.external",
            )
    if c.serving and not c.cert_manager:
        raise ConfigError(
            "components.serving", "needs components.cert_manager (KServe webhooks use it)"
        )
    if c.gateway and cfg.domain is not None and not c.cert_manager:
        raise ConfigError(
            "components.gateway", "needs components.cert_manager for its certificates"
        )
    if cfg.oidc is not None and cfg.domain is None:
        raise ConfigError("oidc", "needs a domain: OIDC redirects to https://<app>.<domain>")
