"""Each component under Pulumi's mock runtime: inputs, wiring, secrets and protection."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest
import yaml
from platform_helpers import Run, is_secret

from mlplat_platform import versions
from mlplat_platform.certmanager import CertManager, CertManagerArgs
from mlplat_platform.consumers import CONSUMERS
from mlplat_platform.database import Database, DatabaseArgs, DatabaseUser
from mlplat_platform.endpoints import DatabaseEndpoint, GatewayRef, S3Endpoint, ServiceRef
from mlplat_platform.gateway import Backend, Gateway, GatewayArgs, htpasswd_line
from mlplat_platform.gatewaycerts import GatewayCertificates, GatewayCertificatesArgs
from mlplat_platform.objectstore import ObjectStore, ObjectStoreArgs, S3Identity
from mlplat_platform.pipelines import ARGO_CRDS, Pipelines, PipelinesArgs, argo_crds_yaml
from mlplat_platform.registry import Registry, RegistryArgs
from mlplat_platform.serving import Serving, ServingArgs

Runner = Callable[[Callable[[], Any]], Run]
GATEWAY = GatewayRef(name="mlplat", namespace="mlplat-gateway", domain="ml.example.com")
#: The object-store identities of the platform's consumers, as the program passes them.
IDENTITIES = tuple(
    S3Identity(name=c.identity, namespace=c.namespace, actions=c.object_store)
    for c in CONSUMERS
    if c.object_store
)
REGISTRY = ServiceRef(name="registry", namespace="mlplat-registry", ports=(5000,))


def _s3() -> S3Endpoint:
    return S3Endpoint(
        url="http://seaweedfs.mlplat-storage.svc.cluster.local:8333",
        host="seaweedfs.mlplat-storage.svc.cluster.local:8333",
        bucket="mlplat",
        region="us-east-1",
        insecure=True,
        access_key_id=pulumi.Output.secret("AKID"),
        secret_access_key=pulumi.Output.secret("SK"),
        namespace="mlplat-storage",
    )


def _db() -> DatabaseEndpoint:
    return DatabaseEndpoint(
        host="db.svc",
        port=5432,
        name="mlflow",
        user="mlflow",
        password=pulumi.Output.secret("pw"),
        sslmode="require",
        namespace="mlplat-database",
    )


def _chart(run: Run, chart: str) -> dict[str, Any]:
    matches = [r.inputs for r in run.of_type(":Chart") if r.inputs["chart"] == chart]
    assert len(matches) == 1
    return matches[0]


def test_object_store_protects_its_data_and_marks_credentials_secret(run: Runner) -> None:
    result = run(
        lambda: ObjectStore(
            "os",
            ObjectStoreArgs(size="1Gi", cpu="10m", memory="64Mi", identities=IDENTITIES[:1]),
        )
    )
    component = result.one("mlplat:index:ObjectStore", "os")
    volume = result.named("PersistentVolumeClaim", "seaweedfs-data")
    namespace = result.named("Namespace", "mlplat-storage")
    for reg in (volume, namespace):
        assert reg.protect and reg.retain_on_delete
    config = result.named("Secret", "seaweedfs-s3-config")
    assert is_secret(config.inputs["stringData"])
    for reg in result.registrations:
        if reg.type.startswith("kubernetes:"):
            assert reg.parent == component.urn, f"{reg.name} is not parented"
    job = result.one(":Job", "os-buckets")
    assert result.depends_on(job, result.named("Deployment", "seaweedfs"))
    clients = result.named("NetworkPolicy", "allow-s3-clients").inputs["spec"]["ingress"][0]
    names = [
        p.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        for p in clients["from"]
    ]
    assert "mlplat-registry" in names
    assert clients["ports"] == [{"protocol": "TCP", "port": 8333.0}]


@pulumi.runtime.test
def test_object_store_gives_each_consumer_its_own_secret_keys() -> None:
    pulumi.runtime.set_mocks(_EchoMocks(), preview=False)
    store = ObjectStore(
        "os2", ObjectStoreArgs(size="1Gi", cpu="10m", memory="64Mi", identities=IDENTITIES)
    )
    clients = store.clients
    endpoints = (clients["mlflow"], clients["argo"], clients["models"])

    def check(args: list[Any]) -> None:
        urls, keys, secret_flags = args[:3], args[3:9], args[9:]
        assert set(urls) == {"http://seaweedfs.mlplat-storage.svc.cluster.local:8333"}
        assert keys == [
            "os2-mlflow-access-key",
            "os2-mlflow-secret-key",
            "os2-argo-access-key",
            "os2-argo-secret-key",
            "os2-models-access-key",
            "os2-models-secret-key",
        ]
        assert all(secret_flags)

    return pulumi.Output.all(
        *(e.url for e in endpoints),
        *(k for e in endpoints for k in (e.access_key_id, e.secret_access_key)),
        *(pulumi.Output.from_input(e.secret_access_key.is_secret()) for e in endpoints),
        *(pulumi.Output.from_input(e.access_key_id.is_secret()) for e in endpoints),
    ).apply(check)


class _EchoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ.startswith("random:"):
            # Each generated value names its resource, so tests can tell which one flows where.
            state["result"] = args.name
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


def test_database_cluster_is_protected_and_password_generated(run: Runner) -> None:
    result = run(
        lambda: Database(
            "db",
            DatabaseArgs(
                instances=3,
                size="20Gi",
                cpu="500m",
                memory="1Gi",
                storage_class="fast",
                users=(DatabaseUser(name="mlflow", namespace="mlplat-registry"),),
            ),
        )
    )
    cluster = result.one(":Cluster", "db-cluster")
    assert cluster.protect and cluster.retain_on_delete
    spec = cluster.inputs["spec"]
    assert spec["instances"] == 3 and spec["imageName"] == versions.POSTGRES_IMAGE
    assert spec["storage"] == {"size": "20Gi", "storageClass": "fast"}
    assert spec["enableSuperuserAccess"] is False
    assert spec["bootstrap"]["initdb"]["secret"]["name"] == "mlplat-db-mlflow"
    secret = result.named("Secret", "mlplat-db-mlflow")
    assert secret.inputs["type"] == "kubernetes.io/basic-auth"
    assert is_secret(secret.inputs["stringData"])
    assert result.depends_on(cluster, secret)
    chart = _chart(result, versions.CLOUDNATIVE_PG.chart)
    assert chart["version"] == versions.CLOUDNATIVE_PG.version
    assert result.depends_on(cluster, result.one(":Chart", "db-operator"))
    assert result.named("Namespace", "mlplat-database").protect


@pulumi.runtime.test
def test_database_uri_is_secret() -> None:
    pulumi.runtime.set_mocks(_EchoMocks(), preview=False)
    db = Database("db2", DatabaseArgs(instances=1, size="1Gi", cpu="10m", memory="64Mi"))

    def check(args: list[Any]) -> None:
        uri, secret = args
        assert uri == (
            "postgresql://mlflow:db2-password@mlplat-db-rw.mlplat-database.svc.cluster.local"
            ":5432/mlflow?sslmode=require"
        )
        assert secret

    uri = db.endpoints["mlflow"].uri()
    return pulumi.Output.all(uri, pulumi.Output.from_input(uri.is_secret())).apply(check)


@pulumi.runtime.test
def test_database_uri_percent_encodes_credentials() -> None:
    """An external password with URI delimiters still yields the right user and password."""
    from urllib.parse import unquote, urlsplit

    password = "p@ss:w/rd%20?#"
    db = DatabaseEndpoint(
        host="pg.example.com",
        port=5432,
        name="ml flow",
        user="ml@user",
        password=pulumi.Output.secret(password),
        sslmode="require",
        namespace=None,
    )

    def check(uri: str) -> None:
        parts = urlsplit(uri)
        assert parts.hostname == "pg.example.com" and parts.port == 5432
        assert unquote(parts.username or "") == "ml@user"
        assert unquote(parts.password or "") == password
        assert unquote(parts.path) == "/ml flow" and parts.query == "sslmode=require"

    return db.uri().apply(check)


def test_registry_wires_database_store_and_allowed_hosts(run: Runner) -> None:
    result = run(
        lambda: Registry(
            "reg",
            RegistryArgs(
                database=_db(),
                object_store=_s3(),
                replicas=2,
                cpu="100m",
                memory="512Mi",
                disruption_budget=True,
                gateway=GATEWAY,
                clients=("mlplat-gateway",),
            ),
        )
    )
    deployment = result.named("Deployment", "mlflow")
    pod = deployment.inputs["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    hosts = env["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert hosts[0] == "mlflow.ml.example.com" and "localhost:5000" in hosts
    # MLflow matches with fnmatch; a NodePort gateway's Host header carries its port.
    for host in ("mlflow.ml.example.com", "mlflow.ml.example.com:30443"):
        assert any(fnmatch.fnmatch(host, pattern) for pattern in hosts), host
    assert not any(fnmatch.fnmatch("evil.example.com:30443", pattern) for pattern in hosts)
    assert env["MLFLOW_S3_ENDPOINT_URL"] == _s3().url
    assert "--artifacts-destination s3://mlplat/mlflow" in container["command"][2]
    assert container["image"] == versions.MLFLOW_IMAGE
    assert not any("valueFrom" in e for e in container["env"]), "credentials must be files"
    backend = result.named("Secret", "mlflow-backend")
    assert is_secret(backend.inputs["stringData"])
    job = result.one(":Job", "reg-db-upgrade")
    assert job.inputs["metadata"]["name"].startswith("mlflow-db-upgrade-v3-")
    assert result.depends_on(deployment, job), "schema Job must finish before the server"
    route = result.named("HTTPRoute", "mlflow").inputs["spec"]
    assert route["hostnames"] == ["mlflow.ml.example.com"]
    assert route["rules"][0]["filters"] == [
        {"type": "RequestHeaderModifier", "requestHeaderModifier": {"remove": ["Authorization"]}}
    ], "the gateway's password must not reach MLflow"
    assert route["parentRefs"][0]["namespace"] == "mlplat-gateway"
    assert result.named("PodDisruptionBudget", "mlflow")
    assert (
        result.named("Namespace", "mlplat-registry").inputs["metadata"]["labels"][
            "mlplat.io/gateway-access"
        ]
        == "true"
    )


def test_registry_without_gateway_is_internal_only(run: Runner) -> None:
    result = run(
        lambda: Registry(
            "reg",
            RegistryArgs(
                database=_db(), object_store=_s3(), replicas=1, cpu="100m", memory="512Mi"
            ),
        )
    )
    assert not result.of_type(":HTTPRoute") and not result.of_type(":PodDisruptionBudget")
    component = result.one("mlplat:index:Registry", "reg")
    assert component.type == "mlplat:index:Registry"


def test_pipelines_apply_crds_and_use_client_auth(run: Runner) -> None:
    result = run(
        lambda: Pipelines(
            "pl",
            PipelinesArgs(object_store=_s3(), calls=(REGISTRY,), gateway=GATEWAY),
        )
    )
    values = _chart(result, versions.ARGO_WORKFLOWS.chart)["values"]
    assert values["crds"]["install"] is False
    assert values["server"]["authModes"] == ["client"]
    assert values["singleNamespace"] is True
    s3 = values["artifactRepository"]["s3"]
    assert s3["endpoint"] == _s3().host and s3["bucket"] == "mlplat" and s3["insecure"] is True
    assert s3["accessKeySecret"] == {"name": "argo-s3", "key": "AWS_ACCESS_KEY_ID"}
    crds = result.of_type(":CustomResourceDefinition")
    kinds = sorted(c.inputs["spec"]["names"]["kind"] for c in crds)
    assert kinds == sorted(c.kind for c in ARGO_CRDS)
    chart = result.one(":Chart", "pl-chart")
    for crd in crds:
        # Deleting a CRD deletes every Workflow, template and cron schedule of its kind.
        assert crd.retain_on_delete, crd.name
        assert result.depends_on(chart, crd), crd.name
    by_name = {c.inputs["metadata"]["name"]: c.inputs for c in crds}
    for doc in yaml.safe_load_all(argo_crds_yaml()):  # the same CRDs, as one YAML stream
        assert by_name[doc["metadata"]["name"]]["spec"] == doc["spec"]
    assert result.named("HTTPRoute", "argo").inputs["spec"]["rules"][0]["backendRefs"][0] == {
        "name": "argo-workflows-server",
        "port": 2746.0,
    }


def _assert_restricted(context: dict[str, Any], where: str) -> None:
    """A container security context that Pod Security ``restricted`` admits, and more."""
    assert context["allowPrivilegeEscalation"] is False, where
    assert context["capabilities"] == {"drop": ["ALL"]}, where
    assert context["runAsNonRoot"] is True, where
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
    assert context["readOnlyRootFilesystem"] is True, where


def test_workflow_pods_pass_pod_security_restricted(run: Runner) -> None:
    """Every container of a workflow pod (main, init, wait) gets a restricted context."""
    result = run(lambda: Pipelines("pl", PipelinesArgs(object_store=_s3())))
    values = _chart(result, versions.ARGO_WORKFLOWS.chart)["values"]
    pod = values["controller"]["workflowDefaults"]["spec"]["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["seccompProfile"] == {"type": "RuntimeDefault"}
    for key in ("mainContainer", "executor"):
        _assert_restricted(values[key]["securityContext"], key)
        assert set(values[key]["resources"]) == {"requests", "limits"}, key
    labels = result.named("Namespace", "mlplat-pipelines").inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_argo_ui_login_account_is_read_mostly_and_namespaced(run: Runner) -> None:
    """Client auth mode asks for a token: one account to log in with, able to submit only."""
    result = run(lambda: Pipelines("pl", PipelinesArgs(object_store=_s3())))
    account = result.named("ServiceAccount", "argo-ui", "mlplat-pipelines").inputs
    assert account["automountServiceAccountToken"] is False
    rules = result.named("Role", "argo-ui", "mlplat-pipelines").inputs["rules"]
    verbs = {
        (group, resource): set(rule["verbs"])
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert verbs[("argoproj.io", "workflows")] == {"get", "list", "watch", "create"}
    writes = {"create", "update", "patch", "delete", "deletecollection", "*"}
    for key, granted in verbs.items():
        if key != ("argoproj.io", "workflows"):
            assert not granted & writes, key
        assert key[1] != "secrets", "the UI account never reads secrets"
    binding = result.named("RoleBinding", "argo-ui", "mlplat-pipelines").inputs
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "argo-ui",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "argo-ui", "namespace": "mlplat-pipelines"}
    ]
    assert not result.of_type(":ClusterRoleBinding")


def test_the_monitor_account_may_create_workflows_and_nothing_else(run: Runner) -> None:
    """The monitor's resource step creates one Workflow; its executor reports outputs."""
    result = run(lambda: Pipelines("pl", PipelinesArgs(object_store=_s3())))
    account = result.named("ServiceAccount", "argo-monitor", "mlplat-pipelines").inputs
    assert account["automountServiceAccountToken"] is True  # Argo's executor reports with it
    rules = result.named("Role", "argo-monitor", "mlplat-pipelines").inputs["rules"]
    granted = {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert granted == {
        ("argoproj.io", "workflows", "create"),
        ("argoproj.io", "workflowtaskresults", "create"),
        ("argoproj.io", "workflowtaskresults", "patch"),
    }
    assert all("resourceNames" not in rule for rule in rules)
    binding = result.named("RoleBinding", "argo-monitor", "mlplat-pipelines").inputs
    assert binding["roleRef"]["name"] == "argo-monitor"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "argo-monitor", "namespace": "mlplat-pipelines"}
    ]


def test_serving_gives_models_storage_credentials(run: Runner) -> None:
    def program() -> None:
        cm = CertManager("cm", CertManagerArgs())
        Serving("sv", ServingArgs(object_store=_s3(), cert_manager=cm.chart, gateway=GATEWAY))

    result = run(program)
    values = _chart(result, versions.KSERVE_RESOURCES.chart)["values"]["kserve"]["controller"]
    assert values["deploymentMode"] == "Standard"
    assert values["gateway"]["ingressGateway"] == {
        "enableGatewayApi": True,
        "kserveGateway": "mlplat-gateway/mlplat",
    }
    assert values["gateway"]["domain"] == "models.ml.example.com"
    secret = result.named("Secret", "mlplat-s3")
    annotations = secret.inputs["metadata"]["annotations"]
    assert annotations["serving.kserve.io/s3-endpoint"] == _s3().host
    assert annotations["serving.kserve.io/s3-usehttps"] == "0"
    assert is_secret(secret.inputs["stringData"])
    account = result.named("ServiceAccount", "mlplat-models").inputs
    assert account["secrets"] == [{"name": "mlplat-s3"}]
    assert account["automountServiceAccountToken"] is False
    kserve = result.one(":Chart", "sv-chart")
    assert result.depends_on(kserve, result.one(":Chart", "cm-chart"))


def test_htpasswd_line_uses_envoys_sha_format() -> None:
    assert htpasswd_line("admin", "password") == "admin:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="


@pytest.mark.parametrize("oidc", [False, True])
def test_gateway_authenticates_every_route(run: Runner, oidc: bool) -> None:
    from mlplat_platform.config import Oidc

    def program() -> None:
        gateway = Gateway(
            "gw",
            GatewayArgs(
                domain="ml.example.com",
                backends=(Backend(namespace="mlplat-registry", port=5000),),
                oidc=Oidc(issuer="https://id.example.com", client_id="mlplat") if oidc else None,
                oidc_client_secret=pulumi.Output.secret("cs") if oidc else None,
            ),
        )
        cm = CertManager("cm", CertManagerArgs(gateway_api=gateway.chart))
        GatewayCertificates(
            "gw",
            GatewayCertificatesArgs(
                domain="ml.example.com", cert_manager=cm.chart, moved_from=gateway
            ),
        )

    result = run(program)
    policy = result.named("SecurityPolicy", "mlplat-auth").inputs["spec"]
    # The HTTPS listener only: a challenge on plain HTTP would send the password in clear.
    assert policy["targetRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "name": "mlplat",
            "sectionName": "https",
        }
    ]
    if oidc:
        assert policy["oidc"]["provider"]["issuer"] == "https://id.example.com"
        assert "basicAuth" not in policy
        assert is_secret(result.named("Secret", "mlplat-oidc-client").inputs["stringData"])
    else:
        assert policy["basicAuth"] == {"users": {"name": "mlplat-basic-auth"}}
        assert is_secret(result.named("Secret", "mlplat-basic-auth").inputs["stringData"])
    # Every route on the HTTPS listener (KServe's too) loses the Authorization header
    # when forwarded, i.e. after the basic-auth filter has checked it.
    patch = result.named("EnvoyPatchPolicy", "mlplat-strip-credentials").inputs["spec"]
    assert patch["targetRef"]["name"] == "mlplat" and patch["type"] == "JSONPatch"
    (op,) = patch["jsonPatches"]
    assert op["type"].endswith("envoy.config.route.v3.RouteConfiguration")
    assert op["name"] == "mlplat-gateway/mlplat/https"
    assert op["operation"] == {
        "op": "add",
        "path": "/request_headers_to_remove",
        "value": ["authorization"],
    }
    values = _chart(result, versions.ENVOY_GATEWAY.chart)["values"]
    assert values["config"]["envoyGateway"]["extensionApis"] == {"enableEnvoyPatchPolicy": True}
    gateway = result.named("Gateway", "mlplat").inputs["spec"]
    https = next(li for li in gateway["listeners"] if li["name"] == "https")
    assert https["tls"]["certificateRefs"][0]["name"] == "mlplat-gateway-tls"
    # What Envoy Gateway's certgen hook would have created (helm.v4.Chart drops hooks).
    certs = {r.inputs["spec"]["secretName"] for r in result.of_type(":Certificate")}
    assert {"envoy-gateway", "envoy", "envoy-rate-limit", "mlplat-gateway-tls"} <= certs
    assert result.named("Secret", "envoy-oidc-hmac")
    egress = result.named("NetworkPolicy", "allow-backend-mlplat-registry").inputs["spec"]
    assert egress["egress"][0]["ports"] == [{"protocol": "TCP", "port": 5000.0}]


def test_cert_manager_chart_is_pinned_and_restricted(run: Runner) -> None:
    result = run(lambda: CertManager("cm", CertManagerArgs(replicas=2)))
    chart = _chart(result, versions.CERT_MANAGER.chart)
    assert chart["version"] == versions.CERT_MANAGER.version
    assert chart["chart"].startswith("oci://") and "repositoryOpts" not in chart
    values = chart["values"]
    assert values["crds"]["enabled"] is True and values["replicaCount"] == 2.0
    assert values["containerSecurityContext"]["readOnlyRootFilesystem"] is True
    assert values["startupapicheck"]["enabled"] is False
    labels = result.named("Namespace", "cert-manager").inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    deny = result.named("NetworkPolicy", "default-deny").inputs["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def test_seaweedfs_identities_are_least_privilege(run: Runner) -> None:
    """Only the bucket Job's identity administers; consumers act on the bucket alone.

    Model servers may write only under ``monitor/`` (their prediction records): SeaweedFS
    treats an action ending in ``*`` as a prefix of ``Write:<bucket>/<key>``.
    """
    result = run(
        lambda: ObjectStore(
            "os", ObjectStoreArgs(size="1Gi", cpu="1m", memory="1Mi", identities=IDENTITIES)
        )
    )
    envelope = result.named("Secret", "seaweedfs-s3-config").inputs["stringData"]
    config = json.loads(envelope["value"]["s3.json"])
    actions = {i["name"]: i["actions"] for i in config["identities"]}
    assert actions == {
        "admin": ["Admin", "Read", "List", "Tagging", "Write"],
        "mlflow": ["Read:mlplat", "Write:mlplat", "List:mlplat", "Tagging:mlplat"],
        "argo": ["Read:mlplat", "Write:mlplat", "List:mlplat", "Tagging:mlplat"],
        "models": ["Read:mlplat", "List:mlplat", "Write:mlplat/monitor/*"],
        "feast": ["Read:mlplat", "Write:mlplat", "List:mlplat", "Tagging:mlplat"],
    }
    for identity in config["identities"]:
        assert len(identity["credentials"]) == 1, identity["name"]
    # The admin key is written only into the object store's own namespace, for the Job.
    job = result.one(":Job", "os-buckets")
    volumes = job.inputs["spec"]["template"]["spec"]["volumes"]
    assert {"secretName": "seaweedfs-client"} == {
        k: v for k, v in volumes[0]["secret"].items() if k == "secretName"
    }
    template = result.named("Deployment", "seaweedfs").inputs["spec"]["template"]
    assert template["metadata"]["annotations"]["mlplat.io/s3-identities"]


@pulumi.runtime.test
def test_gateway_password_output_is_secret_and_matches_the_htpasswd() -> None:
    pulumi.runtime.set_mocks(_EchoMocks(), preview=False)
    gateway = Gateway("gw3", GatewayArgs(domain="ml.example.com"))
    assert gateway.password is not None

    def check(args: list[Any]) -> None:
        password, secret, ref = args
        assert password == "gw3-password" and secret
        assert ref == "mlflow.ml.example.com"

    return pulumi.Output.all(
        gateway.password,
        pulumi.Output.from_input(gateway.password.is_secret()),
        gateway.ref.host("mlflow"),
    ).apply(check)


@pulumi.runtime.test
def test_registry_outputs_say_how_to_reach_it() -> None:
    pulumi.runtime.set_mocks(_EchoMocks(), preview=False)
    registry = Registry(
        "reg3",
        RegistryArgs(database=_db(), object_store=_s3(), replicas=1, cpu="100m", memory="512Mi"),
    )

    def check(args: list[Any]) -> None:
        internal, forward = args
        assert internal == "http://mlflow.mlplat-registry.svc.cluster.local:5000"
        assert forward.endswith("port-forward svc/mlflow 5000:5000")

    assert registry.url is None
    return pulumi.Output.all(registry.internal_url, registry.port_forward).apply(check)
