"""The gateway: Envoy Gateway implementing Gateway API, with authentication on every route.

ingress-nginx is retired, so the platform's one way in is a Gateway API `Gateway` served by
Envoy Gateway. Everything behind it is authenticated at the gateway: basic auth with a
generated password (stored only as a Pulumi secret and an htpasswd hash), or OIDC when
configured. HTTP only redirects to HTTPS.

Envoy Gateway's chart creates its control-plane certificates in a Helm hook Job (certgen);
``helm.v4.Chart`` drops hooks, so cert-manager issues the same secrets
(`mlplat_platform.gatewaycerts.GatewayCertificates`, with the listener's TLS certificate).

The order on a fresh cluster is forced by two upstream facts. The Envoy Gateway chart brings
the Gateway API CRDs, and cert-manager v1.21.1 with Gateway API support on (needed by the
HTTP-01 solver through this gateway) exits at start-up until they exist
(cert-manager/cert-manager@v1.21.1:pkg/controller/context.go). So this chart goes first and
cert-manager waits for it; the certificates come after cert-manager. The Envoy Gateway
Deployment cannot become ready before its certificate secret exists, so Pulumi is told not to
await it or its Service (``pulumi.com/skipAwait``), which would otherwise deadlock the three;
its pod starts as soon as cert-manager has written the secrets. Nothing here needs the
controller running: the API server accepts the EnvoyProxy, GatewayClass, Gateway and policies
before it, and Envoy Gateway reconciles them when it starts.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes.apiextensions as apiextensions
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.helm.v4 as helm
import pulumi_random as random

from mlplat_platform import versions
from mlplat_platform.charts import ChartSource
from mlplat_platform.config import Oidc
from mlplat_platform.endpoints import GatewayRef
from mlplat_platform.k8s import NAMESPACES, child
from mlplat_platform.namespace import (
    ANYWHERE,
    GATEWAY_ACCESS_LABEL,
    Flow,
    Peer,
    kube_api_egress,
    secure_namespace,
)

__all__ = [
    "ACME_SOLVER_LABEL",
    "ACME_SOLVER_PORT",
    "Backend",
    "Gateway",
    "GatewayArgs",
    "htpasswd_line",
]

_XDS_PORT = 18000
#: cert-manager's HTTP-01 solver pods listen here (pkg/issuer/acme/http/http.go) and carry
#: this label (pkg/apis/acme/v1/types.go); they run in the Certificate's namespace, this one.
ACME_SOLVER_PORT = 8089
ACME_SOLVER_LABEL = {"acme.cert-manager.io/http01-solver": "true"}
#: A writable /tmp for both proxy containers under a read-only root filesystem.
_TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}
_GATEWAY = "mlplat"
_HTTPS = "https"
_EG = "gateway.envoyproxy.io/v1alpha1"
_GW = "gateway.networking.k8s.io/v1"


@dataclass(frozen=True, kw_only=True)
class Backend:
    """A namespace and pod port the proxies may forward to."""

    namespace: str
    port: int


@dataclass(frozen=True, kw_only=True)
class GatewayArgs:
    """Inputs of `Gateway`.

    Attributes:
        domain: Base domain; apps serve at ``<app>.<domain>``.
        backends: Where the proxies may forward traffic (network policy egress).
        username: Basic-auth user name.
        oidc: OIDC settings; replaces basic auth when set.
        oidc_client_secret: The OIDC client secret (required with ``oidc``).
        cluster_issuer: ClusterIssuer for the public certificate; ``None`` self-signs.
        service_type: Service type of the proxy.
        replicas: Proxy and controller replicas.
        disruption_budget: Add a PodDisruptionBudget to the proxies.
        namespace: Where Envoy Gateway and its proxies run.
        charts: Where the Envoy Gateway chart comes from.
    """

    domain: str
    backends: tuple[Backend, ...] = ()
    username: str = "mlplat"
    oidc: Oidc | None = None
    oidc_client_secret: pulumi.Output[str] | None = None
    cluster_issuer: str | None = None
    service_type: str = "LoadBalancer"
    replicas: int = 1
    disruption_budget: bool = False
    namespace: str = NAMESPACES.gateway
    charts: ChartSource = ChartSource()


def htpasswd_line(user: str, password: str) -> str:
    """One htpasswd line in the ``{SHA}`` format, the only one Envoy's basic auth accepts."""
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()  # noqa: S324
    return f"{user}:{{SHA}}{digest}"


class Gateway(pulumi.ComponentResource):
    """Envoy Gateway, a Gateway with TLS, and a SecurityPolicy on its HTTPS listener.

    Attributes:
        ref: What routes attach to (with the chart that installs the Gateway API CRDs).
        chart: The Envoy Gateway chart: the Gateway API and Envoy Gateway CRDs come with it.
        namespace: Where Envoy Gateway, its proxies and their certificates live.
        password: The basic-auth password (secret), or ``None`` with OIDC.
        username: The basic-auth user name.
    """

    ref: GatewayRef
    chart: helm.Chart
    namespace: str
    password: pulumi.Output[str] | None
    username: str

    def __init__(
        self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplat:index:Gateway", name, None, opts)
        ns_name = args.namespace
        flows = [
            kube_api_egress(),
            Flow(
                name="xds", direction="ingress", ports=(_XDS_PORT,), peers=(Peer.same_namespace(),)
            ),
            Flow(
                name="xds-client",
                direction="egress",
                ports=(_XDS_PORT,),
                peers=(Peer.same_namespace(),),
            ),
            # Envoy listens on 10080/10443 for the Gateway's 80/443; clients come from anywhere.
            Flow(name="public", direction="ingress", ports=(10080, 10443), peers=ANYWHERE),
            *(
                Flow(
                    name=f"backend-{b.namespace}",
                    direction="egress",
                    ports=(b.port,),
                    peers=(Peer.namespace(b.namespace),),
                )
                for b in args.backends
            ),
        ]
        if args.cluster_issuer:
            # An ACME issuer's HTTP-01 challenge reaches the solver pod cert-manager starts
            # here, through the proxies (its HTTPRoute attaches to the HTTP listener).
            flows += [
                Flow(
                    name="acme-solver",
                    direction="ingress",
                    ports=(ACME_SOLVER_PORT,),
                    peers=(Peer.same_namespace(),),
                    pod_labels=ACME_SOLVER_LABEL,
                ),
                Flow(
                    name="acme-solver-client",
                    direction="egress",
                    ports=(ACME_SOLVER_PORT,),
                    peers=(Peer.same_namespace(),),
                ),
            ]
        ns = secure_namespace(ns_name, parent=self, flows=flows)
        chart = self._chart(name, args, [ns])
        self.chart = chart
        self.namespace = ns_name
        self._oidc_hmac(name, ns_name, child(self, depends_on=[ns]))
        after_chart = child(self, depends_on=[chart])
        proxy = self._envoy_proxy(name, args, after_chart)
        apiextensions.CustomResource(
            f"{name}-class",
            api_version=_GW,
            kind="GatewayClass",
            metadata={"name": _GATEWAY},
            spec={
                "controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                "parametersRef": {
                    "group": "gateway.envoyproxy.io",
                    "kind": "EnvoyProxy",
                    "name": _GATEWAY,
                    "namespace": ns_name,
                },
            },
            opts=child(self, depends_on=[chart, proxy]),
        )
        # The listener's certificate secret may arrive later (GatewayCertificates, after
        # cert-manager): the API server accepts the Gateway, Envoy Gateway waits for the secret.
        gateway = self._gateway(name, args, [chart])
        self.ref = GatewayRef(
            name=_GATEWAY, namespace=ns_name, domain=args.domain, section=_HTTPS, crds=(chart,)
        )
        self._redirect(name, ns_name, child(self, depends_on=[gateway]))
        self.username = args.username
        self.password = self._auth(name, args, child(self, depends_on=[gateway]))
        self._strip_credentials(name, args.namespace, child(self, depends_on=[gateway]))
        self.register_outputs({"gateway": _GATEWAY, "domain": args.domain})

    def _chart(self, name: str, args: GatewayArgs, after: list[pulumi.Resource]) -> helm.Chart:
        pod = versions.chart_pods("envoy-gateway")["envoy-gateway"]
        # Not awaited: its certificate comes from cert-manager, which waits for this chart's
        # CRDs (see the module doc).
        no_await = {"pulumi.com/skipAwait": "true"}
        values = {
            # `eg.image.pullPolicy` (templates/_helpers.tpl) is `default
            # deployment.envoyGateway.imagePullPolicy global.images.envoyGateway.pullPolicy`:
            # the global value, IfNotPresent in values.yaml, wins, so the policy is set there.
            "global": {"images": {"envoyGateway": {"pullPolicy": "Always"}}},
            "deployment": {
                "replicas": args.replicas,
                "annotations": no_await,
                "envoyGateway": {"resources": pod.resources()},
            },
            "service": {"annotations": no_await},
            "podDisruptionBudget": {"minAvailable": 1 if args.disruption_budget else 0},
            # Its mutating webhook is a Helm hook, which helm.v4.Chart drops: switch the
            # injector off (config `proxyTopologyInjector.disabled`) instead of half-running it.
            "topologyInjector": {"enabled": False},
            "config": {
                "envoyGateway": {
                    "gateway": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"},
                    "provider": {"type": "Kubernetes"},
                    "logging": {"level": {"default": "info"}},
                    # For the one EnvoyPatchPolicy that strips credentials (`_strip_credentials`).
                    "extensionApis": {"enableEnvoyPatchPolicy": True},
                }
            },
        }
        return args.charts.chart(
            f"{name}-envoy-gateway",
            versions.ENVOY_GATEWAY,
            namespace=args.namespace,
            values=values,
            opts=child(self, depends_on=after),
        )

    @staticmethod
    def _oidc_hmac(name: str, ns: str, opts: pulumi.ResourceOptions) -> None:
        """The HMAC key Envoy Gateway signs OIDC cookies with (certgen's ``envoy-oidc-hmac``)."""
        hmac = random.RandomPassword(
            f"{name}-oidc-hmac",
            length=32,
            special=False,
            opts=pulumi.ResourceOptions(parent=opts.parent),
        )
        core.Secret(
            f"{name}-oidc-hmac-secret",
            metadata={"name": "envoy-oidc-hmac", "namespace": ns},
            type="Opaque",
            string_data={"hmac-secret": pulumi.Output.secret(hmac.result)},
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"])
            ),
        )

    def _envoy_proxy(
        self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions
    ) -> pulumi.Resource:
        """The proxies' EnvoyProxy: restricted, read-only root, a writable /tmp for both containers.

        Envoy Gateway applies the container securityContext set here to the envoy container
        and to the shutdown-manager beside it (proxy/resource.go). The shutdown-manager
        writes ``/tmp/shutdown-ready`` when draining ends; on a read-only root without a
        writable /tmp every proxy shutdown would wait out the whole ready timeout. Only the
        envoy container takes ``volumeMounts`` from the typed fields, so the
        shutdown-manager gets its mount (and requests and limits, which it otherwise lacks)
        through the deployment's strategic-merge patch, keyed by its container name.
        """
        pods = versions.chart_pods("envoy-gateway")
        kubernetes: dict[str, Any] = {
            "envoyDeployment": {
                "replicas": args.replicas,
                "container": {
                    "resources": pods["envoy-proxy"].resources(),
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "privileged": False,
                        "readOnlyRootFilesystem": True,
                        "runAsNonRoot": True,
                        # Envoy Gateway's default proxy user; the image itself runs as root.
                        "runAsUser": 65532,
                        "runAsGroup": 65532,
                        "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "volumeMounts": [_TMP_MOUNT],
                },
                "pod": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
                "patch": {
                    "type": "StrategicMerge",
                    "value": {
                        "spec": {
                            "template": {
                                "spec": {
                                    "containers": [
                                        {
                                            "name": "shutdown-manager",
                                            "volumeMounts": [_TMP_MOUNT],
                                            "resources": pods["shutdown-manager"].resources(),
                                        }
                                    ]
                                }
                            }
                        }
                    },
                },
            },
            "envoyService": {"type": args.service_type},
        }
        if args.disruption_budget:
            kubernetes["envoyPDB"] = {"minAvailable": 1}
        resource: pulumi.Resource = apiextensions.CustomResource(
            f"{name}-proxy",
            api_version=_EG,
            kind="EnvoyProxy",
            metadata={"name": _GATEWAY, "namespace": args.namespace},
            spec={"provider": {"type": "Kubernetes", "kubernetes": kubernetes}},
            opts=opts,
        )
        return resource

    def _gateway(
        self, name: str, args: GatewayArgs, after: list[pulumi.Resource]
    ) -> pulumi.Resource:
        routes = {
            "namespaces": {
                "from": "Selector",
                "selector": {"matchLabels": {GATEWAY_ACCESS_LABEL: "true"}},
            }
        }
        resource: pulumi.Resource = apiextensions.CustomResource(
            f"{name}-gateway",
            api_version=_GW,
            kind="Gateway",
            metadata={"name": _GATEWAY, "namespace": args.namespace},
            spec={
                "gatewayClassName": _GATEWAY,
                "listeners": [
                    {
                        "name": "http",
                        "protocol": "HTTP",
                        "port": 80,
                        "allowedRoutes": {"namespaces": {"from": "Same"}},
                    },
                    {
                        "name": _HTTPS,
                        "protocol": "HTTPS",
                        "port": 443,
                        "hostname": f"*.{args.domain}",
                        "tls": {
                            "mode": "Terminate",
                            "certificateRefs": [{"kind": "Secret", "name": "mlplat-gateway-tls"}],
                        },
                        "allowedRoutes": routes,
                    },
                ],
            },
            opts=child(self, depends_on=after),
        )
        return resource

    def _redirect(self, name: str, ns: str, opts: pulumi.ResourceOptions) -> None:
        apiextensions.CustomResource(
            f"{name}-https-redirect",
            api_version=_GW,
            kind="HTTPRoute",
            metadata={"name": "https-redirect", "namespace": ns},
            spec={
                "parentRefs": [{"name": _GATEWAY, "sectionName": "http"}],
                "rules": [
                    {
                        "filters": [
                            {
                                "type": "RequestRedirect",
                                "requestRedirect": {"scheme": "https", "statusCode": 301},
                            }
                        ]
                    }
                ],
            },
            opts=opts,
        )

    def _strip_credentials(self, name: str, ns: str, opts: pulumi.ResourceOptions) -> None:
        """Drop ``Authorization`` on every route of the HTTPS listener, after authentication.

        Routes we own remove it with an HTTPRoute filter, but KServe creates the inference
        routes and they carry no such filter. Gateway API has no listener-wide header filter,
        so this patches the listener's Envoy route table (named ``<ns>/<gateway>/<listener>``
        by Envoy Gateway): ``request_headers_to_remove`` acts when the request is forwarded,
        after the basic-auth filter has checked the header.
        """
        apiextensions.CustomResource(
            f"{name}-strip-credentials",
            api_version=_EG,
            kind="EnvoyPatchPolicy",
            metadata={"name": "mlplat-strip-credentials", "namespace": ns},
            spec={
                "targetRef": {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": _GATEWAY,
                },
                "type": "JSONPatch",
                "jsonPatches": [
                    {
                        "type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
                        "name": f"{ns}/{_GATEWAY}/{_HTTPS}",
                        "operation": {
                            "op": "add",
                            "path": "/request_headers_to_remove",
                            "value": ["authorization"],
                        },
                    }
                ],
            },
            opts=opts,
        )

    def _auth(
        self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions
    ) -> pulumi.Output[str] | None:
        """A SecurityPolicy on the Gateway's HTTPS listener: every route there needs a login.

        Only the HTTPS listener: on the HTTP listener a basic-auth challenge would have the
        browser send the password in clear text before the redirect to HTTPS. The HTTP
        listener admits only the redirect route from the gateway's own namespace.
        """
        secret_opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=["data", "stringData"])
        )
        target = {
            "targetRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": _GATEWAY,
                    "sectionName": _HTTPS,
                }
            ]
        }
        password: pulumi.Output[str] | None = None
        if args.oidc is not None:
            if args.oidc_client_secret is None:
                raise ValueError("oidc_client_secret is required with oidc")
            secret = core.Secret(
                f"{name}-oidc-client",
                metadata={"name": "mlplat-oidc-client", "namespace": args.namespace},
                type="Opaque",
                string_data={"client-secret": args.oidc_client_secret},
                opts=secret_opts,
            )
            spec = {
                **target,
                "oidc": {
                    "provider": {"issuer": args.oidc.issuer},
                    "clientID": args.oidc.client_id,
                    "clientSecret": {"name": "mlplat-oidc-client"},
                    "cookieDomain": args.domain,
                    "scopes": ["openid", "email", "profile"],
                },
            }
        else:
            generated = random.RandomPassword(
                f"{name}-password", length=24, special=False, opts=child(self)
            )
            password = pulumi.Output.secret(generated.result)
            htpasswd = password.apply(lambda pw: htpasswd_line(args.username, pw) + "\n")
            secret = core.Secret(
                f"{name}-htpasswd",
                metadata={"name": "mlplat-basic-auth", "namespace": args.namespace},
                type="Opaque",
                string_data={".htpasswd": htpasswd},  # secret: derived from the password
                opts=secret_opts,
            )
            spec = {**target, "basicAuth": {"users": {"name": "mlplat-basic-auth"}}}
        apiextensions.CustomResource(
            f"{name}-auth",
            api_version=_EG,
            kind="SecurityPolicy",
            metadata={"name": "mlplat-auth", "namespace": args.namespace},
            spec=spec,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[secret])),
        )
        return password
