"""Pipelines: Argo Workflows, with its CRDs applied by us and artefacts in the object store.

Chart 1.0.18 has two CRD modes (argoproj/argo-helm@argo-workflows-1.0.18:charts/argo-workflows/
values.yaml ``crds.*``, templates/crds.yaml, templates/crds-install-job.yaml): by default
(``crds.full: true``) a pre-install Helm hook Job downloads the full CRDs from GitHub, which
``helm.v4.Chart`` would drop and an offline cluster could not do; with ``crds.full: false`` it
renders the "minimal" CRDs from files/crds/minimal/ as ordinary templates, kept on uninstall
(``helm.sh/resource-policy: keep``, which pulumi-kubernetes turns into retain-on-delete).
This component keeps the chart's CRD handling off (``crds.install: false``) and applies the
same minimal shapes itself (`ARGO_CRDS`, compared with the chart's files by the tests): as
their own resources they are visible to ``mlplat render`` and its policy checks, the chart
(whose controller watches them) is ordered after them explicitly, and they are retained on
delete regardless of the chart's annotation. The server runs in ``client`` auth mode, never
``server`` (which would act with the server's own service account for anyone who can reach it).
Its accounts (the UI login, the monitor CronWorkflows' identity) are in `argo_accounts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes.apiextensions as apiextensions
import yaml

from mlplat_platform import versions
from mlplat_platform.argo_accounts import MONITOR_ACCOUNT, UI_ACCOUNT, monitor_account, ui_account
from mlplat_platform.charts import ChartSource
from mlplat_platform.consumers import ARGO_SERVER_PORT
from mlplat_platform.endpoints import GatewayRef, S3Endpoint, ServiceRef
from mlplat_platform.k8s import NAMESPACES, RUN_AS_USER, child, container_security, pod_security
from mlplat_platform.namespace import Flow, Peer, kube_api_egress, secure_namespace

__all__ = [
    "ARGO_CRDS",
    "MONITOR_ACCOUNT",
    "UI_ACCOUNT",
    "ArgoCrd",
    "Pipelines",
    "PipelinesArgs",
    "argo_crds",
    "argo_crds_yaml",
]

SERVER_PORT = ARGO_SERVER_PORT
_FULLNAME = "argo-workflows"


@dataclass(frozen=True, kw_only=True)
class ArgoCrd:
    """One Argo Workflows CRD as Argo's "minimal" manifests define it at the pinned version.

    Attributes:
        kind: The kind (``Workflow``).
        plural: Its plural, the CRD's name before ``.argoproj.io``.
        short: Short names.
        scope: ``Namespaced`` or ``Cluster``.
        status: Whether objects carry a top-level ``status``.
        status_subresource: Whether ``status`` is a subresource: the controller and the
            executors write ``/status`` for these kinds (HTTP templates' task sets, artifact
            GC tasks), which a CRD without it answers with 404.
        atomic: Whether ``spec`` (and ``status``) are ``x-kubernetes-map-type: atomic``.
    """

    kind: str
    plural: str
    short: tuple[str, ...]
    scope: str = "Namespaced"
    status: bool = False
    status_subresource: bool = False
    atomic: bool = True


#: Every Argo Workflows CRD, checked against argoproj/argo-workflows@v4.0.10
#: manifests/base/crds/minimal/ (the same shapes as the chart's files/crds/minimal/ at
#: argo-workflows-1.0.18). Where upstream's "minimal" CRD still carries a full schema
#: (event bindings, artifact GC tasks, task sets, task results) ours keeps the fields open
#: (``x-kubernetes-preserve-unknown-fields``): the controller validates what it reads.
ARGO_CRDS: tuple[ArgoCrd, ...] = (
    ArgoCrd(
        kind="ClusterWorkflowTemplate",
        plural="clusterworkflowtemplates",
        short=("clusterwftmpl", "cwft"),
        scope="Cluster",
    ),
    ArgoCrd(kind="CronWorkflow", plural="cronworkflows", short=("cwf", "cronwf"), status=True),
    ArgoCrd(
        kind="WorkflowArtifactGCTask",
        plural="workflowartifactgctasks",
        short=("wfat",),
        status=True,
        status_subresource=True,
        atomic=False,
    ),
    ArgoCrd(
        kind="WorkflowEventBinding", plural="workfloweventbindings", short=("wfeb",), atomic=False
    ),
    ArgoCrd(kind="Workflow", plural="workflows", short=("wf",), status=True),
    ArgoCrd(kind="WorkflowTaskResult", plural="workflowtaskresults", short=(), atomic=False),
    ArgoCrd(
        kind="WorkflowTaskSet",
        plural="workflowtasksets",
        short=("wfts",),
        status=True,
        status_subresource=True,
        atomic=False,
    ),
    ArgoCrd(kind="WorkflowTemplate", plural="workflowtemplates", short=("wftmpl",)),
)

#: ``kubectl get workflows`` columns, as upstream's Workflow CRD declares them.
_WORKFLOW_COLUMNS = (
    {
        "name": "Status",
        "type": "string",
        "jsonPath": ".status.phase",
        "description": "Status of the workflow",
    },
    {
        "name": "Age",
        "type": "date",
        "format": "date-time",
        "jsonPath": ".status.startedAt",
        "description": "When the workflow was started",
    },
    {
        "name": "Message",
        "type": "string",
        "jsonPath": ".status.message",
        "description": "Human readable message indicating details about why the workflow is "
        "in this condition.",
    },
)


def argo_crds_yaml() -> str:
    """Argo's CRDs as one multi-document YAML string."""
    return yaml.safe_dump_all(argo_crds(), sort_keys=True)


def _open(atomic: bool) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    if atomic:
        field["x-kubernetes-map-type"] = "atomic"
    return field


def _schema(crd: ArgoCrd) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
    }
    if crd.kind == "WorkflowTaskResult":  # a result has no spec: its fields are top-level
        properties.update(
            message={"type": "string"},
            phase={"type": "string"},
            progress={"type": "string"},
            outputs=_open(False),
        )
        return {"type": "object", "required": ["metadata"], "properties": properties}
    properties["spec"] = _open(crd.atomic)
    if crd.status:
        properties["status"] = _open(crd.atomic)
    return {"type": "object", "required": ["metadata", "spec"], "properties": properties}


def argo_crds() -> list[dict[str, Any]]:
    """Argo's CRDs as objects, with upstream's names, scopes, subresources and columns."""
    docs = []
    for crd in ARGO_CRDS:
        version: dict[str, Any] = {
            "name": "v1alpha1",
            "served": True,
            "storage": True,
            "schema": {"openAPIV3Schema": _schema(crd)},
        }
        if crd.status_subresource:
            version["subresources"] = {"status": {}}
        if crd.kind == "Workflow":
            version["additionalPrinterColumns"] = [dict(c) for c in _WORKFLOW_COLUMNS]
        names: dict[str, Any] = {
            "kind": crd.kind,
            "listKind": f"{crd.kind}List",
            "plural": crd.plural,
            "singular": crd.plural[:-1],
        }
        if crd.short:
            names["shortNames"] = list(crd.short)
        docs.append(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{crd.plural}.argoproj.io"},
                "spec": {
                    "group": "argoproj.io",
                    "scope": crd.scope,
                    "versions": [version],
                    "names": names,
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
        charts: Where the Argo Workflows chart comes from.
    """

    object_store: S3Endpoint
    replicas: int = 1
    calls: tuple[ServiceRef, ...] = ()
    gateway: GatewayRef | None = None
    after: tuple[pulumi.Resource, ...] = ()
    namespace: str = NAMESPACES.pipelines
    charts: ChartSource = ChartSource()


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
        chart = args.charts.chart(
            f"{name}-chart",
            versions.ARGO_WORKFLOWS,
            namespace=ns_name,
            values=self._values(args),
            opts=child(self, depends_on=[ns, *crds, credentials, *args.after]),
        )
        accounts = child(self, depends_on=[ns, *crds])
        ui_account(name, ns_name, accounts)
        monitor_account(name, ns_name, accounts)
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
                opts=child(self, depends_on=[chart, *args.gateway.crds]),
            )
        self.register_outputs(
            {"namespace": ns_name, "url": self.url, "token_command": self.token_command}
        )

    @staticmethod
    def _values(args: PipelinesArgs) -> dict[str, Any]:
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
                # No `workflowNamespaces`: under `singleNamespace` the chart ignores it (its
                # workflow RBAC templates range over `list ""`, the release namespace) and the
                # controller runs `--namespaced` in the release namespace.
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
