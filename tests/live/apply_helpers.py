"""Apply everything the platform renders to a real API server, and read back what happened.

Pulumi cannot create resources on this machine (its providers are not buildable at the pinned
versions), so this is the strongest check that runs: the objects `mlplat render` writes, plus
each mirrored chart rendered by a real ``helm template`` with exactly the values, release name
and namespace the program gives ``helm.v4.Chart``, applied server-side by a real ``kubectl`` to
the local control plane (`toolchain.cluster`: RBAC, PodSecurity and ServiceAccount admission,
real scheduler, KWOK nodes). The functions here do one step each and return what they saw; the
test decides what is a failure.

How the program's ``helm.v4.Chart`` is matched (pulumi-kubernetes provider/pkg/helm/tool.go):
CRDs of the chart's ``crds/`` directory are included (``skipCrds`` is never set), hooks are not
applied (the release manifest holds no hook; the platform replaces each hook it needs), test
hooks are skipped, and objects without a namespace get the chart's namespace.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from toolchain.cluster import Cluster

__all__ = [
    "FIELD_MANAGER",
    "Applied",
    "Phases",
    "Rendered",
    "UNSCHEDULED",
    "Workload",
    "apply",
    "chart_objects",
    "enforced_levels",
    "footprint",
    "missing",
    "pod_security_refusals",
    "quantity",
    "render",
    "services_without_endpoints",
    "unbound_claims",
    "wait_established",
    "wait_workloads",
]

FIELD_MANAGER = "mlplat-apply-test"
_REDACTED = "<redacted"
_WORKLOAD_KINDS = "deployments,statefulsets,daemonsets,jobs"

Obj = dict[str, Any]

#: libyaml's loader where PyYAML has it: the charts' CRDs are megabytes of YAML.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_all(text: str) -> list[Obj]:
    return [doc for doc in yaml.load_all(text, Loader=_LOADER) if doc]


def _as_list(docs: Iterable[Obj]) -> str:
    """Objects as one JSON ``List`` for ``kubectl -f -`` (JSON is far faster than YAML here)."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)})


@dataclass
class Phases:
    """Wall-clock seconds per named phase, printed at the end of a run."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def time(self, name: str) -> Iterator[None]:
        """Time the block under ``name`` (added to what the name already has)."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - started

    def table(self) -> str:
        """One line per phase and a total."""
        rows = [f"  {name:<28}{value:7.1f}s" for name, value in self.seconds.items()]
        rows.append(f"  {'total':<28}{sum(self.seconds.values()):7.1f}s")
        return "\n".join(rows)


@dataclass(frozen=True)
class Rendered:
    """What `mlplat render` wrote: the raw objects (with their file) and the charts."""

    objects: list[tuple[Path, Obj]]
    charts: list[Obj]

    def of_kind(self, kind: str) -> list[Obj]:
        """The raw objects of one kind."""
        return [obj for _, obj in self.objects if obj["kind"] == kind]

    def rest(self) -> list[Obj]:
        """The raw objects that are neither namespaces nor CRDs."""
        skip = {"Namespace", "CustomResourceDefinition"}
        return [obj for _, obj in self.objects if obj["kind"] not in skip]


def render(
    mlplat: str, out: Path, profile: str, config: Path | None, env: Mapping[str, str]
) -> Rendered:
    """Run ``mlplat render`` as a user types it and read back every file it wrote.

    The render's Secrets carry redacted placeholders (it never sees generated credentials);
    each placeholder is replaced by a fresh random token, as ``mlplat up`` would generate.
    """
    argv = [mlplat, "render", "--out", str(out), "--profile", profile]
    if config is not None:
        argv += ["--config", str(config)]
    result = subprocess.run(argv, env=dict(env), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed:\n{result.stderr}")
    objects: list[tuple[Path, Obj]] = []
    for path in sorted(out.rglob("*.yaml")):
        if path.name == "charts.yaml":
            continue
        obj = yaml.load(path.read_text(), Loader=_LOADER)
        objects.append((path, _fill_placeholders(obj)))
    charts = yaml.safe_load((out / "charts.yaml").read_text())["charts"]
    return Rendered(objects=objects, charts=charts)


def _fill_placeholders(obj: Obj) -> Obj:
    if obj.get("kind") == "Secret":
        for key, value in (obj.get("stringData") or {}).items():
            if isinstance(value, str) and value.startswith(_REDACTED):
                obj["stringData"][key] = secrets.token_hex(16)
    return obj


def chart_objects(helm: str, chart: Obj, kube_version: str) -> list[Obj]:
    """``helm template`` of one chart entry of ``charts.yaml``, as ``helm.v4.Chart`` renders it.

    Release name and namespace are the entry's ``name`` and ``namespace`` (`ChartSource.chart`
    releases every pin as ``pin.name`` in the component's namespace); the values are exactly
    the entry's ``values``; ``chart`` must be a mirror archive. Namespaced objects without a
    namespace are left so: `apply` gives them the chart's namespace, as the provider does.
    """
    if chart.get("source") != "mirror":
        raise AssertionError(f"chart {chart['name']} is not from the mirror: {chart['chart']}")
    argv = [
        helm,
        "template",
        chart["name"],
        chart["chart"],
        "--namespace",
        chart["namespace"],
        "--include-crds",
        "--no-hooks",
        "--skip-tests",
        "--kube-version",
        kube_version,
        "--values",
        "-",
    ]
    result = subprocess.run(
        argv,
        input=yaml.safe_dump(chart.get("values") or {}),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"helm template {chart['name']} failed:\n{result.stderr}")
    return _load_all(result.stdout)


def describe(obj: Obj) -> str:
    """``Kind namespace/name`` (or ``Kind name`` when cluster-scoped)."""
    meta = obj.get("metadata", {})
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {where}{meta.get('name')}"


@dataclass(frozen=True)
class Applied:
    """The outcome of one `apply`: refusals (object, server message), warnings, batch errors.

    ``batch_errors`` holds what a whole batch's apply printed when it failed; the objects are
    then applied one by one, and only those refused alone are in ``refused``.
    """

    refused: list[tuple[Obj, str]]
    warnings: list[str]
    batch_errors: list[str] = field(default_factory=list)


def _kubectl_apply(cluster: Cluster, docs: list[Obj], namespace: str | None) -> tuple[int, str]:
    args = ["apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", "-"]
    if namespace is not None:
        args = ["-n", namespace, *args]
    result = cluster.kubectl(*args, input=_as_list(docs), check=False)
    return result.returncode, result.stderr


def apply(cluster: Cluster, docs: Iterable[Obj], default_namespace: str | None = None) -> Applied:
    """Server-side apply ``docs``; on any error, once more one by one to name each refusal.

    Objects without a namespace get ``default_namespace`` (kubectl ignores it for
    cluster-scoped kinds, which it tells apart through the API server's discovery).
    """
    groups: dict[str | None, list[Obj]] = {}
    for obj in docs:
        namespace = obj.get("metadata", {}).get("namespace") or default_namespace
        groups.setdefault(namespace, []).append(obj)
    refused: list[tuple[Obj, str]] = []
    warnings: list[str] = []
    batch_errors: list[str] = []
    for namespace, group in groups.items():
        code, stderr = _kubectl_apply(cluster, group, namespace)
        warnings += [line for line in stderr.splitlines() if line.startswith("Warning:")]
        if code == 0:
            continue
        batch_errors.append(stderr.strip())
        for obj in group:
            one_code, one_err = _kubectl_apply(cluster, [obj], namespace)
            if one_code != 0:
                refused.append((obj, one_err.strip()))
    return Applied(refused=refused, warnings=warnings, batch_errors=batch_errors)


def wait_established(cluster: Cluster, crds: Iterable[Obj], timeout: float = 60) -> None:
    """Wait until every CRD is Established (the API server serves its kind).

    Polls itself: ``kubectl wait`` fails at once on a CRD whose ``status.conditions`` the API
    server has not written yet, which is the normal state right after creation.
    """
    names = {crd["metadata"]["name"] for crd in crds}
    deadline = time.monotonic() + timeout
    while names:
        out = cluster.kubectl("get", "crd", *sorted(names), "-o", "json").stdout
        found = json.loads(out)
        for crd in found.get("items", [found]):
            conditions = crd.get("status", {}).get("conditions") or []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                names.discard(crd["metadata"]["name"])
        if names and time.monotonic() > deadline:
            raise AssertionError(f"CRDs not Established after {timeout:.0f}s: {sorted(names)}")
        if names:
            time.sleep(0.5)


def _get(cluster: Cluster, what: str) -> list[Obj]:
    out = cluster.kubectl("get", what, "-A", "-o", "json").stdout
    items: list[Obj] = json.loads(out)["items"]
    return items


@dataclass(frozen=True)
class Workload:
    """A Deployment, StatefulSet, DaemonSet or Job and whether it is done."""

    kind: str
    namespace: str
    name: str
    done: bool
    status: str


def _judge(obj: Obj) -> Workload:
    kind, meta = obj["kind"], obj["metadata"]
    spec, status = obj.get("spec", {}), obj.get("status", {})
    want = spec.get("replicas", 1)
    fresh = status.get("observedGeneration", 0) >= meta.get("generation", 0)
    if kind == "Deployment":
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        done = (
            fresh
            and conditions.get("Available") == "True"
            and status.get("updatedReplicas", 0) == want
            and status.get("availableReplicas", 0) == want
        )
        text = f"{status.get('availableReplicas', 0)}/{want} available"
    elif kind == "StatefulSet":
        done = fresh and status.get("readyReplicas", 0) == want
        text = f"{status.get('readyReplicas', 0)}/{want} ready"
    elif kind == "DaemonSet":
        desired = status.get("desiredNumberScheduled", 0)
        done = fresh and status.get("numberAvailable", 0) == desired
        text = f"{status.get('numberAvailable', 0)}/{desired} available"
    else:
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        done = conditions.get("Complete") == "True"
        text = "complete" if done else f"active {status.get('active', 0)}"
    return Workload(kind, meta["namespace"], meta["name"], done, text)


def workloads(cluster: Cluster) -> list[Workload]:
    """Every workload in the cluster, judged the way pulumi-kubernetes awaits it."""
    return [_judge(obj) for obj in _get(cluster, _WORKLOAD_KINDS)]


def wait_workloads(
    cluster: Cluster, timeout: float, stop: Callable[[], bool] = lambda: False
) -> list[Workload]:
    """Poll until every workload is done, ``stop()`` says give up, or ``timeout``; the last look."""
    deadline = time.monotonic() + timeout
    while True:
        seen = workloads(cluster)
        if all(w.done for w in seen) or stop() or time.monotonic() > deadline:
            return seen
        time.sleep(1.0)


def pod_security_refusals(cluster: Cluster) -> list[str]:
    """Events where a controller could not create a pod because Pod Security refused it."""
    return [
        f"{e['involvedObject']['kind']} {e['metadata']['namespace']}/"
        f"{e['involvedObject']['name']}: {e.get('message', '')}"
        for e in _get(cluster, "events")
        if e.get("reason") == "FailedCreate" and "PodSecurity" in e.get("message", "")
    ]


def enforced_levels(cluster: Cluster) -> dict[str, str]:
    """Each namespace's enforced Pod Security level (``privileged`` where none is set)."""
    label = "pod-security.kubernetes.io/enforce"
    return {
        ns["metadata"]["name"]: (ns["metadata"].get("labels") or {}).get(label, "privileged")
        for ns in _get(cluster, "namespaces")
    }


def unscheduled(cluster: Cluster) -> list[str]:
    """Pods the scheduler could not place, with its message (``Insufficient cpu`` ...)."""
    found = []
    for pod in _get(cluster, "pods"):
        for cond in pod.get("status", {}).get("conditions", []):
            if cond["type"] == "PodScheduled" and cond["status"] != "True":
                found.append(f"{describe(pod)}: {cond.get('message', cond.get('reason'))}")
    return found


def services_without_endpoints(cluster: Cluster) -> list[str]:
    """Services with a selector that no ready pod backs (pulumi-kubernetes awaits one).

    A selector that matches no pod label is a defect only a cluster shows: the Service is
    accepted, and traffic goes nowhere.
    """
    ready: set[tuple[str, str]] = set()
    for eps in _get(cluster, "endpointslices"):
        service = (eps["metadata"].get("labels") or {}).get("kubernetes.io/service-name")
        if service and any(
            (e.get("conditions") or {}).get("ready") for e in eps.get("endpoints") or []
        ):
            ready.add((eps["metadata"]["namespace"], service))
    return [
        describe(svc)
        for svc in _get(cluster, "services")
        if svc["spec"].get("selector")
        and (svc["metadata"]["namespace"], svc["metadata"]["name"]) not in ready
    ]


def unbound_claims(cluster: Cluster) -> list[str]:
    """PersistentVolumeClaims that are not Bound."""
    return [
        f"{describe(pvc)}: {pvc.get('status', {}).get('phase')}"
        for pvc in _get(cluster, "persistentvolumeclaims")
        if pvc.get("status", {}).get("phase") != "Bound"
    ]


def missing(
    cluster: Cluster, objects: Iterable[Obj], default_namespace: str | None = None
) -> list[str]:
    """The objects (by kind, namespace and name) the API server does not have.

    Objects without a namespace are looked up in ``default_namespace`` (as `apply` put them).
    """
    groups: dict[str | None, list[Obj]] = {}
    for obj in objects:
        namespace = obj.get("metadata", {}).get("namespace") or default_namespace
        groups.setdefault(namespace, []).append(obj)
    absent: list[str] = []
    for namespace, docs in groups.items():
        args = ["get", "-f", "-", "-o", "name"]
        if namespace is not None:
            args = ["-n", namespace, *args]
        result = cluster.kubectl(*args, input=_as_list(docs), check=False)
        if result.returncode != 0:
            absent += [line for line in result.stderr.splitlines() if line.strip()]
    return absent


#: The `footprint` row of pods that are on no node.
UNSCHEDULED = "(unscheduled)"
_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}


def quantity(text: str) -> float:
    """A Kubernetes quantity as a number (CPU in cores, memory in bytes)."""
    if text.endswith("m"):
        return float(text[:-1]) / 1000
    for suffix, factor in _UNITS.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def _pod_requests(pod: Obj) -> tuple[float, float]:
    """What the scheduler reserves for a pod: max(sum of containers, largest init container)."""

    def of(container: Obj) -> tuple[float, float]:
        req = container.get("resources", {}).get("requests", {})
        return quantity(req.get("cpu", "0")), quantity(req.get("memory", "0"))

    spec = pod["spec"]
    running = [of(c) for c in spec.get("containers", [])]
    cpu, mem = sum(c for c, _ in running), sum(m for _, m in running)
    for init_cpu, init_mem in (of(c) for c in spec.get("initContainers", [])):
        cpu, mem = max(cpu, init_cpu), max(mem, init_mem)
    return cpu, mem


def footprint(cluster: Cluster) -> dict[str, tuple[float, float, float, float]]:
    """Per node: requested CPU, requested memory (GiB) of its live pods, and allocatable.

    Pods the scheduler could not place are summed under `UNSCHEDULED` (allocatable 0).
    """
    totals: dict[str, tuple[float, float, float, float]] = {UNSCHEDULED: (0.0, 0.0, 0.0, 0.0)}
    for node in _get(cluster, "nodes"):
        alloc = node["status"]["allocatable"]
        totals[node["metadata"]["name"]] = (
            0.0,
            0.0,
            quantity(alloc["cpu"]),
            quantity(alloc["memory"]) / 2**30,
        )
    for pod in _get(cluster, "pods"):
        node = pod["spec"].get("nodeName") or UNSCHEDULED
        if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            continue
        cpu, mem = _pod_requests(pod)
        used_cpu, used_mem, cap_cpu, cap_mem = totals[node]
        totals[node] = (used_cpu + cpu, used_mem + mem / 2**30, cap_cpu, cap_mem)
    return totals
