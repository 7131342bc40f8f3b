"""Turn mock registrations into Kubernetes objects and chart entries.

Under mocks, inputs come back the way the engine would see them: whole numbers as floats,
secret values wrapped in a signature envelope, auto-names absent. This module normalises all
three so that each object is what ``kubectl apply`` would accept, and never writes a secret
value (even a mocked one) to disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from mlplat.render._mock import Registration

__all__ = ["REDACTED", "ChartEntry", "normalise", "objects_and_charts"]

REDACTED = "<redacted: generated at deploy time>"
_SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_CHART_TYPES = (
    "kubernetes:helm.sh/v4:Chart",
    "kubernetes:helm.sh/v3:Chart",
    "kubernetes:helm.sh/v3:Release",
)
_GROUP_TYPES = ("kubernetes:yaml/v2:ConfigGroup", "kubernetes:yaml/v2:ConfigFile")


@dataclass(frozen=True, kw_only=True)
class ChartEntry:
    """A chart the program installs, as written to ``charts.yaml``.

    ``source`` says where it comes from: ``upstream`` (``chart`` is an ``oci://`` reference, or
    a chart name in ``repo``) or ``mirror`` (``chart`` is an archive of the config's
    ``chart_mirror``, checked against the pin before the render).
    """

    name: str
    source: str
    repo: str | None
    chart: str
    version: str
    namespace: str | None
    values: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The entry as plain data, in a stable key order."""
        return {
            "name": self.name,
            "source": self.source,
            "repo": self.repo,
            "chart": self.chart,
            "version": self.version,
            "namespace": self.namespace,
            "values": self.values,
        }


def normalise(value: Any) -> Any:
    """Whole floats to ints, secret envelopes to `REDACTED`, recursively."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG_KEY) == _SECRET_SIG:
            return _redact(value.get("value"))
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _redact(value: Any) -> Any:
    """Keep a secret's shape (so the object stays valid) but none of its content."""
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    return REDACTED


def objects_and_charts(
    registrations: list[Registration],
) -> tuple[list[dict[str, Any]], list[ChartEntry]]:
    """Split registrations into Kubernetes objects and chart entries.

    Raw ``kubernetes:*`` resources become objects (names filled from the logical name when the
    program left them to auto-naming); ConfigGroup content is parsed into objects too; charts
    become `ChartEntry` values. Providers and non-Kubernetes resources are skipped.
    """
    objects: list[dict[str, Any]] = []
    charts: list[ChartEntry] = []
    for reg in registrations:
        if reg.type in _CHART_TYPES:
            charts.append(_chart(reg))
        elif reg.type in _GROUP_TYPES:
            objects.extend(_group(reg))
        elif reg.type.startswith("kubernetes:") and reg.custom and "providers:" not in reg.type:
            objects.append(_object(reg))
    return objects, charts


def _object(reg: Registration) -> dict[str, Any]:
    obj = normalise(reg.inputs)
    if obj.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if key in obj:
                obj[key] = _redact(obj[key])
    metadata = obj.setdefault("metadata", {})
    metadata.setdefault("name", reg.name)
    ordered = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
    ordered.update({k: v for k, v in obj.items() if k not in ordered})
    return ordered


def _group(reg: Registration) -> list[dict[str, Any]]:
    inputs = normalise(reg.inputs)
    content = inputs.get("yaml") or ""
    texts = content if isinstance(content, list) else [content]
    docs = [doc for text in texts for doc in yaml.safe_load_all(text) if doc]
    docs.extend(inputs.get("objs") or [])
    return [doc for doc in docs if isinstance(doc, dict)]


def _chart(reg: Registration) -> ChartEntry:
    inputs = normalise(reg.inputs)
    repo_opts = inputs.get("repositoryOpts") or {}
    chart = str(inputs.get("chart", ""))
    local = chart.endswith(".tgz") and "://" not in chart and not repo_opts.get("repo")
    return ChartEntry(
        name=inputs.get("name") or reg.name,
        source="mirror" if local else "upstream",
        repo=repo_opts.get("repo"),
        chart=chart,
        version=str(inputs.get("version", "")),
        namespace=inputs.get("namespace"),
        values=inputs.get("values") or {},
    )
