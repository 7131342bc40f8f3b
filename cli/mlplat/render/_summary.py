"""What a render contains: objects per kind, the CPU and memory they request, the summary.

Steady-state requests add up three sources: workloads among the raw objects (replicas times
the sum of their containers' requests), CloudNativePG clusters (instances times
``spec.resources``), and the pods charts create, from the documented table in
`mlplat_platform.versions` (a chart is one opaque resource under mocks). Jobs run to
completion and are reported apart.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Footprint",
    "RenderSummary",
    "count_kinds",
    "footprint",
    "parse_cpu",
    "parse_memory",
]

_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod"}
_MEMORY_UNITS = {
    "": 1,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
}
_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")


def parse_cpu(quantity: str | int | float) -> int:
    """A CPU quantity in millicores (``"100m"`` → 100, ``"1"`` → 1000)."""
    text = str(quantity)
    if text.endswith("m"):
        return int(float(text[:-1]))
    return int(float(text) * 1000)


def parse_memory(quantity: str | int | float) -> int:
    """A memory quantity in bytes (``"64Mi"`` → 67108864)."""
    match = _QUANTITY.match(str(quantity))
    if not match or match.group(2) not in _MEMORY_UNITS:
        raise ValueError(f"not a memory quantity: {quantity!r}")
    return int(float(match.group(1)) * _MEMORY_UNITS[match.group(2)])


@dataclass
class Footprint:
    """Requests in millicores and bytes, per source."""

    objects_cpu: int = 0
    objects_memory: int = 0
    charts_cpu: int = 0
    charts_memory: int = 0
    jobs_cpu: int = 0
    jobs_memory: int = 0
    chart_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total_cpu(self) -> int:
        """Steady-state CPU requests, millicores."""
        return self.objects_cpu + self.charts_cpu

    @property
    def total_memory(self) -> int:
        """Steady-state memory requests, bytes."""
        return self.objects_memory + self.charts_memory


def count_kinds(objects: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Objects per kind, sorted by kind."""
    return dict(sorted(Counter(str(o.get("kind")) for o in objects).items()))


def _pod_requests(pod_spec: dict[str, Any]) -> tuple[int, int]:
    cpu = memory = 0
    for container in pod_spec.get("containers", []):
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += parse_cpu(requests.get("cpu", 0))
        memory += parse_memory(requests.get("memory", 0))
    return cpu, memory


def footprint(
    objects: Iterable[dict[str, Any]], chart_names: Iterable[str], replicas: int
) -> Footprint:
    """Total requests of a render.

    Args:
        objects: The rendered objects.
        chart_names: Short names of the charts in the render (``ChartPin.name``).
        replicas: The config's ``sizing.replicas``, for chart pods that scale with it.
    """
    from mlplat_platform.versions import CHART_PODS

    result = Footprint()
    for obj in objects:
        kind, spec = obj.get("kind"), obj.get("spec") or {}
        if kind in _WORKLOADS or kind == "Job":
            pod = spec if kind == "Pod" else (spec.get("template") or {}).get("spec") or {}
            cpu, memory = _pod_requests(pod)
            count = (
                1
                if kind in ("Pod", "DaemonSet")
                else int(spec.get("parallelism", 1) if kind == "Job" else spec.get("replicas", 1))
            )
            if kind == "Job":
                result.jobs_cpu += cpu * count
                result.jobs_memory += memory * count
            else:
                result.objects_cpu += cpu * count
                result.objects_memory += memory * count
        elif kind == "Cluster" and str(obj.get("apiVersion", "")).startswith("postgresql.cnpg.io"):
            requests = (spec.get("resources") or {}).get("requests") or {}
            instances = int(spec.get("instances", 1))
            result.objects_cpu += parse_cpu(requests.get("cpu", 0)) * instances
            result.objects_memory += parse_memory(requests.get("memory", 0)) * instances
    names = set(chart_names)
    for pod in CHART_PODS:
        if pod.chart not in names:
            continue
        count = replicas if pod.scales else 1
        result.charts_cpu += pod.cpu * count
        result.charts_memory += pod.memory * 1024**2 * count
        result.chart_rows.append(
            {
                "chart": pod.chart,
                "pod": pod.pod,
                "replicas": count,
                "cpu_m": pod.cpu,
                "memory_mi": pod.memory,
                "source": pod.source,
            }
        )
    return result


@dataclass
class RenderSummary:
    """What a render produced.

    Attributes:
        out_dir: Where the files are.
        profile: The profile rendered.
        kinds: Objects per kind.
        charts: ``name@version`` of every chart.
        footprint: Requests of the rendered objects and the documented chart pods.
        files: Files written, relative to ``out_dir``.
        exports: The stack outputs the program exports (secrets redacted).
        seconds: Wall time of the render.
    """

    out_dir: Path
    profile: str
    kinds: dict[str, int]
    charts: list[str]
    footprint: Footprint
    files: list[str] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def object_count(self) -> int:
        """Number of raw objects written."""
        return sum(self.kinds.values())

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form, for ``--json``."""
        fp = self.footprint
        return {
            "out_dir": str(self.out_dir),
            "profile": self.profile,
            "objects": self.object_count,
            "kinds": self.kinds,
            "charts": self.charts,
            "exports": self.exports,
            # Secret files hold placeholders: never apply them with kubectl.
            "redacted_secrets": self.kinds.get("Secret", 0),
            "requests": {
                "cpu_millicores": fp.total_cpu,
                "memory_bytes": fp.total_memory,
                "objects": {"cpu_millicores": fp.objects_cpu, "memory_bytes": fp.objects_memory},
                "chart_pods": {
                    "cpu_millicores": fp.charts_cpu,
                    "memory_bytes": fp.charts_memory,
                    "pods": fp.chart_rows,
                },
                "jobs": {"cpu_millicores": fp.jobs_cpu, "memory_bytes": fp.jobs_memory},
            },
            "seconds": round(self.seconds, 3),
        }

    def text(self) -> str:
        """The human summary: objects per kind, charts, and requests by source."""
        fp = self.footprint
        lines = [
            f"Rendered {self.object_count} objects and {len(self.charts)} charts "
            f"({self.profile} profile) into {self.out_dir} in {self.seconds:.1f}s.",
            "",
        ]
        width = max((len(k) for k in self.kinds), default=4)
        lines += [f"  {kind:<{width}}  {count:>3}" for kind, count in self.kinds.items()]
        lines += ["", "Charts: " + (", ".join(self.charts) or "none")]
        if self.kinds.get("Secret"):
            lines += [
                "",
                f"The {self.kinds['Secret']} Secret files hold redacted placeholders: they are for "
                "review, not for `kubectl apply`; `mlplat up` generates the real values.",
            ]
        lines += ["", "Requests:"]
        for label, cpu, mem in (
            ("raw objects", fp.objects_cpu, fp.objects_memory),
            ("chart pods (documented table)", fp.charts_cpu, fp.charts_memory),
            ("total, steady state", fp.total_cpu, fp.total_memory),
            ("jobs (run to completion)", fp.jobs_cpu, fp.jobs_memory),
        ):
            lines.append(f"  {label:<30} {cpu / 1000:6.2f} CPU  {mem / 2**30:6.2f} GiB")
        keys = (
            "exposure",
            "mlflow_url",
            "argo_url",
            "models_url_template",
            "auth_username",
            "mlflow_port_forward",
            "argo_port_forward",
            "argo_token_command",
        )
        lines.append("")
        for key in keys:
            if self.exports.get(key):
                lines.append(f"{key}: {self.exports[key]}")
        return "\n".join(lines)
