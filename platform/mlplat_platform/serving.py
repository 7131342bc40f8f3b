"""Serving: KServe in Standard (raw deployment) mode, reading models from the object store.

Standard mode needs neither Knative nor Istio: an InferenceService becomes a Deployment, a
Service and, with a gateway, an HTTPRoute on the platform's Gateway (behind its
authentication). Projects run their model servers as InferenceServices with a custom V2
container under the service account made here, whose S3 secret lets KServe's storage
initializer fetch models from the registry's artefact store.

KServe ships three charts since v0.17: ``kserve-crd``, ``kserve-resources`` (the controller
and its webhooks) and ``kserve-runtime-configs`` (the ClusterServingRuntimes). Its
ClusterServingRuntime webhook has ``failurePolicy: Fail`` and refuses every object until the
controller answers (kserve/kserve#5037), and Pulumi does not retry that error; so the runtime
configs depend on the resources chart, whose Deployment and webhook Service Pulumi awaits
until they are ready, the ordering upstream gets from ``helm install --wait``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.helm.v4 as helm

from mlplat_platform import versions
from mlplat_platform.charts import ChartSource
from mlplat_platform.consumers import MODEL_PORT
from mlplat_platform.endpoints import GatewayRef, S3Endpoint, ServiceRef
from mlplat_platform.k8s import NAMESPACES, child
from mlplat_platform.namespace import Flow, Peer, kube_api_egress, secure_namespace, webhook_ingress

__all__ = ["ENABLED_RUNTIMES", "MODEL_PORT", "Serving", "ServingArgs", "runtime_values"]

_WEBHOOK_PORT = 9443
_SERVICE_ACCOUNT = "mlplat-models"

#: The ClusterServingRuntimes left on: CPU model servers for the model formats mlplat projects
#: produce, speaking the V2 protocol. The others (GPU and LLM servers, TensorFlow, Triton,
#: TorchServe...) are switched off (`disabled: true`): their images are gigabytes, several need
#: GPUs or shared memory, and a platform for tabular models does not need them.
ENABLED_RUNTIMES = ("sklearnserver", "xgbserver", "lgbserver", "mlserver")
#: Every runtime the chart's values can switch off at the pinned version.
_TOGGLED_RUNTIMES = (
    "autogluonserver",
    "huggingfaceserver",
    "lgbserver",
    "mlserver",
    "paddleserver",
    "pmmlserver",
    "predictiveserver",
    "sklearnserver",
    "tensorflow",
    "torchserve",
    "tritonserver",
    "vllmserver",
    "xgbserver",
)


def runtime_values() -> dict[str, Any]:
    """Values of ``kserve-runtime-configs``: the runtimes on, each admitted by "restricted".

    The chart renders nothing unless ``servingruntime.enabled``. Its runtimes' container
    contexts lack a seccomp profile, which Pod Security "restricted" (the models namespace)
    requires; the chart deep-merges ours over its own.
    """
    restricted = {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    runtimes: dict[str, Any] = {
        key: {"disabled": key not in ENABLED_RUNTIMES} for key in _TOGGLED_RUNTIMES
    }
    for key in ENABLED_RUNTIMES:
        runtimes[key]["securityContext"] = restricted
    return {
        "kserve": {
            "servingruntime": {"enabled": True, **runtimes},
            "llmisvcConfigs": {"enabled": False},
        }
    }


@dataclass(frozen=True, kw_only=True)
class ServingArgs:
    """Inputs of `Serving`.

    Attributes:
        object_store: Where models are read from.
        cert_manager: The cert-manager chart (KServe's webhook certificates need it).
        calls: The platform services model servers may call (MLflow, the feature server).
        gateway: Expose InferenceServices at ``<name>-<namespace>.models.<domain>``.
        namespace: Where the KServe controller runs.
        models_namespace: Where projects deploy their InferenceServices.
        charts: Where the three KServe charts come from.
    """

    object_store: S3Endpoint
    cert_manager: pulumi.Resource
    calls: tuple[ServiceRef, ...] = ()
    gateway: GatewayRef | None = None
    namespace: str = NAMESPACES.serving
    models_namespace: str = NAMESPACES.models
    charts: ChartSource = ChartSource()


class Serving(pulumi.ComponentResource):
    """KServe controller plus a models namespace with storage credentials.

    Attributes:
        models_namespace: Where InferenceServices go.
        service_account: The service account InferenceServices should run as.
        url_template: Public URL pattern, or ``None`` when not exposed.
        credentials_secret: The Secret in the models namespace holding the models' object-store
            keys (read models; write prediction records under ``monitor/``).
        runtimes: The ClusterServingRuntimes chart, applied after the controller is ready.
    """

    models_namespace: str
    service_account: str
    url_template: str | None
    credentials_secret: str = "mlplat-s3"
    runtimes: helm.Chart

    def __init__(
        self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplat:index:Serving", name, None, opts)
        flows = [
            kube_api_egress(),
            webhook_ingress(_WEBHOOK_PORT),
        ]
        ns = secure_namespace(args.namespace, parent=self, flows=flows)
        crds = self._chart(args, name, "crds", versions.KSERVE_CRD, {}, [ns])
        # With a gateway, v0.20.0's controller exits at start-up unless the HTTPRoute CRD
        # exists (kserve/kserve@v0.20.0:pkg/controller/v1beta1/inferenceservice/controller.go
        # SetupWithManager, called from cmd/manager/main.go): it waits for the Gateway API CRDs.
        gateway_crds = list(args.gateway.crds) if args.gateway is not None else []
        controller = self._chart(
            args,
            name,
            "chart",
            versions.KSERVE_RESOURCES,
            self._values(args),
            [ns, crds, args.cert_manager, *gateway_crds],
        )
        # Applied only once the controller (and so the webhook) is ready: see the module doc.
        self.runtimes = self._chart(
            args, name, "runtimes", versions.KSERVE_RUNTIME_CONFIGS, runtime_values(), [controller]
        )
        chart = controller
        models_ns = self._models_namespace(args)
        s3 = args.object_store
        scheme_host = s3.url.split("://", 1)
        annotations = {
            "serving.kserve.io/s3-endpoint": scheme_host[1],
            "serving.kserve.io/s3-usehttps": "0" if s3.insecure else "1",
            "serving.kserve.io/s3-region": s3.region,
            "serving.kserve.io/s3-useanoncredential": "false",
        }
        secret = s3.credentials_secret(
            self.credentials_secret,
            args.models_namespace,
            parent=self,
            annotations=annotations,
            depends_on=[models_ns],
        )
        core.ServiceAccount(
            f"{name}-models-sa",
            metadata={"name": _SERVICE_ACCOUNT, "namespace": args.models_namespace},
            secrets=[{"name": self.credentials_secret}],
            automount_service_account_token=False,
            opts=child(self, depends_on=[models_ns, secret, chart]),
        )
        self.models_namespace = args.models_namespace
        self.service_account = _SERVICE_ACCOUNT
        self.url_template = None
        if args.gateway is not None:
            self.url_template = (
                f"https://<name>-{args.models_namespace}.models.{args.gateway.domain}"
            )
        self.register_outputs(
            {"models_namespace": self.models_namespace, "service_account": self.service_account}
        )

    def _chart(
        self,
        args: ServingArgs,
        name: str,
        suffix: str,
        pin: versions.ChartPin,
        values: dict[str, Any],
        after: list[pulumi.Resource],
    ) -> helm.Chart:
        return args.charts.chart(
            f"{name}-{suffix}",
            pin,
            namespace=args.namespace,
            values=values,
            opts=child(self, depends_on=after),
        )

    def _models_namespace(self, args: ServingArgs) -> core.Namespace:
        flows = [args.object_store.egress_flow(), *(s.egress_flow() for s in args.calls)]
        if args.gateway is not None:
            flows.append(
                Flow(
                    name="gateway",
                    direction="ingress",
                    ports=(MODEL_PORT,),
                    peers=(Peer.namespace(args.gateway.namespace),),
                )
            )
        return secure_namespace(
            args.models_namespace, parent=self, flows=flows, gateway_access=args.gateway is not None
        )

    @staticmethod
    def _values(args: ServingArgs) -> dict[str, Any]:
        pods = versions.chart_pods("kserve-resources")
        gateway: dict[str, Any] = {"disableIngressCreation": args.gateway is None}
        if args.gateway is not None:
            gateway.update(
                {
                    "domain": f"models.{args.gateway.domain}",
                    "urlScheme": "https",
                    "ingressGateway": {
                        "enableGatewayApi": True,
                        "kserveGateway": f"{args.gateway.namespace}/{args.gateway.name}",
                    },
                }
            )
        return {
            "kserve": {
                "controller": {
                    # `RawDeployment` is Standard's deprecated alias since v0.17.
                    "deploymentMode": "Standard",
                    "gateway": gateway,
                    "resources": pods["controller-manager"].resources(),
                    "rbacProxy": {"resources": pods["rbac-proxy"].resources()},
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                },
                # The storage initializer runs inside each InferenceService pod, which the
                # models namespace holds to Pod Security "restricted".
                "storage": {
                    "containerSecurityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                        "privileged": False,
                        "runAsNonRoot": True,
                        "runAsUser": 1000,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    }
                },
                "localmodel": {"enabled": False},
                "security": {"autoMountServiceAccountToken": False},
            }
        }
