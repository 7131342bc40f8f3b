"""The local control plane does what the real deploy tests rely on: a Ready node of the dev
profile's size, workloads that become available or complete the way pulumi-kubernetes awaits
them, claims that bind, Pod Security admission that refuses, and a `down` that stops it all."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.live.conftest import require_control_plane
from toolchain import build, processes
from toolchain.cluster import Cluster

pytestmark = pytest.mark.live


def apply(cluster: Cluster, manifest: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=textwrap.dedent(manifest))


def wait(cluster: Cluster, namespace: str, what: str, condition: str) -> None:
    cluster.kubectl("-n", namespace, "wait", what, f"--for={condition}", "--timeout=60s")


@pytest.fixture(scope="module")
def namespace(local_cluster: Cluster) -> str:
    local_cluster.kubectl("create", "namespace", "smoke")
    return "smoke"


def test_version_is_the_built_release(local_cluster: Cluster) -> None:
    version = json.loads(local_cluster.kubectl("version", "-o", "json").stdout)
    expected = build.TARGETS["kubernetes"].version()
    assert version["serverVersion"]["gitVersion"] == expected
    assert version["clientVersion"]["gitVersion"] == expected


def test_node_is_ready_with_the_dev_profile_size(local_cluster: Cluster) -> None:
    nodes = json.loads(local_cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert len(nodes) == 1
    status = nodes[0]["status"]
    ready = [c["status"] for c in status["conditions"] if c["type"] == "Ready"]
    assert ready == ["True"]
    assert status["allocatable"]["cpu"] == "2"
    assert status["allocatable"]["memory"] == "4Gi"


def test_deployment_becomes_available(local_cluster: Cluster, namespace: str) -> None:
    apply(
        local_cluster,
        f"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: web, namespace: {namespace}}}
        spec:
          replicas: 2
          selector: {{matchLabels: {{app: web}}}}
          template:
            metadata: {{labels: {{app: web}}}}
            spec:
              containers:
              - name: web
                image: registry.invalid/web:1
                resources: {{requests: {{cpu: 100m, memory: 64Mi}}}}
        """,
    )
    wait(local_cluster, namespace, "deployment/web", "condition=Available")
    deployment = json.loads(
        local_cluster.kubectl("-n", namespace, "get", "deployment/web", "-o", "json").stdout
    )
    assert deployment["status"]["readyReplicas"] == 2
    assert deployment["status"]["updatedReplicas"] == 2
    # pulumi-kubernetes waits for this rollout condition, not only for the replica counts.
    wait(
        local_cluster,
        namespace,
        "deployment/web",
        "jsonpath={.status.conditions[?(@.type=='Progressing')].reason}=NewReplicaSetAvailable",
    )


def test_service_gets_the_ready_pods_as_endpoints(local_cluster: Cluster, namespace: str) -> None:
    apply(
        local_cluster,
        f"""
        apiVersion: v1
        kind: Service
        metadata: {{name: web, namespace: {namespace}}}
        spec:
          selector: {{app: web}}
          ports: [{{port: 80, targetPort: 8080}}]
        """,
    )
    wait(local_cluster, namespace, "deployment/web", "condition=Available")
    endpoints = "jsonpath={.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}"

    def ready_addresses() -> list[str]:
        return local_cluster.kubectl(
            "-n",
            namespace,
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=web",
            "-o",
            endpoints,
        ).stdout.split()

    deadline = time.monotonic() + 30
    while len(ready_addresses()) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(ready_addresses()) == 2


def test_statefulset_with_a_claim_template_becomes_ready(
    local_cluster: Cluster, namespace: str
) -> None:
    apply(
        local_cluster,
        f"""
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {{name: db, namespace: {namespace}}}
        spec:
          serviceName: db
          replicas: 1
          selector: {{matchLabels: {{app: db}}}}
          template:
            metadata: {{labels: {{app: db}}}}
            spec:
              containers:
              - name: db
                image: registry.invalid/db:1
                volumeMounts: [{{name: data, mountPath: /data}}]
          volumeClaimTemplates:
          - metadata: {{name: data}}
            spec:
              accessModes: [ReadWriteOnce]
              resources: {{requests: {{storage: 1Gi}}}}
        """,
    )
    wait(local_cluster, namespace, "statefulset/db", "jsonpath={.status.readyReplicas}=1")
    wait(local_cluster, namespace, "pvc/data-db-0", "jsonpath={.status.phase}=Bound")


def test_job_completes(local_cluster: Cluster, namespace: str) -> None:
    apply(
        local_cluster,
        f"""
        apiVersion: batch/v1
        kind: Job
        metadata: {{name: once, namespace: {namespace}}}
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: once
                image: registry.invalid/once:1
        """,
    )
    wait(local_cluster, namespace, "job/once", "condition=Complete")


def test_claim_binds(local_cluster: Cluster, namespace: str) -> None:
    apply(
        local_cluster,
        f"""
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {{name: data, namespace: {namespace}}}
        spec:
          accessModes: [ReadWriteOnce]
          resources: {{requests: {{storage: 5Gi}}}}
        """,
    )
    wait(local_cluster, namespace, "pvc/data", "jsonpath={.status.phase}=Bound")
    claim = json.loads(
        local_cluster.kubectl("-n", namespace, "get", "pvc/data", "-o", "json").stdout
    )
    assert claim["spec"]["storageClassName"] == "mlplat-local"
    assert claim["status"]["capacity"]["storage"] == "5Gi"


def test_pod_security_refuses_a_privileged_pod(local_cluster: Cluster) -> None:
    local_cluster.kubectl("create", "namespace", "restricted")
    local_cluster.kubectl(
        "label", "namespace", "restricted", "pod-security.kubernetes.io/enforce=restricted"
    )
    # Without its default service account a pod is refused earlier, by ServiceAccount admission.
    wait(local_cluster, "restricted", "serviceaccount/default", "create")
    refused = local_cluster.kubectl(
        "-n",
        "restricted",
        "run",
        "root",
        "--image=registry.invalid/root:1",
        "--privileged",
        check=False,
    )
    assert refused.returncode != 0
    assert 'violates PodSecurity "restricted:latest"' in refused.stderr


def test_the_documented_command_starts_and_stops_everything(tmp_path: Path) -> None:
    require_control_plane()
    command = [sys.executable, "-m", "toolchain.cluster"]
    started = subprocess.run(
        [*command, "up", "--dir", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        assert started.returncode == 0, started.stderr
        assert Path(started.stdout.strip()) == tmp_path / "kubeconfig"
        state = json.loads((tmp_path / "state.json").read_text())
        running = [processes.Running.from_dict(item) for item in state["components"]]
        assert [item.name for item in running] == [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kwok",
        ]
        assert all(processes.is_alive(item) for item in running)
    finally:
        stopped = subprocess.run(
            [*command, "down", "--dir", str(tmp_path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    assert stopped.returncode == 0, stopped.stderr
    assert not any(processes.is_alive(item) for item in running)


def test_a_pod_larger_than_the_node_is_not_scheduled(
    local_cluster: Cluster, namespace: str
) -> None:
    local_cluster.kubectl(
        "-n",
        namespace,
        "run",
        "huge",
        "--image=registry.invalid/huge:1",
        "--overrides",
        json.dumps(
            {
                "spec": {
                    "containers": [
                        {
                            "name": "huge",
                            "image": "registry.invalid/huge:1",
                            "resources": {"requests": {"cpu": "3"}},
                        }
                    ]
                }
            }
        ),
    )
    wait(
        local_cluster,
        namespace,
        "pod/huge",
        "jsonpath={.status.conditions[?(@.type=='PodScheduled')].reason}=Unschedulable",
    )
    local_cluster.kubectl("-n", namespace, "delete", "pod", "huge", "--wait=false")


def test_the_api_server_can_be_stopped_and_started_again(local_cluster: Cluster) -> None:
    local_cluster.stop_component("kube-apiserver")
    assert local_cluster.kubectl("get", "nodes", "--request-timeout=2s", check=False).returncode
    restarted = local_cluster.start_component("kube-apiserver")
    assert restarted.server == local_cluster.server
    assert "kwok-node-0" in restarted.kubectl("get", "nodes", "-o", "name").stdout
    assert processes.is_alive(restarted.component("kube-apiserver"))
    assert all(processes.is_alive(item) for item in restarted.components)
