"""Where each pinned chart comes from: its upstream registry, or a directory of chart archives.

A cluster without internet cannot pull ``oci://`` charts or read chart repositories. With
``chart_mirror`` set in the platform config, every chart is installed from a local archive
named the way ``helm package`` names it (``<chart name>-<version>.tgz``), and the archive is
checked first: its ``Chart.yaml`` must carry the pinned chart's name and version, so a stale,
renamed or foreign archive is a config error naming the file, never a silent drift from the
versions every value in the components was checked against.

``helm.v4.Chart`` takes an archive's path as ``chart`` (Helm's ``LocateChart`` returns a
local path as it is and ignores ``version`` for it: helm/helm@v3.20.2 pkg/action/install.go,
the Helm pulumi-kubernetes v4.32 builds with); the version is still passed, so the render's
``charts.yaml`` and the Pulumi state name the pin.

Example:
    >>> ChartSource().reference(versions.CERT_MANAGER)["chart"]
    'oci://quay.io/jetstack/charts/cert-manager'
"""

from __future__ import annotations

import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes.helm.v4 as helm

from mlplat_platform import versions
from mlplat_platform.config import ConfigError, PlatformConfig
from mlplat_platform.consumers import enabled_consumers

__all__ = ["ChartSource", "check_archive", "charts_for", "read_chart_metadata"]

#: The config key every mirror error names.
_KEY = "chart_mirror"
#: A Chart.yaml is a few kilobytes; refuse to read a member claiming more.
_MAX_CHART_YAML = 1024 * 1024


def read_chart_metadata(path: Path) -> dict[str, Any]:
    """The top-level ``Chart.yaml`` of a chart archive, parsed.

    Only that one member is read (nothing is extracted), so a hostile archive cannot write
    anywhere. Subcharts' ``Chart.yaml`` files (``<chart>/charts/<sub>/Chart.yaml``) are not
    the chart's own and are skipped.

    Raises:
        ConfigError: The file is missing, unreadable, not a gzipped tar, or has no readable
            top-level ``Chart.yaml``; the message names the file.
    """
    import yaml

    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                parts = member.name.removeprefix("./").split("/")
                if len(parts) != 2 or parts[1] != "Chart.yaml" or not member.isfile():
                    continue
                if member.size > _MAX_CHART_YAML:
                    break
                stream = archive.extractfile(member)
                if stream is None:
                    break
                data = yaml.safe_load(stream.read())
                if isinstance(data, dict):
                    return data
                break
    except FileNotFoundError:
        raise ConfigError(_KEY, f"{path} does not exist") from None
    except (tarfile.TarError, OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise ConfigError(_KEY, f"{path} is not a chart archive (.tgz): {exc}") from None
    except yaml.YAMLError:
        raise ConfigError(_KEY, f"{path} has a Chart.yaml that is not valid YAML") from None
    raise ConfigError(_KEY, f"{path} has no <chart>/Chart.yaml: not a `helm package` archive")


def check_archive(path: Path, pin: versions.ChartPin) -> None:
    """Refuse an archive that is not the pinned chart at the pinned version.

    Raises:
        ConfigError: The archive is missing or unreadable, or its ``Chart.yaml`` names another
            chart or version; the message names the file and the archive expected.
    """
    expected = f"{pin.chart_name} {pin.version}"
    if not path.is_file():
        raise ConfigError(
            _KEY,
            f"{path} is missing: the mirror needs {pin.archive} (chart {expected}, "
            f"`helm pull {pin.chart}{_version_flag(pin)}` or `helm package` at that tag)",
        )
    meta = read_chart_metadata(path)
    found = f"{meta.get('name')} {meta.get('version')}"
    if found != expected:
        raise ConfigError(
            _KEY,
            f"{path} holds chart {found}, but the platform pins {expected}: the mirror "
            f"needs {pin.archive}",
        )


def charts_for(config: PlatformConfig) -> tuple[versions.ChartPin, ...]:
    """The pinned charts ``build_platform`` installs for ``config``, in install order.

    A mirror needs exactly these archives; the program checks them all before it registers
    anything, so a bad mirror fails before a resource is created (tests compare this with
    the charts a program run registers).
    """
    c = config.components
    databases = any(row.database for row in enabled_consumers(config.has))
    pins: list[versions.ChartPin] = []
    if config.exposed and c.cert_manager:
        pins.append(versions.ENVOY_GATEWAY)
    if c.cert_manager:
        pins.append(versions.CERT_MANAGER)
    if c.database and config.database_external is None and databases:
        pins.append(versions.CLOUDNATIVE_PG)
    if c.pipelines:
        pins.append(versions.ARGO_WORKFLOWS)
    if c.serving:
        pins += [versions.KSERVE_CRD, versions.KSERVE_RESOURCES, versions.KSERVE_RUNTIME_CONFIGS]
    return tuple(pins)


def _version_flag(pin: versions.ChartPin) -> str:
    repo = f" --repo {pin.repo}" if pin.repo else ""
    return f"{repo} --version {pin.version}"


@dataclass(frozen=True, kw_only=True)
class ChartSource:
    """Installs pinned charts from upstream, or from the archives in ``mirror``.

    Attributes:
        mirror: A directory of chart archives; ``None`` uses each pin's registry or repository.
    """

    mirror: Path | None = None

    @classmethod
    def of(cls, config: PlatformConfig) -> ChartSource:
        """The source a resolved config asks for (its ``chart_mirror``)."""
        return cls(mirror=Path(config.chart_mirror) if config.chart_mirror else None)

    def check(self, pins: tuple[versions.ChartPin, ...]) -> None:
        """With a mirror, check every archive of ``pins`` (`check_archive`); else nothing.

        Raises:
            ConfigError: On the first missing or wrong archive.
        """
        if self.mirror is not None:
            for pin in pins:
                check_archive(self.mirror / pin.archive, pin)

    def reference(self, pin: versions.ChartPin) -> dict[str, Any]:
        """``chart``, ``version`` and, for a chart repository, ``repository_opts``.

        Raises:
            ConfigError: With a mirror, when its archive for ``pin`` is missing or wrong.
        """
        if self.mirror is None:
            ref: dict[str, Any] = {"chart": pin.chart, "version": pin.version}
            if pin.repo is not None:
                ref["repository_opts"] = {"repo": pin.repo}
            return ref
        path = self.mirror / pin.archive
        check_archive(path, pin)
        return {"chart": str(path), "version": pin.version}

    def chart(
        self,
        resource_name: str,
        pin: versions.ChartPin,
        *,
        namespace: str,
        values: dict[str, Any],
        opts: pulumi.ResourceOptions,
    ) -> helm.Chart:
        """A ``helm.v4.Chart`` of ``pin`` released as ``pin.name`` in ``namespace``."""
        return helm.Chart(
            resource_name,
            name=pin.name,
            namespace=namespace,
            values=values,
            opts=opts,
            **self.reference(pin),
        )
