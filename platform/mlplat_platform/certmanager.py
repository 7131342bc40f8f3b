"""cert-manager: certificates for KServe's webhooks, Envoy Gateway's control plane and TLS.

The chart comes from its OCI registry (``oci://quay.io/jetstack/charts/cert-manager``, or the
config's chart mirror) and installs its own CRDs (``crds.enabled``); its startup-check Job is a
Helm hook, which ``helm.v4.Chart`` drops, so it is switched off rather than silently missing.

With the gateway deployed, cert-manager's Gateway API support is switched on: without it
v1.21.1 refuses every HTTP-01 solver of kind ``gatewayHTTPRoute`` ("gateway api is not
enabled": cert-manager/cert-manager@v1.21.1:pkg/issuer/acme/http/http.go; off by default in
internal/apis/config/controller/v1alpha1/defaults.go). The chart takes it as the controller's
configuration file (``config.gatewayAPI.enabled``, templates/controller-config.yaml), and the
controller then exits at start-up while the Gateway API CRDs are missing (pkg/controller/
context.go), so the chart waits for the resource that installs them (``gateway_api``).

With an ACME ClusterIssuer (``cluster_issuer``) the controller talks to the world: the ACME
server and DNS providers' APIs over 443, its HTTP-01 self-check to the public host name on
port 80, and its DNS-01 propagation check to the zone's authoritative name servers on port 53
(not only the cluster's resolver). The namespace's flows open exactly those for the
controller's pods, only when a ClusterIssuer is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes.helm.v4 as helm

from mlplat_platform import versions
from mlplat_platform.charts import ChartSource
from mlplat_platform.k8s import NAMESPACES, child
from mlplat_platform.namespace import (
    ANYWHERE,
    Flow,
    kube_api_egress,
    secure_namespace,
    webhook_ingress,
)

__all__ = ["CertManager", "CertManagerArgs"]

_WEBHOOK_PORT = 10250
_CONTROLLER = {"app.kubernetes.io/component": "controller"}


@dataclass(frozen=True, kw_only=True)
class CertManagerArgs:
    """Inputs of `CertManager`.

    Attributes:
        namespace: Where cert-manager runs.
        replicas: Controller and webhook replicas.
        acme: Open the ACME flows (a ClusterIssuer is configured, which may be ACME).
        gateway_api: What installs the Gateway API CRDs (the Envoy Gateway chart); given,
            Gateway API support is on and the chart is installed after it.
        charts: Where the chart comes from.
    """

    namespace: str = NAMESPACES.cert_manager
    replicas: int = 1
    acme: bool = False
    gateway_api: pulumi.Resource | None = None
    charts: ChartSource = ChartSource()


class CertManager(pulumi.ComponentResource):
    """cert-manager from its chart, in a restricted namespace.

    Attributes:
        chart: The chart resource; depend on it before creating Certificates or Issuers.
        namespace: The namespace it runs in.
    """

    chart: helm.Chart
    namespace: str

    def __init__(
        self, name: str, args: CertManagerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplat:index:CertManager", name, None, opts)
        flows = [
            kube_api_egress(),
            # The API server calls the webhook; its source address is not selectable.
            webhook_ingress(_WEBHOOK_PORT, {"app.kubernetes.io/component": "webhook"}),
        ]
        if args.acme:
            flows += [
                Flow(
                    name="acme",
                    direction="egress",
                    ports=(80, 443),
                    peers=ANYWHERE,
                    pod_labels=_CONTROLLER,
                ),
                Flow(
                    name="dns01-check",
                    direction="egress",
                    ports=(53,),
                    udp_ports=(53,),
                    peers=ANYWHERE,
                    pod_labels=_CONTROLLER,
                ),
            ]
        ns = secure_namespace(args.namespace, parent=self, flows=flows)
        pods = versions.chart_pods("cert-manager")
        security = {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containerSecurityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
        }
        values: dict[str, Any] = {
            "crds": {"enabled": True, "keep": True},
            "replicaCount": args.replicas,
            "resources": pods["controller"].resources(),
            "webhook": {
                "replicaCount": args.replicas,
                "resources": pods["webhook"].resources(),
                "securePort": _WEBHOOK_PORT,
                "podDisruptionBudget": {"enabled": args.replicas > 1},
                **security,
            },
            "cainjector": {"resources": pods["cainjector"].resources(), **security},
            "startupapicheck": {"enabled": False},
            "prometheus": {"enabled": False},
            "podDisruptionBudget": {"enabled": args.replicas > 1},
            **security,
        }
        after: list[pulumi.Resource] = [ns]
        if args.gateway_api is not None:
            values["config"] = {
                "apiVersion": "controller.config.cert-manager.io/v1alpha1",
                "kind": "ControllerConfiguration",
                "gatewayAPI": {"enabled": True},
            }
            after.append(args.gateway_api)
        self.namespace = args.namespace
        self.chart = args.charts.chart(
            f"{name}-chart",
            versions.CERT_MANAGER,
            namespace=args.namespace,
            values=values,
            opts=child(self, depends_on=after),
        )
        self.register_outputs({"namespace": self.namespace})
