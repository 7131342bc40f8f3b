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
    "ALL_IMAGES",
    "ARGO_WORKFLOWS",
    "CERT_MANAGER",
    "CHART_PODS",
    "CLOUDNATIVE_PG",
    "ENVOY_GATEWAY",
    "FEAST",
    "FEAST_IMAGE",
    "KSERVE_CRD",
    "KSERVE_RESOURCES",
    "KSERVE_RUNTIME_CONFIGS",
    "MLFLOW",
    "MLFLOW_IMAGE",
    "POSTGRES",
    "POSTGRES_IMAGE",
    "SEAWEEDFS",
    "SEAWEEDFS_IMAGE",
    "ChartPin",
    "ChartPod",
    "ImagePin",
    "chart_pods",
]


@dataclass(frozen=True, kw_only=True)
class ChartPin:
    """A Helm chart at an exact version.

    Attributes:
        name: Short name: the release name, the key of the footprint table and of
            ``charts.yaml``.
        repo: Chart repository URL, or ``None`` when ``chart`` is an ``oci://`` reference.
        chart: Chart name (or OCI reference).
        version: Exact chart version.
        app_version: The application version the chart deploys at ``version``.
        checked: The upstream files (``repository@tag:path``) every value we set, every CRD
            field we write and this pin were read against.

    Example:
        >>> ChartPin(name="cert-manager", repo=None,
        ...          chart="oci://quay.io/jetstack/charts/cert-manager", version="v1.21.1")
    """

    name: str
    repo: str | None
    chart: str
    version: str
    app_version: str = ""
    checked: tuple[str, ...] = ()

    @property
    def chart_name(self) -> str:
        """The ``name`` in the chart's ``Chart.yaml``: the last segment of ``chart``."""
        return self.chart.rstrip("/").rsplit("/", 1)[-1]

    @property
    def archive(self) -> str:
        """The file ``helm package`` makes of this chart: ``<chart name>-<version>.tgz``."""
        return f"{self.chart_name}-{self.version}.tgz"


@dataclass(frozen=True, kw_only=True)
class ImagePin:
    """A container image at an exact tag, with the upstream files that say the tag exists.

    Attributes:
        name: Short name.
        repository: Image repository (registry host included).
        tag: Exact tag.
        checked: Upstream files (``repository@tag:path``) read for the tag, its user and
            the flags or commands the platform runs it with.
    """

    name: str
    repository: str
    tag: str
    checked: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """``repository:tag``, as a container's ``image`` field takes it."""
        return f"{self.repository}:{self.tag}"


# The newest stable tags of each upstream repository as of August 2026. Each `checked` entry
# names the file read at that tag: values keys against values.yaml and the templates that read
# them, CRD fields against the CRDs the chart ships, flags against the binary's flag
# definitions, image tags against the release workflow that publishes them.
ENVOY_GATEWAY = ChartPin(
    name="envoy-gateway",
    repo=None,
    chart="oci://docker.io/envoyproxy/gateway-helm",
    version="v1.9.0",
    app_version="v1.9.0",
    checked=(
        "envoyproxy/gateway@v1.9.0:charts/gateway-helm/values.tmpl.yaml",
        "envoyproxy/gateway@v1.9.0:charts/gateway-helm/templates/ (certgen and the topology"
        " injector webhook are Helm hooks)",
        "envoyproxy/gateway@v1.9.0:api/v1alpha1/{envoyproxy_types,shared_types,"
        "envoypatchpolicy_types,oidc_types,basic_auth_types}.go",
        "envoyproxy/gateway@v1.9.0:internal/infrastructure/kubernetes/proxy/resource.go"
        " (the container securityContext also applies to the shutdown-manager)",
        "envoyproxy/gateway@v1.9.0:internal/cmd/envoy/shutdown_manager.go (/tmp/shutdown-ready)",
        "envoyproxy/gateway@v1.9.0:internal/provider/kubernetes/secrets.go (certgen's secrets)",
        "envoyproxy/gateway@v1.9.0:internal/xds/translator/listener.go (route table names)",
        "envoyproxy/gateway@v1.9.0:charts/gateway-helm/templates/_helpers.tpl (eg.image.pullPolicy:"
        " the global pull policy wins over deployment.envoyGateway.imagePullPolicy)",
        "envoyproxy/gateway@v1.9.0:charts/gateway-helm/templates/envoy-gateway-{deployment,"
        "service}.yaml (metadata annotations from values; the deployment mounts secret"
        " envoy-gateway), charts/gateway-helm/charts/crds (the Gateway API CRDs)",
    ),
)
CERT_MANAGER = ChartPin(
    name="cert-manager",
    repo=None,
    chart="oci://quay.io/jetstack/charts/cert-manager",
    version="v1.21.1",
    app_version="v1.21.1",
    checked=(
        "cert-manager/cert-manager@v1.21.1:deploy/charts/cert-manager/values.yaml",
        "cert-manager/cert-manager@v1.21.1:deploy/charts/cert-manager/README.template.md"
        " (the OCI chart)",
        "cert-manager/cert-manager@v1.21.1:internal/apis/config/controller/v1alpha1/defaults.go"
        " (gatewayAPI.enabled defaults to false)",
        "cert-manager/cert-manager@v1.21.1:pkg/apis/config/controller/v1alpha1/types.go"
        " (ControllerConfiguration.gatewayAPI.enabled)",
        "cert-manager/cert-manager@v1.21.1:deploy/charts/cert-manager/templates/"
        "{controller-config,deployment}.yaml (`config` becomes the --config file)",
        "cert-manager/cert-manager@v1.21.1:pkg/issuer/acme/http/http.go (gatewayHTTPRoute"
        " solvers need Gateway API support)",
        "cert-manager/cert-manager@v1.21.1:pkg/controller/context.go (exits at start-up without"
        " the Gateway API CRDs when it is on)",
        "cert-manager/cert-manager@v1.21.1:pkg/issuer/acme/http/pod.go (solver pod: port 8089,"
        " label acme.cert-manager.io/http01-solver, restricted security context)",
    ),
)
CLOUDNATIVE_PG = ChartPin(
    name="cloudnative-pg",
    repo="https://cloudnative-pg.github.io/charts",
    chart="cloudnative-pg",
    version="0.29.0",
    app_version="1.30.0",
    checked=(
        "cloudnative-pg/charts@cloudnative-pg-v0.29.0:charts/cloudnative-pg/Chart.yaml",
        "cloudnative-pg/charts@cloudnative-pg-v0.29.0:charts/cloudnative-pg/values.yaml",
        "cloudnative-pg/charts@cloudnative-pg-v0.29.0:charts/cloudnative-pg/templates/crds/"
        "crds.yaml (Cluster, Database, DatabaseRole)",
        "cloudnative-pg/cloudnative-pg@v1.30.0:pkg/versions/versions.go",
    ),
)
ARGO_WORKFLOWS = ChartPin(
    name="argo-workflows",
    repo="https://argoproj.github.io/argo-helm",
    chart="argo-workflows",
    version="1.0.18",
    # The chart's appVersion is v4.0.6; `images.tag` runs the newest patch of that line.
    app_version="v4.0.10",
    checked=(
        "argoproj/argo-helm@argo-workflows-1.0.18:charts/argo-workflows/values.yaml",
        "argoproj/argo-helm@argo-workflows-1.0.18:charts/argo-workflows/templates/crds.yaml"
        " (crds.full: false renders files/crds/minimal/ as templates)",
        "argoproj/argo-helm@argo-workflows-1.0.18:charts/argo-workflows/templates/"
        "crds-install-job.yaml (crds.full: true: a hook Job downloading from GitHub)",
        "argoproj/argo-helm@argo-workflows-1.0.18:charts/argo-workflows/templates/controller/"
        "workflow-rb.yaml (singleNamespace ignores controller.workflowNamespaces)",
        "argoproj/argo-workflows@v4.0.10:manifests/base/crds/minimal/ (CRD shapes)",
        "argoproj/argo-workflows@v4.0.10:.github/workflows/release.yaml (quay.io/argoproj"
        " images per v* tag)",
    ),
)
_KSERVE_CHECKED = (
    "kserve/kserve@v0.20.0:charts/{kserve-crd,kserve-resources,kserve-runtime-configs}/"
    "values.yaml and README.md",
    "kserve/kserve@v0.20.0:charts/kserve-resources/files/ (controller, webhooks,"
    " ClusterStorageContainer)",
    "kserve/kserve@v0.20.0:pkg/constants/constants.go (Standard; RawDeployment deprecated)",
    "kserve/kserve@v0.20.0:pkg/controller/v1beta1/inferenceservice/controller.go and"
    " cmd/manager/main.go (Gateway API mode exits at start-up without the HTTPRoute CRD)",
)
KSERVE_CRD = ChartPin(
    name="kserve-crd",
    repo=None,
    chart="oci://ghcr.io/kserve/charts/kserve-crd",
    version="v0.20.0",
    app_version="v0.20.0",
    checked=_KSERVE_CHECKED,
)
KSERVE_RESOURCES = ChartPin(
    name="kserve-resources",
    repo=None,
    chart="oci://ghcr.io/kserve/charts/kserve-resources",
    version="v0.20.0",
    app_version="v0.20.0",
    checked=_KSERVE_CHECKED,
)
KSERVE_RUNTIME_CONFIGS = ChartPin(
    name="kserve-runtime-configs",
    repo=None,
    chart="oci://ghcr.io/kserve/charts/kserve-runtime-configs",
    version="v0.20.0",
    app_version="v0.20.0",
    checked=(
        *_KSERVE_CHECKED,
        "kserve/kserve@v0.20.0:charts/kserve-runtime-configs/files/runtimes/"
        "clusterservingruntimes-patch.yaml",
    ),
)

ALL_CHARTS = (
    ENVOY_GATEWAY,
    CERT_MANAGER,
    CLOUDNATIVE_PG,
    ARGO_WORKFLOWS,
    KSERVE_CRD,
    KSERVE_RESOURCES,
    KSERVE_RUNTIME_CONFIGS,
)

MLFLOW = ImagePin(
    name="mlflow",
    repository="ghcr.io/mlflow/mlflow",
    # The same release the generated projects pin as their client (mlflow 3.17.x).
    tag="v3.17.2-full",
    checked=(
        "mlflow/mlflow@5033d12e:docker/README.md (`-full` from v3.9.0: PostgreSQL and S3 drivers)",
        "mlflow/mlflow@092ba8b1:docker/Dockerfile.full (mlflow[extras,db,...]==VERSION)",
        "mlflow==3.17.2 (PyPI wheel): mlflow/db.py (`mlflow db upgrade` creates an empty"
        " schema), mlflow/cli/__init__.py (server flags), mlflow/server/security_utils.py",
    ),
)
SEAWEEDFS = ImagePin(
    name="seaweedfs",
    repository="docker.io/chrislusf/seaweedfs",
    tag="4.44",
    checked=(
        "seaweedfs/seaweedfs@4.44:.github/workflows/container_release_unified.yml (every tag"
        " is published as chrislusf/seaweedfs:<tag>)",
        "seaweedfs/seaweedfs@4.44:docker/Dockerfile.go_build (/usr/bin/weed, WORKDIR /data)",
        "seaweedfs/seaweedfs@4.44:weed/command/server.go (flags)",
        "seaweedfs/seaweedfs@4.44:weed/s3api/s3_constants/s3_actions.go (identity actions)",
        "seaweedfs/seaweedfs@4.44:weed/s3api/s3api_server.go (/healthz, /readyz)",
    ),
)
POSTGRES = ImagePin(
    name="postgresql",
    repository="ghcr.io/cloudnative-pg/postgresql",
    # `MM.mm` tags are deprecated aliases of the `system` image; `standard` replaces it.
    tag="18.6-standard-trixie",
    checked=(
        "cloudnative-pg/postgres-containers@main(2026-08-20):README.md (types, tag scheme)",
        "cloudnative-pg/postgres-containers@main(2026-08-20):docker-bake.hcl (18.6; tags"
        " MM.mm-TYPE-OS)",
    ),
)

FEAST = ImagePin(
    name="feast",
    repository="quay.io/feastdev/feature-server",
    # The feast release the generated projects install (feast 0.67.0 on PyPI).
    tag="0.67.0",
    checked=(
        "feast-dev/feast@v0.66.0:.github/workflows/publish_images.yml (each release is"
        " pushed as quay.io/feastdev/feature-server:<version without v>)",
        "feast-dev/feast@v0.66.0:sdk/python/feast/infra/feature_servers/multicloud/"
        "{Dockerfile,requirements.txt} (USER 1001; feast[minimal]==<version>: psycopg,"
        " boto3, SQLAlchemy)",
        "feast==0.67.0 (PyPI wheel): feast/repo_config.py (RegistryConfig, sql; expandvars"
        " of feature_store.yaml), feast/infra/utils/postgres/postgres_config.py,"
        " feast/infra/offline_stores/{dask,file_source}.py, feast/cli/{cli,serve}.py,"
        " feast/feature_server.py (/health), feast/constants.py (ports)",
    ),
)

ALL_IMAGES = (MLFLOW, SEAWEEDFS, POSTGRES, FEAST)

FEAST_IMAGE = FEAST.ref
MLFLOW_IMAGE = MLFLOW.ref
SEAWEEDFS_IMAGE = SEAWEEDFS.ref
POSTGRES_IMAGE = POSTGRES.ref


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
    # The data-plane proxy is created by Envoy Gateway from our EnvoyProxy resource: the
    # envoy container, and the shutdown-manager beside it (sized through the proxy's patch).
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
        chart="envoy-gateway",
        pod="shutdown-manager",
        cpu=10,
        memory=32,
        cpu_limit=100,
        memory_limit=64,
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
        chart="kserve-resources",
        pod="controller-manager",
        cpu=50,
        memory=128,
        cpu_limit=500,
        memory_limit=512,
    ),
    # The kube-rbac-proxy sidecar of the KServe controller pod, sized through its own values.
    ChartPod(
        chart="kserve-resources",
        pod="rbac-proxy",
        cpu=10,
        memory=32,
        cpu_limit=100,
        memory_limit=64,
    ),
)


def chart_pods(chart: str) -> dict[str, ChartPod]:
    """The footprint entries of one chart, keyed by pod name."""
    return {pod.pod: pod for pod in CHART_PODS if pod.chart == chart}
