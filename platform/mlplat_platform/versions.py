"""Every chart and image version the platform deploys, pinned in one place.

Why one module: an upgrade is a one-line diff that reviewers can see, and the render output
(`charts.yaml`, image fields) is generated from here, so the golden test shows its effect.

The second half is the footprint table: the CPU and memory each chart-created pod requests.
`mlplat render` cannot see inside a chart (under Pulumi's mock runtime a `helm.v4.Chart`
arrives as one resource with its inputs), so the summary adds these numbers to what it
counts in the raw objects. Each entry is also what the component writes into the chart's
values, so the table and the deployment cannot drift apart. Entries marked
``source="chart default"`` are pods whose resources the chart does not let us set; their
numbers are the chart's documented defaults at the pinned version.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALL_CHARTS",
    "ARGO_WORKFLOWS",
    "CERT_MANAGER",
    "CHART_PODS",
    "CLOUDNATIVE_PG",
    "ENVOY_GATEWAY",
    "KSERVE",
    "KSERVE_CRD",
    "MLFLOW_IMAGE",
    "POSTGRES_IMAGE",
    "SEAWEEDFS_IMAGE",
    "ChartPin",
    "ChartPod",
    "chart_pods",
]


@dataclass(frozen=True, kw_only=True)
class ChartPin:
    """A Helm chart at an exact version.

    Attributes:
        name: Short name, used as the key of the footprint table and in ``charts.yaml``.
        repo: Chart repository URL, or ``None`` when ``chart`` is an ``oci://`` reference.
        chart: Chart name (or OCI reference).
        version: Exact chart version.

    Example:
        >>> ChartPin(name="cert-manager", repo="https://charts.jetstack.io",
        ...          chart="cert-manager", version="v1.19.1")
    """

    name: str
    repo: str | None
    chart: str
    version: str


ENVOY_GATEWAY = ChartPin(
    name="envoy-gateway",
    repo=None,
    chart="oci://docker.io/envoyproxy/gateway-helm",
    version="v1.7.0",
)
CERT_MANAGER = ChartPin(
    name="cert-manager", repo="https://charts.jetstack.io", chart="cert-manager", version="v1.19.1"
)
CLOUDNATIVE_PG = ChartPin(
    name="cloudnative-pg",
    repo="https://cloudnative-pg.github.io/charts",
    chart="cloudnative-pg",
    version="0.26.0",
)
ARGO_WORKFLOWS = ChartPin(
    name="argo-workflows",
    repo="https://argoproj.github.io/argo-helm",
    chart="argo-workflows",
    version="1.0.18",
)
KSERVE_CRD = ChartPin(
    name="kserve-crd", repo=None, chart="oci://ghcr.io/kserve/charts/kserve-crd", version="v0.15.2"
)
KSERVE = ChartPin(
    name="kserve", repo=None, chart="oci://ghcr.io/kserve/charts/kserve", version="v0.15.2"
)

ALL_CHARTS = (ENVOY_GATEWAY, CERT_MANAGER, CLOUDNATIVE_PG, ARGO_WORKFLOWS, KSERVE_CRD, KSERVE)

MLFLOW_IMAGE = "ghcr.io/mlflow/mlflow:v3.7.0-full"
SEAWEEDFS_IMAGE = "docker.io/chrislusf/seaweedfs:3.97"
POSTGRES_IMAGE = "ghcr.io/cloudnative-pg/postgresql:17.6"


@dataclass(frozen=True, kw_only=True)
class ChartPod:
    """One pod a chart creates, with the requests and limits it runs with.

    Attributes:
        chart: The chart (or operator) that creates the pod.
        pod: A short name for the pod.
        cpu: CPU request, in millicores.
        memory: Memory request, in MiB.
        cpu_limit: CPU limit, in millicores.
        memory_limit: Memory limit, in MiB.
        scales: Whether the component runs ``sizing.replicas`` of it (else exactly one).
        source: ``"mlplat values"`` when a component sets these numbers through the chart's
            values, ``"chart default"`` when they are the chart's documented defaults.
    """

    chart: str
    pod: str
    cpu: int
    memory: int
    cpu_limit: int
    memory_limit: int
    scales: bool = False
    source: str = "mlplat values"

    def resources(self) -> dict[str, dict[str, str]]:
        """The Kubernetes ``resources`` block for this pod's main container."""
        return {
            "requests": {"cpu": f"{self.cpu}m", "memory": f"{self.memory}Mi"},
            "limits": {"cpu": f"{self.cpu_limit}m", "memory": f"{self.memory_limit}Mi"},
        }


CHART_PODS: tuple[ChartPod, ...] = (
    ChartPod(
        chart="cert-manager",
        pod="controller",
        cpu=10,
        memory=64,
        cpu_limit=200,
        memory_limit=256,
        scales=True,
    ),
    ChartPod(
        chart="cert-manager",
        pod="webhook",
        cpu=10,
        memory=32,
        cpu_limit=100,
        memory_limit=128,
        scales=True,
    ),
    ChartPod(
        chart="cert-manager", pod="cainjector", cpu=10, memory=64, cpu_limit=100, memory_limit=256
    ),
    ChartPod(
        chart="envoy-gateway",
        pod="envoy-gateway",
        cpu=50,
        memory=128,
        cpu_limit=500,
        memory_limit=512,
        scales=True,
    ),
    # The data-plane proxy is created by Envoy Gateway from our EnvoyProxy resource.
    ChartPod(
        chart="envoy-gateway",
        pod="envoy-proxy",
        cpu=50,
        memory=128,
        cpu_limit=1000,
        memory_limit=512,
        scales=True,
    ),
    ChartPod(
        chart="cloudnative-pg", pod="operator", cpu=20, memory=96, cpu_limit=200, memory_limit=256
    ),
    ChartPod(
        chart="argo-workflows",
        pod="workflow-controller",
        cpu=20,
        memory=96,
        cpu_limit=500,
        memory_limit=512,
        scales=True,
    ),
    ChartPod(
        chart="argo-workflows",
        pod="argo-server",
        cpu=20,
        memory=64,
        cpu_limit=500,
        memory_limit=256,
        scales=True,
    ),
    ChartPod(
        chart="kserve",
        pod="controller-manager",
        cpu=50,
        memory=128,
        cpu_limit=500,
        memory_limit=512,
    ),
    # The kube-rbac-proxy sidecar of the KServe controller pod, sized through its own values.
    ChartPod(chart="kserve", pod="rbac-proxy", cpu=10, memory=32, cpu_limit=100, memory_limit=64),
)


def chart_pods(chart: str) -> dict[str, ChartPod]:
    """The footprint entries of one chart, keyed by pod name."""
    return {pod.pod: pod for pod in CHART_PODS if pod.chart == chart}
