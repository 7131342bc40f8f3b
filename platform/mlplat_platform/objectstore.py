"""The object store: SeaweedFS serving the S3 API, with credentials and buckets we own.

One ``weed server`` (master, volume, filer and S3 gateway in one process) on a protected
volume. That is the laptop-sized shape; for production, point the platform at an external
S3 bucket (``object_store.external``) or scale SeaweedFS out separately. The bucket is
created by a Job owned here, not by a Helm hook (``helm.v4.Chart`` drops hooks).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes.apps.v1 as apps
import pulumi_kubernetes.batch.v1 as batch
import pulumi_kubernetes.core.v1 as core
import pulumi_random as random

from mlplat_platform import versions
from mlplat_platform.endpoints import S3Endpoint
from mlplat_platform.k8s import (
    DIGEST_SKIP,
    NAMESPACES,
    SLOW_START,
    checkov_skips,
    child,
    container_security,
    labels,
    pod_security,
    resources,
    run_once_job_spec,
)
from mlplat_platform.namespace import Flow, Peer, secure_namespace

__all__ = ["ObjectStore", "ObjectStoreArgs", "S3Identity"]

S3_PORT = 8333
_NAME = "seaweedfs"
#: The bucket Job's identity: creating buckets needs SeaweedFS's ``Admin`` action.
_ADMIN_ACTIONS = ("Admin", "Read", "List", "Tagging", "Write")
_BUCKET_SCRIPT = """
import time, boto3, botocore.exceptions as e, os
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name="us-east-1")
for attempt in range(30):
    try:
        names = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        break
    except e.EndpointConnectionError:
        time.sleep(2)
else:
    raise SystemExit("object store not reachable")
for bucket in os.environ["BUCKETS"].split(","):
    if bucket not in names:
        s3.create_bucket(Bucket=bucket)
    print("bucket ready:", bucket)
"""


def _scoped(action: str, bucket: str) -> str:
    """An identity action limited to the bucket, or to a key prefix in it.

    ``Read`` becomes ``Read:mlplat``; ``Write:monitor/*`` becomes ``Write:mlplat/monitor/*``,
    which SeaweedFS matches as a prefix of ``Write:<bucket>/<key>`` (an action ending in ``*``;
    ``canDo`` in weed/s3api/auth_credentials.go).
    """
    name, sep, prefix = action.partition(":")
    return f"{name}:{bucket}/{prefix}" if sep else f"{action}:{bucket}"


def _identities_digest(args: ObjectStoreArgs) -> str:
    """A digest of who may do what (never of the keys), to restart SeaweedFS when it changes."""
    who = {i.name: i.actions for i in args.identities}
    shape = json.dumps([args.bucket, _ADMIN_ACTIONS, who], sort_keys=True)
    return hashlib.sha256(shape.encode()).hexdigest()[:12]


@dataclass(frozen=True, kw_only=True)
class S3Identity:
    """One consumer's own object-store identity.

    Attributes:
        name: Identity name in ``s3.json`` (``mlflow``), also in its keys' logical names.
        namespace: The consumer's namespace, allowed to reach the S3 port.
        actions: SeaweedFS actions, each limited to the platform's bucket (``Read``) or to a
            key prefix in it (``Write:monitor/*``).
    """

    name: str
    namespace: str
    actions: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ObjectStoreArgs:
    """Inputs of `ObjectStore`.

    Attributes:
        bucket: The bucket to create (consumers use key prefixes inside it).
        size: Volume size.
        cpu: CPU request.
        memory: Memory request.
        storage_class: StorageClass of the volume; ``None`` for the cluster default.
        identities: One per consumer: its own keys, its actions, its namespace's access.
        namespace: Where SeaweedFS runs.
    """

    bucket: str = "mlplat"
    size: str
    cpu: str
    memory: str
    storage_class: str | None = None
    identities: tuple[S3Identity, ...] = ()
    namespace: str = NAMESPACES.object_store


class ObjectStore(pulumi.ComponentResource):
    """SeaweedFS with an S3 identity per consumer, a protected volume and its bucket.

    Attributes:
        clients: The S3 endpoint of each identity (by name), each with its own secret keys.
        volume: The data volume (protected, retained on delete).
        bucket_job: The Job that creates the bucket; consumers depend on it.
    """

    clients: Mapping[str, S3Endpoint]
    volume: core.PersistentVolumeClaim
    bucket_job: batch.Job

    def __init__(
        self, name: str, args: ObjectStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlplat:index:ObjectStore", name, None, opts)
        ns_name = args.namespace
        app = labels(_NAME, "object-store")
        selector = {"app.kubernetes.io/name": _NAME}
        flows = [
            Flow(
                name="s3-clients",
                direction="ingress",
                ports=(S3_PORT,),
                peers=tuple(Peer.namespace(i.namespace) for i in args.identities)
                + (Peer.same_namespace(),),
                pod_labels=selector,
            ),
            Flow(
                name="s3-in-namespace",
                direction="egress",
                ports=(S3_PORT,),
                peers=(Peer.same_namespace(),),
            ),
        ]
        ns = secure_namespace(ns_name, parent=self, flows=flows, protect=True)
        deps = child(self, depends_on=[ns])
        admin_keys = self._keys(name)
        consumer_keys = {i.name: self._keys(f"{name}-{i.name}") for i in args.identities}
        config = self._identities(args, admin_keys, consumer_keys)
        s3_config = core.Secret(
            f"{name}-s3-config",
            metadata={"name": f"{_NAME}-s3-config", "namespace": ns_name},
            type="Opaque",
            string_data={"s3.json": config},  # secret: derived from secret outputs
            opts=child(self, depends_on=[ns], additional_secret_outputs=["data", "stringData"]),
        )
        self.volume = core.PersistentVolumeClaim(
            f"{name}-data",
            metadata={"name": f"{_NAME}-data", "namespace": ns_name, "labels": app},
            spec={
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": args.storage_class,
                "resources": {"requests": {"storage": args.size}},
            },
            opts=child(self, depends_on=[ns], protect=True, retain_on_delete=True),
        )
        sa = core.ServiceAccount(
            f"{name}-sa",
            metadata={"name": _NAME, "namespace": ns_name, "labels": app},
            automount_service_account_token=False,
            opts=deps,
        )
        server = apps.Deployment(
            f"{name}-server",
            metadata={
                "name": _NAME,
                "namespace": ns_name,
                "labels": app,
                "annotations": checkov_skips(DIGEST_SKIP),
            },
            spec={
                "replicas": 1,
                # One writer per volume: never run two servers on the same data.
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": selector},
                "template": {
                    # SeaweedFS reads s3.json at start: a new identity set rolls the pod.
                    "metadata": {
                        "labels": app,
                        "annotations": {"mlplat.io/s3-identities": _identities_digest(args)},
                    },
                    "spec": self._pod_spec(args, s3_config_name=f"{_NAME}-s3-config"),
                },
            },
            opts=child(
                self, depends_on=[ns, self.volume, s3_config, sa], custom_timeouts=SLOW_START
            ),
        )
        service = core.Service(
            f"{name}-service",
            metadata={"name": _NAME, "namespace": ns_name, "labels": app},
            spec={
                "selector": selector,
                "ports": [{"name": "s3", "port": S3_PORT, "targetPort": "s3", "protocol": "TCP"}],
            },
            opts=deps,
        )
        host = f"{_NAME}.{ns_name}.svc.cluster.local:{S3_PORT}"
        admin = S3Endpoint(
            url=f"http://{host}",
            host=host,
            bucket=args.bucket,
            region="us-east-1",
            insecure=True,
            access_key_id=admin_keys[0],
            secret_access_key=admin_keys[1],
            namespace=ns_name,
        )

        def scoped(who: str) -> S3Endpoint:
            access, secret = consumer_keys[who]
            return dataclasses.replace(admin, access_key_id=access, secret_access_key=secret)

        self.clients = {i.name: scoped(i.name) for i in args.identities}
        # The admin key stays in this namespace, for the bucket Job only.
        client_secret = admin.credentials_secret(
            f"{_NAME}-client", ns_name, parent=self, depends_on=[ns]
        )
        self.bucket_job = self._bucket_job(name, args, admin.url, client_secret, [server, service])
        self.register_outputs({"endpoint": admin.url, "bucket": args.bucket})

    def _keys(self, prefix: str) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
        """A generated access key and secret key, marked secret whatever the provider says."""
        access = random.RandomPassword(
            f"{prefix}-access-key", length=20, special=False, lower=False, opts=child(self)
        )
        secret = random.RandomPassword(
            f"{prefix}-secret-key", length=40, special=False, opts=child(self)
        )
        return pulumi.Output.secret(access.result), pulumi.Output.secret(secret.result)

    @staticmethod
    def _identities(
        args: ObjectStoreArgs,
        admin: tuple[pulumi.Output[str], pulumi.Output[str]],
        consumers: dict[str, tuple[pulumi.Output[str], pulumi.Output[str]]],
    ) -> pulumi.Output[str]:
        """SeaweedFS's ``s3.json``: the admin, and each consumer limited to the bucket."""
        names = ["admin", *consumers]
        actions = [list(_ADMIN_ACTIONS)] + [
            [_scoped(action, args.bucket) for action in identity.actions]
            for identity in args.identities
        ]
        keys = [admin, *consumers.values()]

        def render(flat: list[str]) -> str:
            identities = [
                {
                    "name": who,
                    "credentials": [{"accessKey": flat[2 * i], "secretKey": flat[2 * i + 1]}],
                    "actions": actions[i],
                }
                for i, who in enumerate(names)
            ]
            return json.dumps({"identities": identities}, indent=2)

        return pulumi.Output.all(*(k for pair in keys for k in pair)).apply(render)

    @staticmethod
    def _pod_spec(args: ObjectStoreArgs, *, s3_config_name: str) -> dict[str, object]:
        command = [
            "weed",
            "server",
            "-dir=/data",
            "-ip.bind=0.0.0.0",
            "-master.volumeSizeLimitMB=1024",
            "-volume.max=0",
            "-s3",
            f"-s3.port={S3_PORT}",
            "-s3.config=/etc/seaweedfs/s3.json",
        ]
        # The S3 gateway answers /readyz and /healthz without credentials (s3api_server.go).
        probe = {"periodSeconds": 10, "timeoutSeconds": 3}
        return {
            "serviceAccountName": _NAME,
            "automountServiceAccountToken": False,
            "securityContext": pod_security(),
            "containers": [
                {
                    "name": "seaweedfs",
                    "image": versions.SEAWEEDFS_IMAGE,
                    "imagePullPolicy": "Always",
                    "command": command,
                    "ports": [{"name": "s3", "containerPort": S3_PORT, "protocol": "TCP"}],
                    "resources": resources(args.cpu, args.memory),
                    "securityContext": container_security(),
                    "readinessProbe": {
                        **probe,
                        "httpGet": {"path": "/readyz", "port": "s3"},
                        "initialDelaySeconds": 5,
                    },
                    "livenessProbe": {
                        **probe,
                        "httpGet": {"path": "/healthz", "port": "s3"},
                        "initialDelaySeconds": 30,
                        "failureThreshold": 6,
                    },
                    "volumeMounts": [
                        {"name": "data", "mountPath": "/data"},
                        {"name": "tmp", "mountPath": "/tmp"},
                        {"name": "s3-config", "mountPath": "/etc/seaweedfs", "readOnly": True},
                    ],
                }
            ],
            "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": f"{_NAME}-data"}},
                {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
                {"name": "s3-config", "secret": {"secretName": s3_config_name}},
            ],
        }

    def _bucket_job(
        self,
        name: str,
        args: ObjectStoreArgs,
        url: str,
        credentials: core.Secret,
        after: list[pulumi.Resource],
    ) -> batch.Job:
        # The Job's name carries a hash of what it does, so a change runs a new Job.
        spec = f"{args.bucket}|{versions.MLFLOW_IMAGE}|{_BUCKET_SCRIPT}"
        digest = hashlib.sha256(spec.encode()).hexdigest()[:8]
        job_labels = labels(f"{_NAME}-buckets", "object-store")
        return batch.Job(
            f"{name}-buckets",
            metadata={
                "name": f"{_NAME}-buckets-{digest}",
                "namespace": args.namespace,
                "labels": job_labels,
                "annotations": checkov_skips(DIGEST_SKIP),
            },
            spec=run_once_job_spec(
                job_labels=job_labels,
                service_account=_NAME,
                containers=[
                    {
                        "name": "create-buckets",
                        # MLflow's image carries boto3; reusing it saves a pull.
                        "image": versions.MLFLOW_IMAGE,
                        "imagePullPolicy": "Always",
                        "command": ["python", "-c", _BUCKET_SCRIPT],
                        "env": [
                            {"name": "S3_ENDPOINT", "value": url},
                            {"name": "BUCKETS", "value": args.bucket},
                            {
                                "name": "AWS_SHARED_CREDENTIALS_FILE",
                                "value": "/etc/s3/credentials",
                            },
                            {"name": "HOME", "value": "/tmp"},
                        ],
                        "resources": resources("50m", "128Mi"),
                        "securityContext": container_security(),
                        "volumeMounts": [
                            {
                                "name": "credentials",
                                "mountPath": "/etc/s3",
                                "readOnly": True,
                            },
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                    }
                ],
                volumes=[
                    {
                        "name": "credentials",
                        "secret": {
                            "secretName": f"{_NAME}-client",
                            "items": [{"key": "credentials", "path": "credentials"}],
                        },
                    },
                    {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                ],
            ),
            opts=child(self, depends_on=[credentials, *after], custom_timeouts=SLOW_START),
        )
