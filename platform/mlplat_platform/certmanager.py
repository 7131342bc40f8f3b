"""cert-manager: certificates for KServe's webhooks, Envoy Gateway's control plane and TLS.

The chart comes from its OCI registry (``oci://quay.io/jetstack/charts/cert-manager``) and
installs its own CRDs (``crds.enabled``); its startup-check Job is a Helm hook, which
``helm.v4.Chart`` drops, so it is switched off rather than silently missing.

With an ACME ClusterIssuer (``cluster_issuer``) the controller talks to the world: the ACME
server and DNS providers' APIs over 443, its HTTP-01 self-check to the public host name on
port 80, and its DNS-01 propagation check to the zone's authoritative name servers on port 53
(not only the cluster's resolver). The namespace's flows open exactly those for the
controller's pods, only when a ClusterIssuer is configured.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes.helm.v4 as helm

from mlplat_platform import versions
from mlplat_platform.k8s import NAMESPACES, child
from mlplat_platform.namespace import Flow, Peer, kube_api_egress, secure_namespace, webhook_ingress

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
    """

    namespace: str = NAMESPACES.cert_manager
    replicas: int = 1
    acme: bool = False


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
                    peers=(Peer.anywhere(),),
                    pod_labels=_CONTROLLER,
                ),
                Flow(
                    name="dns01-check",
                    direction="egress",
                    ports=(53,),
                    udp_ports=(53,),
                    peers=(Peer.anywhere(),),
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
        values = {
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
        pin = versions.CERT_MANAGER
        self.namespace = args.namespace
        self.chart = helm.Chart(
            f"{name}-chart",
            name=pin.name,
            chart=pin.chart,
            version=pin.version,
            namespace=args.namespace,
            values=values,
            opts=child(self, depends_on=[ns]),
        )
        self.register_outputs({"namespace": self.namespace})
