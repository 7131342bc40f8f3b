"""A generated project's model server on the platform: a KServe InferenceService.

`ModelDeployment` (``mlplat:index:ModelDeployment``) deploys the project's server image in
KServe's ``Standard`` mode (plain Deployment + Service, no Knative) into the models namespace,
under the service account the platform's `Serving` component creates. Checked against
kserve/kserve at v0.20.0:

- ``pkg/apis/serving/v1beta1/inference_service.go``: canary is ``spec.canary[]``, a list of
  ``{predictor, trafficPercent}`` whose ``predictor.name`` names the canary's Deployment
  (``{isvc}-{name}-predictor``). The older per-component ``canaryTrafficPercent`` is Knative's
  revision split and does not apply to Standard mode.
- ``inference_service_validation.go`` (``validateCanarySpecs``): canary needs the annotation
  ``serving.kserve.io/deploymentMode: Standard`` on the object itself, a stable predictor that
  is a *model* (``predictor.model``) or carries a storage URI, unique predictor names, no
  ``maxReplicas`` on a canary ("canary uses fixed replicas") and canary ``minReplicas`` no
  higher than the stable's. A bare custom container without a storage URI is refused.
- ``pkg/controller/.../utils.go`` (``MergeRuntimeContainers``): a predictor model's ``args``
  are appended to its ServingRuntime container's.

Hence the shape: a namespaced ``ServingRuntime`` whose one container, ``kserve-container``, is
the project's image speaking the Open Inference Protocol (V2) over REST on port 8080 with
probes on ``/v2/health/ready`` and ``/v2/health/live``; the stable predictor and the optional
canary are ``predictor.model`` entries on that runtime that differ only in the model they
serve: ``--model-uri models:/<name>@champion`` (and ``@challenger`` for the canary), fetched
from the platform's MLflow at ``tracking_uri``. The pods run as the image's user (10001) with
a read-only root filesystem and an ``emptyDir`` on ``/tmp`` (prediction logs, MLflow
downloads), no privilege escalation, all capabilities dropped and the RuntimeDefault seccomp
profile: Pod Security ``restricted``, which the models namespace enforces.

The server ships its sampled prediction records to the platform's bucket under
``monitor/<name>/prediction-logs`` (``mlplat_runtime.serving.shipper``), where the project's
monitor CronWorkflow reads them: ``MLPLAT_RECORDS_S3_*`` name the target, and the models'
object-store keys (the `Serving` component's Secret, allowed to write only under ``monitor/``)
are mounted read-only as an AWS credentials file, so they never appear in the environment. An
image whose runtime predates shipping ignores these variables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as kubernetes

from mlplat_platform.k8s import (
    NAMESPACES,
    checkov_skips,
    child,
    container_security,
    labels,
    pod_security,
    resources,
)
from mlplat_platform.objectstore import S3_PORT
from mlplat_platform.registry import MLFLOW_PORT

__all__ = [
    "DEFAULT_OBJECT_STORE",
    "DEFAULT_TRACKING_URI",
    "SERVER_PORT",
    "Canary",
    "ModelDeployment",
    "ModelDeploymentArgs",
    "RecordsStore",
    "build_deployment",
]

#: The port the project's Dockerfile exposes and its ENTRYPOINT binds (templates/ml-project).
SERVER_PORT = 8080
#: The user the project's image runs as (its Dockerfile's ``USER 10001:10001``).
_IMAGE_USER = 10001
#: The platform's in-cluster MLflow URL (the `Registry` component's ``internal_url``), for
#: renders without a platform stack; deploys read the platform stack's output instead.
DEFAULT_TRACKING_URI = f"http://mlflow.{NAMESPACES.registry}.svc.cluster.local:{MLFLOW_PORT}"
#: The platform's in-cluster object store (the `ObjectStore` component's endpoint), for renders
#: without a platform stack; deploys read the platform stack's ``models_s3_*`` outputs instead.
DEFAULT_OBJECT_STORE = f"http://seaweedfs.{NAMESPACES.object_store}.svc.cluster.local:{S3_PORT}"
#: Where the models' object-store Secret is mounted (its ``credentials`` key, an AWS file).
_CREDENTIALS_DIR = "/var/run/secrets/mlplat-s3"
#: Pod annotation carrying the served model version, so a moved alias rolls the pods.
_VERSION_ANNOTATION = "mlplat-model-version"
_POD_SKIPS = checkov_skips(
    (
        "CKV_K8S_43",
        "the project's image is pinned by its version tag; digests are known only after a push",
    ),
    (
        "CKV_K8S_15",
        "IfNotPresent: version tags are immutable, and images loaded into kind are not pulled",
    ),
    (
        "CKV2_K8S_6",
        "the platform's models namespace holds the NetworkPolicies (mlplat_platform/serving.py)",
    ),
)
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,43}[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi)?$")


@dataclass(frozen=True, kw_only=True)
class Canary:
    """A challenger served next to the stable predictor.

    Attributes:
        percent: Share of requests routed to it (0 deploys it dark).
        alias: Registry alias it serves.
        name: Its predictor name (its Deployment is ``{isvc}-{name}-predictor``).
        replicas: Fixed replicas (KServe scales canaries by replica count, not autoscaling).
        version: The registry version the alias points at, when known (rolls the pods when
            it changes: an alias moving alone does not restart anything).
    """

    percent: int
    alias: str = "challenger"
    name: str = "challenger"
    replicas: int = 1
    version: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordsStore:
    """Where the server ships its prediction records: the platform's bucket and the keys to it.

    Attributes:
        endpoint: The object store's S3 endpoint as reached from the models namespace.
        bucket: The platform's bucket.
        region: Region signed into requests.
        secret: The Secret in the models namespace with the models' keys (its ``credentials``
            key is an AWS shared-credentials file; `Serving` makes it).
    """

    endpoint: str = DEFAULT_OBJECT_STORE
    bucket: str = "mlplat"
    region: str = "us-east-1"
    secret: str = "mlplat-s3"


@dataclass(frozen=True, kw_only=True)
class ModelDeploymentArgs:
    """Inputs of `ModelDeployment`.

    Attributes:
        name: InferenceService name (a DNS label, at most 45 characters).
        image: The project's server image.
        model_name: Registered model name in MLflow (the project's ``registry.model_name``).
        tracking_uri: The platform's MLflow, reachable from the models namespace.
        alias: Registry alias the stable predictor serves.
        version: The version that alias points at, when known (see `Canary.version`).
        canary: A challenger next to it, or ``None``.
        namespace: The platform's models namespace.
        service_account: The service account the platform made for model servers.
        min_replicas: Stable predictor's minimum replicas.
        max_replicas: Stable predictor's maximum replicas (KServe's HPA scales between them).
        workers: Server worker processes per pod.
        cpu: CPU request per pod (limit 4x, `mlplat_platform.k8s.resources`).
        memory: Memory request per pod (limit 2x).
        image_pull_policy: ``IfNotPresent`` suits images loaded into kind and pinned tags.
        records: Where prediction records are shipped (under
            ``monitor/<name>/prediction-logs``, the key the project's monitor reads), or
            ``None`` to keep them in the pod.
    """

    name: str
    image: str
    model_name: str
    tracking_uri: str = DEFAULT_TRACKING_URI
    alias: str = "champion"
    version: str | None = None
    canary: Canary | None = None
    namespace: str = NAMESPACES.models
    service_account: str = "mlplat-models"
    min_replicas: int = 1
    max_replicas: int = 2
    workers: int = 2
    cpu: str = "250m"
    memory: str = "512Mi"
    image_pull_policy: str = "IfNotPresent"
    records: RecordsStore | None = field(default_factory=RecordsStore)

    def __post_init__(self) -> None:
        if not _DNS_LABEL.match(self.name):
            raise ValueError(
                f"name {self.name!r} must be a lower-case DNS label of at most 45 characters"
            )
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise ValueError("need 1 <= min_replicas <= max_replicas")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        for key in ("cpu", "memory"):
            if not _QUANTITY.match(getattr(self, key)):
                raise ValueError(f"{key} {getattr(self, key)!r} is not a Kubernetes quantity")
        if self.canary is not None:
            if not 0 <= self.canary.percent <= 100:
                raise ValueError("canary percent must be between 0 and 100")
            if self.canary.alias == self.alias:
                raise ValueError("the canary must serve another alias than the stable predictor")
            if not 1 <= self.canary.replicas <= self.min_replicas:
                raise ValueError("canary replicas must be between 1 and min_replicas (KServe)")


class ModelDeployment(pulumi.ComponentResource):
    """A project's server image as a KServe InferenceService with an optional canary.

    Attributes:
        isvc_name: The InferenceService's name.
        namespace: Its namespace.
        service: The stable predictor's Service (``{name}-predictor``, port 80 to 8080).
        infer_path: The V2 inference route of the served model.
    """

    isvc_name: str
    namespace: str
    service: str
    infer_path: str

    def __init__(
        self, name: str, args: ModelDeploymentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplat:index:ModelDeployment", name, None, opts)
        meta_labels = labels(args.name, "model-server")
        runtime = kubernetes.apiextensions.CustomResource(
            f"{name}-runtime",
            api_version="serving.kserve.io/v1alpha1",
            kind="ServingRuntime",
            metadata={"name": args.name, "namespace": args.namespace, "labels": meta_labels},
            spec=self._runtime_spec(args),
            opts=child(self),
        )
        kubernetes.apiextensions.CustomResource(
            f"{name}-isvc",
            api_version="serving.kserve.io/v1beta1",
            kind="InferenceService",
            metadata={
                "name": args.name,
                "namespace": args.namespace,
                "labels": meta_labels,
                # Canary is validated against this annotation, not the controller's default.
                "annotations": {"serving.kserve.io/deploymentMode": "Standard"},
            },
            spec=self._isvc_spec(args),
            opts=child(self, depends_on=[runtime]),
        )
        self.isvc_name = args.name
        self.namespace = args.namespace
        self.service = f"{args.name}-predictor"
        self.infer_path = f"/v2/models/{args.model_name}/infer"
        self.register_outputs(
            {"isvc_name": self.isvc_name, "namespace": self.namespace, "service": self.service}
        )

    @staticmethod
    def _format(args: ModelDeploymentArgs) -> str:
        """A model format only this runtime supports, so KServe never picks another one."""
        return f"mlplat-{args.name}"

    @classmethod
    def _runtime_spec(cls, args: ModelDeploymentArgs) -> dict[str, Any]:
        probe = {"port": SERVER_PORT}
        container: dict[str, Any] = {
            "name": "kserve-container",  # the name KServe treats as the predictor container
            "image": args.image,
            "imagePullPolicy": args.image_pull_policy,
            # The image's ENTRYPOINT binds 0.0.0.0:8080; these replace its CMD.
            "args": ["--workers", str(args.workers)],
            "ports": [{"containerPort": SERVER_PORT, "name": "http1", "protocol": "TCP"}],
            "env": [
                {"name": "MLFLOW_TRACKING_URI", "value": args.tracking_uri},
                # The image's user has no home; MLflow caches under $HOME (root FS is read-only).
                {"name": "HOME", "value": "/tmp"},
            ],
            "readinessProbe": {
                "httpGet": {"path": "/v2/health/ready", **probe},
                "periodSeconds": 5,
                "timeoutSeconds": 2,
                "failureThreshold": 3,
            },
            "livenessProbe": {
                "httpGet": {"path": "/v2/health/live", **probe},
                "periodSeconds": 10,
                "timeoutSeconds": 3,
                "failureThreshold": 3,
            },
            # The model loads from MLflow at start: give it minutes before liveness counts.
            "startupProbe": {
                "httpGet": {"path": "/v2/health/live", **probe},
                "periodSeconds": 5,
                "failureThreshold": 60,
            },
            "resources": resources(args.cpu, args.memory),
            "securityContext": container_security(user=_IMAGE_USER),
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
        volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}]
        if args.records is not None:
            container["env"] += cls._records_env(args.name, args.records)
            container["volumeMounts"].append(
                {"name": "object-store", "mountPath": _CREDENTIALS_DIR, "readOnly": True}
            )
            volumes.append(
                {
                    "name": "object-store",
                    "secret": {
                        "secretName": args.records.secret,
                        "items": [{"key": "credentials", "path": "credentials"}],
                        "defaultMode": 0o440,
                    },
                }
            )
        return {
            "supportedModelFormats": [{"name": cls._format(args), "autoSelect": False}],
            "protocolVersions": ["v2"],
            "multiModel": False,
            "containers": [container],
            "volumes": volumes,
        }

    @staticmethod
    def _records_env(name: str, records: RecordsStore) -> list[dict[str, str]]:
        """What the runtime's record shipper reads (``mlplat_runtime.serving.shipper``).

        The monitor names its data after the package as the pipeline does (``resource_name``
        in mlplat_runtime/pipeline/argo.py: at most 40 characters), the InferenceService after
        the same package with up to 45: the first 40 agree.
        """
        name = name[:40].rstrip("-")
        return [
            {
                "name": "MLPLAT_RECORDS_S3_URL",
                "value": f"s3://{records.bucket}/monitor/{name}/prediction-logs",
            },
            {"name": "MLPLAT_RECORDS_S3_ENDPOINT", "value": records.endpoint},
            {"name": "MLPLAT_RECORDS_S3_REGION", "value": records.region},
            {"name": "AWS_SHARED_CREDENTIALS_FILE", "value": f"{_CREDENTIALS_DIR}/credentials"},
        ]

    @classmethod
    def _predictor(
        cls,
        args: ModelDeploymentArgs,
        alias: str,
        *,
        version: str | None,
        name: str | None = None,
    ) -> dict[str, Any]:
        predictor: dict[str, Any] = {
            "serviceAccountName": args.service_account,
            "automountServiceAccountToken": False,
            "securityContext": pod_security(user=_IMAGE_USER),
            "model": {
                "modelFormat": {"name": cls._format(args)},
                "runtime": args.name,
                "protocolVersion": "v2",
                "args": ["--model-uri", f"models:/{args.model_name}@{alias}"],
            },
        }
        if name is not None:
            predictor["name"] = name
        # KServe copies a component's annotations onto its pods, where checkov looks.
        annotations = dict(_POD_SKIPS)
        if version is not None:
            annotations[_VERSION_ANNOTATION] = version
        predictor["annotations"] = annotations
        return predictor

    @classmethod
    def _isvc_spec(cls, args: ModelDeploymentArgs) -> dict[str, Any]:
        stable = cls._predictor(args, args.alias, version=args.version)
        stable.update(minReplicas=args.min_replicas, maxReplicas=args.max_replicas)
        spec: dict[str, Any] = {"predictor": stable}
        if args.canary is not None:
            canary = cls._predictor(
                args, args.canary.alias, version=args.canary.version, name=args.canary.name
            )
            canary["minReplicas"] = args.canary.replicas
            spec["canary"] = [{"predictor": canary, "trafficPercent": args.canary.percent}]
        return spec


def build_deployment(args: ModelDeploymentArgs, *, kube_context: str | None) -> dict[str, Any]:
    """The deployment program: ``mlplat deploy`` runs it, ``mlplat render --project`` mocks it.

    Its Kubernetes provider is configured like the platform's (``program._provider``): server-
    side apply, and upsert so a stack recreated after a lost state adopts the objects it finds.

    Returns:
        The exported outputs, by name.
    """
    provider = kubernetes.Provider(
        "kubernetes",
        context=kube_context,
        enable_server_side_apply=True,
        upsert_existing_objects=True,
    )
    deployment = ModelDeployment("model", args, opts=pulumi.ResourceOptions(providers=[provider]))
    exports: dict[str, Any] = {
        "inference_service": deployment.isvc_name,
        "namespace": deployment.namespace,
        "model": args.model_name,
        "image": args.image,
        "stable_alias": args.alias,
        "canary_alias": args.canary.alias if args.canary else None,
        "canary_percent": args.canary.percent if args.canary else 0,
        "infer_path": deployment.infer_path,
        "port_forward": (
            f"kubectl -n {deployment.namespace} port-forward svc/{deployment.service} "
            f"{SERVER_PORT}:80"
        ),
    }
    for key, value in exports.items():
        pulumi.export(key, value)
    return exports
