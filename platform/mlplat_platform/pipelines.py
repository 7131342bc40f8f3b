"""Pipelines: Argo Workflows, with its CRDs applied by us and artefacts in the object store.

The chart installs its full CRDs through a Helm hook Job that downloads them from GitHub;
``helm.v4.Chart`` drops hooks and the platform must not need GitHub at deploy time, so the
chart's CRD handling is off and this component applies Argo's CRDs itself (the schema-less
"minimal" form Argo ships for size reasons). The server runs in ``client`` auth mode, never
``server`` (which would act with the server's own service account for anyone who can reach it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes.apiextensions as apiextensions
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.helm.v4 as helm
import pulumi_kubernetes.rbac.v1 as rbac
import yaml

from mlplat_platform import versions
from mlplat_platform.consumers import ARGO_SERVER_PORT
from mlplat_platform.endpoints import GatewayRef, S3Endpoint, ServiceRef
from mlplat_platform.k8s import NAMESPACES, RUN_AS_USER, child, container_security, pod_security
from mlplat_platform.namespace import Flow, Peer, kube_api_egress, secure_namespace

__all__ = [
    "ARGO_CRDS",
    "UI_ACCOUNT",
    "Pipelines",
    "PipelinesArgs",
    "argo_crds",
    "argo_crds_yaml",
]

SERVER_PORT = ARGO_SERVER_PORT
#: The service account whose token logs people in to the Argo UI.
UI_ACCOUNT = "argo-ui"
_FULLNAME = "argo-workflows"

#: (kind, plural, short names, scope) of every Argo Workflows CRD.
ARGO_CRDS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("ClusterWorkflowTemplate", "clusterworkflowtemplates", ("clusterwftmpl", "cwft"), "Cluster"),
    ("CronWorkflow", "cronworkflows", ("cwf", "cronwf"), "Namespaced"),
    ("Workflow", "workflows", ("wf",), "Namespaced"),
    ("WorkflowArtifactGCTask", "workflowartifactgctasks", ("wfat",), "Namespaced"),
    ("WorkflowEventBinding", "workfloweventbindings", ("wfeb",), "Namespaced"),
    ("WorkflowTaskResult", "workflowtaskresults", ("wftr",), "Namespaced"),
    ("WorkflowTaskSet", "workflowtasksets", ("wfts",), "Namespaced"),
    ("WorkflowTemplate", "workflowtemplates", ("wftmpl",), "Namespaced"),
)


def argo_crds_yaml() -> str:
    """Argo's CRDs as one multi-document YAML string, schema-less (preserve unknown fields)."""
    return yaml.safe_dump_all(argo_crds(), sort_keys=True)


def argo_crds() -> list[dict[str, Any]]:
    """Argo's CRDs as objects, schema-less (preserve unknown fields)."""
    docs = []
    for kind, plural, short, scope in ARGO_CRDS:
        schema: dict[str, Any] = {
            "type": "object",
            "required": ["metadata", "spec"],
            "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        }
        if kind == "WorkflowTaskResult":  # results carry no spec, only top-level fields
            schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        version = {
            "name": "v1alpha1",
            "served": True,
            "storage": True,
            "schema": {"openAPIV3Schema": schema},
        }
        docs.append(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{plural}.argoproj.io"},
                "spec": {
                    "group": "argoproj.io",
                    "scope": scope,
                    "versions": [version],
                    "names": {
                        "kind": kind,
                        "listKind": f"{kind}List",
                        "plural": plural,
                        "singular": plural[:-1],
                        "shortNames": list(short),
                    },
                },
            }
        )
    return docs


@dataclass(frozen=True, kw_only=True)
class PipelinesArgs:
    """Inputs of `Pipelines`.

    Attributes:
        object_store: The artefact repository (``s3://<bucket>/argo/...``).
        replicas: Controller and server replicas.
        calls: The platform services workflow pods may call (MLflow, the feature server).
        gateway: Publish ``argo.<domain>`` on this gateway; ``None`` keeps it internal.
        after: Resources that must exist first (the bucket Job).
        namespace: Where the controller, the server and the workflows run.
    """

    object_store: S3Endpoint
    replicas: int = 1
    calls: tuple[ServiceRef, ...] = ()
    gateway: GatewayRef | None = None
    after: tuple[pulumi.Resource, ...] = ()
    namespace: str = NAMESPACES.pipelines


class Pipelines(pulumi.ComponentResource):
    """Argo Workflows limited to one namespace, with an S3 artefact repository.

    Attributes:
        namespace: Where workflows are submitted.
        url: Public URL of the Argo UI, or ``None`` when not exposed.
        port_forward: The command that reaches the UI without a gateway.
        token_command: The command that prints a login token for the UI.
    """

    namespace: str
    url: str | None
    port_forward: str
    token_command: str

    def __init__(
        self, name: str, args: PipelinesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplat:index:Pipelines", name, None, opts)
        ns_name = args.namespace
        s3 = args.object_store
        server_peers = [Peer.same_namespace()]
        if args.gateway is not None:
            server_peers.append(Peer.namespace(args.gateway.namespace))
        flows = [
            kube_api_egress(),
            Flow(
                name="server",
                direction="ingress",
                ports=(SERVER_PORT,),
                peers=tuple(server_peers),
                pod_labels={"app.kubernetes.io/component": "server"},
            ),
            Flow(
                name="server-client",
                direction="egress",
                ports=(SERVER_PORT,),
                peers=(Peer.same_namespace(),),
            ),
            s3.egress_flow(),
            *(service.egress_flow() for service in args.calls),
        ]
        ns = secure_namespace(
            ns_name, parent=self, flows=flows, gateway_access=args.gateway is not None
        )
        # Deleting a CRD deletes every object of its kind: `mlplat down` must never take the
        # teams' workflows, templates and cron schedules with it, so the CRDs stay.
        crds = [
            apiextensions.v1.CustomResourceDefinition(
                f"{name}-crd-{doc['spec']['names']['plural']}",
                metadata=doc["metadata"],
                spec=doc["spec"],
                opts=child(self, retain_on_delete=True),
            )
            for doc in argo_crds()
        ]
        credentials = s3.credentials_secret("argo-s3", ns_name, parent=self, depends_on=[ns])
        pin = versions.ARGO_WORKFLOWS
        chart = helm.Chart(
            f"{name}-chart",
            name=pin.name,
            chart=pin.chart,
            version=pin.version,
            namespace=ns_name,
            repository_opts={"repo": pin.repo},
            values=self._values(args, ns_name),
            opts=child(self, depends_on=[ns, *crds, credentials, *args.after]),
        )
        self._ui_account(name, ns_name, child(self, depends_on=[ns, *crds]))
        self.namespace = ns_name
        self.token_command = f"kubectl -n {ns_name} create token {UI_ACCOUNT}"
        self.port_forward = (
            f"kubectl -n {ns_name} port-forward svc/{_FULLNAME}-server {SERVER_PORT}:{SERVER_PORT}"
        )
        self.url = None
        if args.gateway is not None:
            self.url = f"https://{args.gateway.host('argo')}"
            apiextensions.CustomResource(
                f"{name}-route",
                api_version="gateway.networking.k8s.io/v1",
                kind="HTTPRoute",
                metadata={"name": "argo", "namespace": ns_name},
                spec={
                    "parentRefs": [args.gateway.parent_ref()],
                    "hostnames": [args.gateway.host("argo")],
                    "rules": [
                        {
                            "backendRefs": [{"name": f"{_FULLNAME}-server", "port": SERVER_PORT}],
                            # The gateway's basic auth has consumed this header; Argo (client
                            # mode) would read it as its own token, so the UI's token cookie
                            # must be what reaches the server.
                            "filters": [args.gateway.strip_credentials()],
                        }
                    ],
                },
                opts=child(self, depends_on=[chart]),
            )
        self.register_outputs(
            {"namespace": ns_name, "url": self.url, "token_command": self.token_command}
        )

    @staticmethod
    def _ui_account(name: str, ns: str, opts: pulumi.ResourceOptions) -> None:
        """The identity people log in to the Argo UI with (client mode asks for a token).

        Read-mostly and namespaced: watch and submit workflows, read templates and step logs;
        no update or delete. ``kubectl create token`` issues a short-lived token for it.
        """
        read = ["get", "list", "watch"]
        core.ServiceAccount(
            f"{name}-ui-sa",
            metadata={"name": UI_ACCOUNT, "namespace": ns},
            automount_service_account_token=False,
            opts=opts,
        )
        rbac.Role(
            f"{name}-ui-role",
            metadata={"name": UI_ACCOUNT, "namespace": ns},
            rules=[
                {
                    "apiGroups": ["argoproj.io"],
                    "resources": ["workflows"],
                    "verbs": [*read, "create"],
                },
                {
                    "apiGroups": ["argoproj.io"],
                    "resources": ["workflowtemplates", "cronworkflows", "workfloweventbindings"],
                    "verbs": read,
                },
                {"apiGroups": [""], "resources": ["pods", "pods/log", "events"], "verbs": read},
            ],
            opts=opts,
        )
        rbac.RoleBinding(
            f"{name}-ui-binding",
            metadata={"name": UI_ACCOUNT, "namespace": ns},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": UI_ACCOUNT},
            subjects=[{"kind": "ServiceAccount", "name": UI_ACCOUNT, "namespace": ns}],
            opts=opts,
        )

    @staticmethod
    def _values(args: PipelinesArgs, ns: str) -> dict[str, Any]:
        s3 = args.object_store
        pods = versions.chart_pods("argo-workflows")
        restricted = container_security()
        workflow_pod_security = pod_security()
        chart_pod_security = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        pdb = {"enabled": True, "minAvailable": 1} if args.replicas > 1 else {"enabled": False}
        return {
            "fullnameOverride": _FULLNAME,
            "crds": {"install": False},
            "singleNamespace": True,
            # The chart's appVersion is v4.0.6; run the newest patch release of that line.
            "images": {"pullPolicy": "Always", "tag": versions.ARGO_WORKFLOWS.app_version},
            "workflow": {
                "serviceAccount": {"create": True, "name": "argo-workflow"},
                "rbac": {"create": True},
            },
            "controller": {
                "replicas": args.replicas,
                "podSecurityContext": chart_pod_security,
                "securityContext": restricted,
                "pdb": pdb,
                "workflowNamespaces": [ns],
                "resources": pods["workflow-controller"].resources(),
                "workflowDefaults": {
                    "spec": {
                        "serviceAccountName": "argo-workflow",
                        "securityContext": workflow_pod_security,
                        "podGC": {"strategy": "OnPodSuccess"},
                        "ttlStrategy": {"secondsAfterCompletion": 7 * 24 * 3600},
                    }
                },
            },
            # Workflow pods run in this namespace under Pod Security "restricted": the pod
            # context above is not enough, every container needs its own. The controller
            # merges these defaults into each step's main container and into the executor's
            # init and wait containers; a step may still override them in its template.
            "mainContainer": {
                "securityContext": restricted,
                "resources": {
                    "requests": {"cpu": "100m", "memory": "256Mi"},
                    "limits": {"cpu": "1", "memory": "1Gi"},
                },
            },
            "executor": {
                "resources": {
                    "requests": {"cpu": "10m", "memory": "64Mi"},
                    "limits": {"cpu": "500m", "memory": "256Mi"},
                },
                "securityContext": restricted,
            },
            "server": {
                "replicas": args.replicas,
                "podSecurityContext": chart_pod_security,
                "pdb": pdb,
                "authModes": ["client"],
                "secure": False,
                "resources": pods["argo-server"].resources(),
                "securityContext": {**restricted, "runAsUser": RUN_AS_USER},
            },
            "useStaticCredentials": True,
            "artifactRepository": {
                "archiveLogs": True,
                "s3": {
                    "endpoint": s3.host,
                    "bucket": s3.bucket,
                    "region": s3.region,
                    "insecure": s3.insecure,
                    "keyFormat": "argo/{{workflow.namespace}}/{{workflow.name}}/{{pod.name}}",
                    "accessKeySecret": {"name": "argo-s3", "key": "AWS_ACCESS_KEY_ID"},
                    "secretKeySecret": {"name": "argo-s3", "key": "AWS_SECRET_ACCESS_KEY"},
                },
            },
        }
