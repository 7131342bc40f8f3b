"""Every object the platform produces, applied for real to a real API server.

For the dev profile and for the prod profile with a domain and OIDC: `mlplat render` (with the
chart mirror), ``helm template`` of each mirrored chart with exactly the values the program
passes, then server-side apply in the program's order (namespaces, CRDs until Established, the
charts in install order, the rest) to a fresh local control plane (`toolchain.cluster`). Then:

1. the API server accepted every object (a refusal prints the object and the server's message);
2. Pod Security admitted every pod of every workload (no ``FailedCreate`` event naming
   PodSecurity, no "would violate PodSecurity" warning on apply);
3. every Deployment, StatefulSet, DaemonSet and Job became available or complete on the
   simulated nodes through the real scheduler; the dev profile on ONE 2 CPU / 4 GiB node (the
   machine it promises to fit), prod on several;
4. every PersistentVolumeClaim is Bound, and every Service with a selector has a ready
   endpoint (what pulumi-kubernetes awaits for a Service);
5. every object `mlplat render` lists exists with the same kind, namespace and name.

What this does not run: the Pulumi engine and providers, webhooks (off in the control plane),
images (KWOK pods run no process), NetworkPolicy enforcement and the operators' reconciliation
(no CloudNativePG instance pods, no KServe controller acting). ``.github/workflows/e2e.yml`` on
kind covers those.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.live import apply_helpers as ah
from tests.live.conftest import require_control_plane
from tests.platform.platform_helpers import shared_chart_mirror
from tests.tools import unavailable
from toolchain import build
from toolchain import helm as helm_tool
from toolchain.cluster import Cluster, ClusterOptions, down, up

pytestmark = [pytest.mark.live, pytest.mark.slow]

#: The prod config the test deploys: a domain and OIDC, the rest prod defaults.
PROD_CONFIG = {
    "profile": "prod",
    "domain": "ml.example.test",
    "oidc": {"issuer": "https://idp.example.test/realms/mlplat", "client_id": "mlplat"},
}
#: Simulated nodes per profile: dev must fit the one machine it promises; prod gets room.
NODES = {"dev": 1, "prod": 4}
WORKLOAD_TIMEOUT = 120.0


def _mlplat() -> str:
    found = shutil.which("mlplat") or str(Path(sys.executable).parent / "mlplat")
    if not Path(found).exists():
        unavailable("the mlplat console script is not installed (pip install -e .)")
    return found


def _helm() -> str:
    found = helm_tool.installed()
    if found is None:
        unavailable("helm is not installed: run `python -m toolchain.helm` (or .ci/run)")
    return str(found)


def _install_order(rendered: ah.Rendered, config: Path | None, profile: str) -> list[ah.Obj]:
    """``charts.yaml``'s charts in the order ``build_platform`` installs them (`charts_for`)."""
    from mlplat_platform.charts import charts_for
    from mlplat_platform.config import load_config_file

    pins = charts_for(load_config_file(config, profile=profile, environ={}))
    by_name = {chart["name"]: chart for chart in rendered.charts}
    assert sorted(by_name) == sorted(pin.name for pin in pins), "charts.yaml != charts_for"
    return [by_name[pin.name] for pin in pins]


def _operator_pods(rendered: ah.Rendered) -> tuple[float, float]:
    """CPU and GiB the CloudNativePG instances would request: the operator does not run here."""
    cpu = mem = 0.0
    for db in rendered.of_kind("Cluster"):
        requests = db["spec"].get("resources", {}).get("requests", {})
        instances = db["spec"].get("instances", 1)
        cpu += instances * ah.quantity(requests.get("cpu", "0"))
        mem += instances * ah.quantity(requests.get("memory", "0")) / 2**30
    return cpu, mem


def _assert_dev_fits(cluster: Cluster, rendered: ah.Rendered) -> None:
    """The dev profile's claim: all of it, database instances included, on one node."""
    ((node, (cpu, mem, cap_cpu, cap_mem)),) = [
        (name, row) for name, row in ah.footprint(cluster).items() if name != ah.UNSCHEDULED
    ]
    db_cpu, db_mem = _operator_pods(rendered)
    print(
        f"dev footprint on {node}: scheduled {cpu:.2f} CPU {mem:.2f} GiB + database instances "
        f"{db_cpu:.2f} CPU {db_mem:.2f} GiB = {cpu + db_cpu:.2f}/{cap_cpu:.0f} CPU "
        f"{mem + db_mem:.2f}/{cap_mem:.0f} GiB"
    )
    assert cpu + db_cpu <= cap_cpu and mem + db_mem <= cap_mem, "dev does not fit its node"


def _refusals(refused: list[tuple[ah.Obj, str]]) -> str:
    return "\n\n".join(
        f"--- {ah.describe(obj)} refused:\n{message}\n{yaml.safe_dump(obj, sort_keys=False)}"
        for obj, message in refused
    )


def _report(profile: str, phases: ah.Phases, cluster: Cluster, counts: dict[str, int]) -> None:
    lines = [f"\n[platform apply, {profile}] objects: {counts}", "footprint (requests):"]
    for node, (cpu, mem, cap_cpu, cap_mem) in ah.footprint(cluster).items():
        if node == ah.UNSCHEDULED and cpu == 0 and mem == 0:
            continue
        lines.append(f"  {node:<16} {cpu:5.2f}/{cap_cpu:.0f} CPU  {mem:5.2f}/{cap_mem:.0f} GiB")
    print("\n".join(lines))


@pytest.mark.parametrize("profile", ["dev", "prod"])
def test_platform_applies_for_real(profile: str, tmp_path: Path) -> None:
    require_control_plane()
    helm, mlplat = _helm(), _mlplat()
    mirror = shared_chart_mirror()
    if mirror is None:
        unavailable("no chart mirror (../shared/charts); set MLPLAT_TEST_CHART_MIRROR")
    config: Path | None = None
    if profile == "prod":
        config = tmp_path / "platform.yaml"
        config.write_text(yaml.safe_dump(PROD_CONFIG))
    env = {**os.environ, "MLPLAT_CHART_MIRROR": str(mirror), "NO_COLOR": "1"}
    phases = ah.Phases()

    with phases.time("render (mlplat)"):
        rendered = ah.render(mlplat, tmp_path / "render", profile, config, env)
        charts = _install_order(rendered, config, profile)
    kube_version = build.TARGETS["kubernetes"].version()
    with phases.time("helm template"):
        chart_docs = {c["name"]: ah.chart_objects(helm, c, kube_version) for c in charts}

    directory = tmp_path / "cluster"
    with phases.time("control plane up"):
        cluster = up(ClusterOptions(directory=directory, nodes=NODES[profile]))
    try:
        _apply_and_check(profile, cluster, rendered, charts, chart_docs, phases)
    finally:
        with phases.time("control plane down"):
            down(directory)
        print(phases.table())


def _apply_and_check(
    profile: str,
    cluster: Cluster,
    rendered: ah.Rendered,
    charts: list[ah.Obj],
    chart_docs: dict[str, list[ah.Obj]],
    phases: ah.Phases,
) -> None:
    refused: list[tuple[ah.Obj, str]] = []
    warnings: list[str] = []
    batch_errors: list[str] = []

    def record(outcome: ah.Applied) -> None:
        refused.extend(outcome.refused)
        warnings.extend(outcome.warnings)
        batch_errors.extend(outcome.batch_errors)

    def established(crds: list[ah.Obj]) -> None:
        bad = {id(obj) for obj, _ in refused}
        ah.wait_established(cluster, [c for c in crds if id(c) not in bad])

    with phases.time("apply namespaces"):
        record(ah.apply(cluster, rendered.of_kind("Namespace")))
    with phases.time("apply CRDs + Established"):
        record(ah.apply(cluster, rendered.of_kind("CustomResourceDefinition")))
        established(rendered.of_kind("CustomResourceDefinition"))
    # Each chart as helm.v4.Chart installs it, in the program's order: its own CRDs first (so
    # a chart whose objects need another chart's CRDs fails here as it would in `mlplat up`).
    for chart in charts:
        docs = chart_docs[chart["name"]]
        crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
        with phases.time("apply CRDs + Established"):
            record(ah.apply(cluster, crds))
            established(crds)
        with phases.time("apply charts"):
            rest = [d for d in docs if d["kind"] != "CustomResourceDefinition"]
            record(ah.apply(cluster, rest, default_namespace=chart["namespace"]))
    with phases.time("apply raw objects"):
        record(ah.apply(cluster, rendered.rest()))
    assert not refused, f"the API server refused {len(refused)} object(s):\n{_refusals(refused)}"
    # A batch that failed but whose objects all went in one by one is an ordering problem.
    assert not batch_errors, "apply failed as a batch:\n" + "\n".join(batch_errors)

    stuck_since: list[float] = []

    def hopeless() -> bool:
        """Stop early once pods stay unschedulable or Pod Security keeps refusing them."""
        if ah.pod_security_refusals(cluster) or ah.unscheduled(cluster):
            stuck_since.append(time.monotonic())
            return stuck_since[-1] - stuck_since[0] > 15
        stuck_since.clear()
        return False

    with phases.time("workloads ready"):
        seen = ah.wait_workloads(cluster, WORKLOAD_TIMEOUT, stop=hopeless)
    counts = {
        "raw": len(rendered.objects),
        "chart": sum(len(d) for d in chart_docs.values()),
        "workloads": len(seen),
    }
    _report(profile, phases, cluster, counts)
    if warnings:
        print("apply warnings:\n  " + "\n  ".join(sorted(set(warnings))))

    violations = [w for w in warnings if "PodSecurity" in w]
    violations += ah.pod_security_refusals(cluster)
    assert not violations, "Pod Security refused or warned:\n" + "\n".join(violations)
    levels = ah.enforced_levels(cluster)
    loose = sorted({w.namespace for w in seen if levels.get(w.namespace) != "restricted"})
    assert not loose, f"workloads in namespaces not enforcing restricted: {loose} ({levels})"
    pending = ah.unscheduled(cluster)
    assert not pending, (
        f"the scheduler could not place pods on {NODES[profile]} node(s) of 2 CPU / 4 GiB:\n"
        + "\n".join(pending)
    )
    not_done = [f"{w.kind} {w.namespace}/{w.name}: {w.status}" for w in seen if not w.done]
    assert not not_done, "workloads not available/complete:\n" + "\n".join(not_done)
    expected = {"Deployment", "Job"}
    assert expected <= {w.kind for w in seen}, f"no workloads found: {seen}"
    assert not ah.unbound_claims(cluster), ah.unbound_claims(cluster)
    unbacked = ah.services_without_endpoints(cluster)
    assert not unbacked, "Services whose selector matches no ready pod:\n" + "\n".join(unbacked)
    if profile == "dev":
        _assert_dev_fits(cluster, rendered)
    with phases.time("render listed == cluster"):
        absent = ah.missing(cluster, (obj for _, obj in rendered.objects))
        for chart in charts:
            absent += ah.missing(cluster, chart_docs[chart["name"]], chart["namespace"])
    assert not absent, "rendered objects missing from the cluster:\n" + "\n".join(absent)
