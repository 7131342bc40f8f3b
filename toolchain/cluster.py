"""A local Kubernetes control plane with simulated nodes, for real deploys in tests and CI.

Usage::

    python -m toolchain.cluster up   --dir DIR [--nodes N]   # start; prints the kubeconfig path
    python -m toolchain.cluster env  --dir DIR               # `export KUBECONFIG=...` lines
    python -m toolchain.cluster down --dir DIR               # stop everything it started

It runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KWOK (built by
:mod:`toolchain.build`) on 127.0.0.1 only, on free ports. The API server has RBAC and the
PodSecurity and ServiceAccount admission plugins on; the webhook admission plugins
(MutatingAdmissionWebhook, ValidatingAdmissionWebhook) are off, because a webhook is served by
a pod and simulated pods run no process that could answer. Nodes are KWOK nodes sized like the
machine the dev profile promises to fit (2 CPU, 4 GiB allocatable), so the real scheduler
checks that claim. Claims of the default class ``mlplat-local`` get a volume from a KWOK stage
(see ``kwok-stages.yaml``) and the real persistent-volume controller binds them.

Everything (certificates, etcd data, logs, kubeconfig, ``state.json``) lives in DIR; ``down``
signals each component's process group and waits until it is gone.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from toolchain import build, pki, processes

__all__ = ["Cluster", "ClusterError", "ClusterOptions", "down", "main", "up"]

STAGES_FILE = Path(__file__).resolve().parent / "kwok-stages.yaml"
CONTEXT = "mlplat-local"
STORAGE_CLASS = "mlplat-local"
SERVICE_CIDR = "10.96.0.0/16"


class ClusterError(Exception):
    """The control plane could not start or stop; the message says why and where the logs are."""


@dataclass(frozen=True, kw_only=True)
class ClusterOptions:
    """What to start: where, and how many simulated nodes of which size."""

    directory: Path
    nodes: int = 1
    node_cpu: str = "2"
    node_memory: str = "4Gi"
    node_pods: str = "110"
    timeout: float = 90.0


@dataclass(frozen=True, kw_only=True)
class Cluster:
    """A running local control plane: how to reach it, for tests and subprocesses."""

    directory: Path
    kubeconfig: Path
    context: str
    server: str
    components: tuple[processes.Running, ...] = field(default=())

    def env(self) -> dict[str, str]:
        """os.environ plus KUBECONFIG and the toolchain's PATH: pass to ``subprocess.run``."""
        env = dict(os.environ)
        env.update(build.environment())
        env["KUBECONFIG"] = str(self.kubeconfig)
        return env

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run the toolchain's kubectl against this cluster; raises on failure if ``check``."""
        result = subprocess.run(
            [str(build.binary("kubectl")), "--kubeconfig", str(self.kubeconfig), *args],
            input=input,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result

    def stop_component(self, name: str) -> None:
        """Stop one component (fault tests: the API server going away during a deploy)."""
        processes.stop(self.component(name))

    def start_component(self, name: str) -> Cluster:
        """Start a stopped component again with its recorded command line, ports and log.

        Returns the cluster with the new process recorded (also in ``state.json``); its
        kubeconfig and server address are unchanged, so clients need nothing new.
        """
        old = self.component(name)
        if processes.is_alive(old):
            raise ClusterError(f"{name} is still running (pid {old.pid})")
        new = processes.spawn(name, old.argv, log=Path(old.log))
        cluster = replace(
            self,
            components=tuple(new if item.name == name else item for item in self.components),
        )
        _save(cluster)
        if name == "kube-apiserver":
            keys = pki.Pki(directory=self.directory / "pki")
            _wait(
                "kube-apiserver", lambda: _api_ok(self.server, keys, "/readyz"), 90, Path(new.log)
            )
        return cluster

    def component(self, name: str) -> processes.Running:
        """A component by name (``etcd``, ``kube-apiserver``...): fault tests stop one."""
        for running in self.components:
            if running.name == name:
                return running
        raise KeyError(name)


def _state_file(directory: Path) -> Path:
    return directory / "state.json"


def _load(directory: Path) -> Cluster | None:
    path = _state_file(directory)
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Cluster(
        directory=directory,
        kubeconfig=Path(data["kubeconfig"]),
        context=data["context"],
        server=data["server"],
        components=tuple(processes.Running.from_dict(item) for item in data["components"]),
    )


def _save(cluster: Cluster) -> None:
    data = {
        "kubeconfig": str(cluster.kubeconfig),
        "context": cluster.context,
        "server": cluster.server,
        "components": [running.as_dict() for running in cluster.components],
    }
    path = _state_file(cluster.directory)
    tmp = path.with_name(".state.json.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _wait(what: str, check: Callable[[], bool], timeout: float, logs: Path) -> None:
    """Poll ``check()`` until true; fail naming the component and its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, ValueError, ClusterError):
            pass
        time.sleep(0.2)
    raise ClusterError(f"{what} did not become ready in {timeout:.0f} s; see {logs}")


def _api_ok(server: str, keys: pki.Pki, path: str) -> bool:
    context = ssl.create_default_context(cafile=str(keys.cert("ca")))
    context.load_cert_chain(str(keys.cert("admin")), str(keys.key("admin")))
    with urllib.request.urlopen(f"{server}{path}", context=context, timeout=2) as response:
        return bool(response.status == 200)


def _node_manifest(name: str, options: ClusterOptions) -> dict[str, object]:
    resources = {"cpu": options.node_cpu, "memory": options.node_memory, "pods": options.node_pods}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "status": {"capacity": resources, "allocatable": resources},
    }


def _storage_class() -> dict[str, object]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "local.mlplat.dev/kwok",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": True,
    }


def _commands(
    options: ClusterOptions, keys: pki.Pki, ports: dict[str, int]
) -> dict[str, list[str]]:
    """The command line of each component, in start order."""
    directory = options.directory
    etcd_url = f"http://127.0.0.1:{ports['etcd']}"
    peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
    kubeconfigs = directory / "kubeconfigs"
    return {
        "etcd": [
            str(build.binary("etcd")),
            f"--data-dir={directory / 'etcd'}",
            "--name=mlplat-local",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=mlplat-local={peer_url}",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ],
        "kube-apiserver": [
            str(build.binary("kube-apiserver")),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={ports['apiserver']}",
            f"--tls-cert-file={keys.cert('apiserver')}",
            f"--tls-private-key-file={keys.key('apiserver')}",
            f"--client-ca-file={keys.cert('ca')}",
            f"--kubelet-client-certificate={keys.cert('admin')}",
            f"--kubelet-client-key={keys.key('admin')}",
            "--authorization-mode=RBAC",
            "--enable-admission-plugins=ServiceAccount,PodSecurity",
            "--disable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={keys.sa_public}",
            f"--service-account-signing-key-file={keys.key('sa')}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            # The `kubernetes` Service would get 127.0.0.1 as its endpoint, which endpoint
            # validation refuses (loopback); nothing simulated connects to it anyway.
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true",
            "--profiling=false",
        ],
        "kube-controller-manager": [
            str(build.binary("kube-controller-manager")),
            f"--kubeconfig={kubeconfigs / 'controller-manager.yaml'}",
            "--secure-port=0",
            "--leader-elect=false",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={keys.key('sa')}",
            f"--root-ca-file={keys.cert('ca')}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller",
            "--kube-api-qps=100",
            "--kube-api-burst=200",
        ],
        "kube-scheduler": [
            str(build.binary("kube-scheduler")),
            f"--kubeconfig={kubeconfigs / 'scheduler.yaml'}",
            f"--authentication-kubeconfig={kubeconfigs / 'scheduler.yaml'}",
            f"--authorization-kubeconfig={kubeconfigs / 'scheduler.yaml'}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports['scheduler']}",
            "--leader-elect=false",
            "--kube-api-qps=100",
            "--kube-api-burst=200",
        ],
        "kwok": [
            str(build.binary("kwok")),
            f"--kubeconfig={kubeconfigs / 'admin.yaml'}",
            f"--config={STAGES_FILE}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            # The nodes' kubelet address is KWOK's own server on loopback, so `kubectl logs`
            # and port-forward (proxied by the API server) reach it and nothing else.
            "--node-ip=127.0.0.1",
            f"--node-port={ports['kwok']}",
            f"--server-address=127.0.0.1:{ports['kwok']}",
            f"--tls-cert-file={keys.cert('apiserver')}",
            f"--tls-private-key-file={keys.key('apiserver')}",
        ],
    }


def up(options: ClusterOptions) -> Cluster:
    """Start the control plane in ``options.directory`` and wait until a node is Ready.

    A directory whose cluster still runs is refused; one left by ``down`` is reused (same
    certificates and etcd data: the objects written before are still there). On any failure
    everything started so far is stopped again.
    """
    started = time.monotonic()
    directory = options.directory.resolve()
    existing = _load(directory)
    if existing and any(processes.is_alive(item) for item in existing.components):
        raise ClusterError(f"a cluster already runs in {directory}: run `down --dir {directory}`")
    directory.mkdir(parents=True, exist_ok=True)
    options = replace(options, directory=directory)
    keys = pki.make_pki(directory / "pki")
    ports = {
        name: processes.free_port()
        for name in ("etcd", "etcd-peer", "apiserver", "scheduler", "kwok")
    }
    server = f"https://127.0.0.1:{ports['apiserver']}"
    kubeconfig = directory / "kubeconfig"
    for client in pki.CLIENTS:
        pki.write_kubeconfig(
            directory / "kubeconfigs" / f"{client}.yaml",
            pki=keys,
            client=client,
            server=server,
            context=CONTEXT,
        )
    pki.write_kubeconfig(kubeconfig, pki=keys, client="admin", server=server, context=CONTEXT)
    logs = directory / "logs"
    components: list[processes.Running] = []
    cluster = Cluster(directory=directory, kubeconfig=kubeconfig, context=CONTEXT, server=server)
    try:
        for name, argv in _commands(options, keys, ports).items():
            components.append(processes.spawn(name, argv, log=logs / f"{name}.log"))
            cluster = Cluster(
                directory=directory,
                kubeconfig=kubeconfig,
                context=CONTEXT,
                server=server,
                components=tuple(components),
            )
            _save(cluster)
            if name == "kube-apiserver":
                _wait(
                    "kube-apiserver",
                    lambda: _api_ok(server, keys, "/readyz"),
                    options.timeout,
                    logs / "kube-apiserver.log",
                )
        _bootstrap(cluster, options)
    except BaseException:
        _stop_all(components)
        raise
    print(f"cluster: up in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return cluster


def _bootstrap(cluster: Cluster, options: ClusterOptions) -> None:
    """Create the nodes and the storage class, then wait for what a deploy needs."""
    nodes = [f"kwok-node-{index}" for index in range(options.nodes)]
    manifests = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            *(_node_manifest(name, options) for name in nodes),
            _storage_class(),
        ],
    }
    # Client-side apply: a new Node is created by a plain POST, which keeps the status
    # (capacity and allocatable) the way a kubelet registers its node.
    cluster.kubectl("apply", "-f", "-", input=json.dumps(manifests))
    logs = cluster.directory / "logs"

    def nodes_ready() -> bool:
        out = cluster.kubectl(
            "get",
            "nodes",
            "-o",
            "jsonpath={range .items[*]}{.status.conditions[?(@.type=='Ready')].status}{'\\n'}{end}",
        ).stdout.split()
        return len(out) == len(nodes) and all(status == "True" for status in out)

    _wait("the simulated nodes (kwok)", nodes_ready, options.timeout, logs / "kwok.log")
    _wait(
        "the default service account (kube-controller-manager)",
        lambda: cluster.kubectl("get", "serviceaccount", "default", check=False).returncode == 0,
        options.timeout,
        logs / "kube-controller-manager.log",
    )
    for running in cluster.components:
        if not processes.is_alive(running):
            raise ClusterError(f"{running.name} exited; see {running.log}")


def _stop_all(components: Sequence[processes.Running]) -> None:
    for running in reversed(components):
        processes.stop(running)


def down(directory: Path) -> bool:
    """Stop every component recorded in ``directory``; False when nothing was running."""
    cluster = _load(directory.resolve())
    if cluster is None:
        return False
    was_running = any(processes.is_alive(item) for item in cluster.components)
    _stop_all(cluster.components)
    return was_running


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m toolchain.cluster``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m toolchain.cluster", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("command", choices=("up", "down", "env"))
    parser.add_argument("--dir", required=True, type=Path, help="State directory of the cluster.")
    parser.add_argument("--nodes", type=int, default=1, help="Simulated nodes (2 CPU, 4Gi each).")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            cluster = up(ClusterOptions(directory=args.dir, nodes=args.nodes))
            print(cluster.kubeconfig)
        elif args.command == "down":
            stopped = down(args.dir)
            print(
                "cluster: stopped" if stopped else "cluster: nothing was running", file=sys.stderr
            )
        else:
            cluster_state = _load(args.dir.resolve())
            if cluster_state is None:
                raise ClusterError(f"no cluster in {args.dir}: run `up --dir {args.dir}` first")
            print(f"export KUBECONFIG={cluster_state.kubeconfig}")
        return 0
    except (ClusterError, build.ToolchainError, RuntimeError) as error:
        print(f"cluster: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
