"""cert-manager: certificates for KServe's webhooks, Envoy Gateway's control plane and TLS.

The chart comes from its OCI registry (``oci://quay.io/jetstack/charts/cert-manager``) and
installs its own CRDs (``crds.enabled``); its startup-check Job is a Helm hook, which
``helm.v4.Chart`` drops, so it is switched off rather than silently missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes.helm.v4 as helm

from mlplat_platform import versions
from mlplat_platform.k8s import NAMESPACES, child
from mlplat_platform.namespace import kube_api_egress, secure_namespace, webhook_ingress

__all__ = ["CertManager", "CertManagerArgs"]

_WEBHOOK_PORT = 10250


@dataclass(frozen=True, kw_only=True)
class CertManagerArgs:
    """Inputs of `CertManager`.

    Attributes:
        namespace: Where cert-manager runs.
        replicas: Controller and webhook replicas.
    """

    namespace: str = NAMESPACES.cert_manager
    replicas: int = 1


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
