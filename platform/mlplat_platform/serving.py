"""Serving: KServe in Standard (raw deployment) mode, reading models from the object store.

Raw deployment needs neither Knative nor Istio: an InferenceService becomes a Deployment, a
Service and, with a gateway, an HTTPRoute on the platform's Gateway (behind its
authentication). Projects run their model servers as InferenceServices with a custom V2
container under the service account made here, whose S3 secret lets KServe's storage
initializer fetch models from the registry's artefact store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.helm.v4 as helm

from mlplat_platform import versions
from mlplat_platform.consumers import MODEL_PORT
from mlplat_platform.endpoints import GatewayRef, S3Endpoint, ServiceRef
from mlplat_platform.k8s import NAMESPACES, child
from mlplat_platform.namespace import Flow, Peer, kube_api_egress, secure_namespace, webhook_ingress

__all__ = ["MODEL_PORT", "Serving", "ServingArgs"]

_WEBHOOK_PORT = 9443
_SERVICE_ACCOUNT = "mlplat-models"


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
    """

    object_store: S3Endpoint
    cert_manager: pulumi.Resource
    calls: tuple[ServiceRef, ...] = ()
    gateway: GatewayRef | None = None
    namespace: str = NAMESPACES.serving
    models_namespace: str = NAMESPACES.models


class Serving(pulumi.ComponentResource):
    """KServe controller plus a models namespace with storage credentials.

    Attributes:
        models_namespace: Where InferenceServices go.
        service_account: The service account InferenceServices should run as.
        url_template: Public URL pattern, or ``None`` when not exposed.
    """

    models_namespace: str
    service_account: str
    url_template: str | None

    def __init__(
        self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplat:index:Serving", name, None, opts)
        flows = [
            kube_api_egress(),
            webhook_ingress(_WEBHOOK_PORT),
        ]
        ns = secure_namespace(args.namespace, parent=self, flows=flows)
        crd_pin, pin = versions.KSERVE_CRD, versions.KSERVE
        crds = helm.Chart(
            f"{name}-crds",
            name=crd_pin.name,
            chart=crd_pin.chart,
            version=crd_pin.version,
            namespace=args.namespace,
            opts=child(self, depends_on=[ns]),
        )
        chart = helm.Chart(
            f"{name}-chart",
            name=pin.name,
            chart=pin.chart,
            version=pin.version,
            namespace=args.namespace,
            values=self._values(args),
            opts=child(self, depends_on=[ns, crds, args.cert_manager]),
        )
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
            "mlplat-s3",
            args.models_namespace,
            parent=self,
            annotations=annotations,
            depends_on=[models_ns],
        )
        core.ServiceAccount(
            f"{name}-models-sa",
            metadata={"name": _SERVICE_ACCOUNT, "namespace": args.models_namespace},
            secrets=[{"name": "mlplat-s3"}],
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
        pods = versions.chart_pods("kserve")
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
                    "deploymentMode": "RawDeployment",
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
