"""The monitor CronWorkflow's identity, proven against a real API server's RBAC.

A project's monitor CronWorkflow (``mlplat_runtime.pipeline.argo_monitor``) runs as the
platform's ``argo-monitor`` account and, on a ``retrain`` decision, its resource step creates a
Workflow from the project's WorkflowTemplate. Applied here for real: what ``mlplat render``
makes for the pipelines namespace (the namespace, Argo's CRDs, the ``argo-monitor`` and
``argo-ui`` accounts) and the chart's own ``argo-workflow`` account and Role (``helm template``
of the mirrored argo-workflows 1.0.18 with the program's values). Then:

1. ``kubectl auth can-i --as=system:serviceaccount:mlplat-pipelines:<account>`` (a
   SubjectAccessReview for the impersonated account): ``argo-monitor`` may create Workflows and
   report task results, and nothing else asked here; the chart's ``argo-workflow`` may not
   create Workflows (why the monitor has its own account);
2. the Workflow the resource step creates, as that account, is accepted (server-side dry
   run), and reading it back or deleting is forbidden;
3. the generated project's compiled CronWorkflow and WorkflowTemplate (the golden files the
   slow template test checks against a real project's compiler) are accepted by the API
   server with the CRDs installed (server-side dry run).

Not run here: Argo's controller and executor (no images); the CRDs are Argo's "minimal" ones,
so the API server checks the objects' shape, not every Argo field (Hera's models and checkov do
that offline in ``tests/template/test_template_argo.py``).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from tests.live import apply_helpers as ah
from tests.platform.platform_helpers import shared_chart_mirror
from tests.tools import unavailable
from toolchain import build
from toolchain import helm as helm_tool
from toolchain.cluster import Cluster

pytestmark = pytest.mark.live

NAMESPACE = "mlplat-pipelines"
GOLDEN = Path(__file__).parents[1] / "template" / "golden" / "argo" / "defaults"
MONITOR = f"system:serviceaccount:{NAMESPACE}:argo-monitor"
WORKFLOW = f"system:serviceaccount:{NAMESPACE}:argo-workflow"
#: (verb, resource, allowed) for the monitor's account: exactly what its steps do, no more.
MONITOR_RIGHTS = [
    ("create", "workflows.argoproj.io", True),
    ("create", "workflowtaskresults.argoproj.io", True),
    ("patch", "workflowtaskresults.argoproj.io", True),
    ("get", "workflows.argoproj.io", False),
    ("list", "workflows.argoproj.io", False),
    ("update", "workflows.argoproj.io", False),
    ("delete", "workflows.argoproj.io", False),
    ("get", "workflowtemplates.argoproj.io", False),
    ("create", "workflowtemplates.argoproj.io", False),
    ("delete", "workflowtemplates.argoproj.io", False),
    ("create", "cronworkflows.argoproj.io", False),
    ("create", "pods", False),
    ("get", "secrets", False),
]


def _tools() -> tuple[str, str, Path]:
    mlplat = shutil.which("mlplat") or str(Path(sys.executable).parent / "mlplat")
    if not Path(mlplat).exists():
        unavailable("the mlplat console script is not installed (pip install -e .)")
    helm = helm_tool.installed()
    if helm is None:
        unavailable("helm is not installed: run `python -m toolchain.helm` (or .ci/run)")
    mirror = shared_chart_mirror()
    if mirror is None:
        unavailable("no chart mirror (../shared/charts); set MLPLAT_TEST_CHART_MIRROR")
    return mlplat, str(helm), mirror


@pytest.fixture(scope="module")
def pipelines(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    """The session's control plane with the pipelines namespace's accounts and CRDs applied."""
    mlplat, helm, mirror = _tools()  # before starting a control plane that would go unused
    local_cluster: Cluster = request.getfixturevalue("local_cluster")
    out = tmp_path_factory.mktemp("monitor-rbac") / "render"
    env = {**os.environ, "MLPLAT_CHART_MIRROR": str(mirror), "NO_COLOR": "1"}
    rendered = ah.render(mlplat, out, "dev", None, env)
    ours = [
        obj
        for obj in rendered.rest()
        if obj["metadata"].get("namespace") == NAMESPACE
        and obj["kind"] in {"ServiceAccount", "Role", "RoleBinding"}
    ]
    (chart,) = [c for c in rendered.charts if c["name"] == "argo-workflows"]
    kube_version = build.TARGETS["kubernetes"].version()
    theirs = [  # the chart's workflow account, its Role and their binding
        obj
        for obj in ah.chart_objects(helm, chart, kube_version)
        if obj["kind"] in {"ServiceAccount", "Role", "RoleBinding"}
        and obj["metadata"]["name"] in {"argo-workflow", "argo-workflows-workflow"}
    ]
    assert {o["metadata"]["name"] for o in ours} >= {"argo-monitor", "argo-ui"}, ours
    assert {o["kind"] for o in theirs} == {"ServiceAccount", "Role", "RoleBinding"}, theirs
    crds = rendered.of_kind("CustomResourceDefinition")
    argo_crds = [c for c in crds if c["spec"]["group"] == "argoproj.io"]
    namespace = [n for n in rendered.of_kind("Namespace") if n["metadata"]["name"] == NAMESPACE]
    outcomes = [ah.apply(local_cluster, namespace), ah.apply(local_cluster, argo_crds)]
    ah.wait_established(local_cluster, argo_crds)
    outcomes += [
        ah.apply(local_cluster, ours),
        ah.apply(local_cluster, theirs, default_namespace=NAMESPACE),
    ]
    refused = [(ah.describe(o), m) for outcome in outcomes for o, m in outcome.refused]
    assert not refused, refused
    return local_cluster


def _can(cluster: Cluster, who: str, verb: str, resource: str) -> bool:
    result = cluster.kubectl(
        "auth", "can-i", verb, resource, "-n", NAMESPACE, f"--as={who}", check=False
    )
    assert result.stdout.strip() in {"yes", "no"}, result.stdout + result.stderr
    return result.stdout.strip() == "yes"


def _monitor_manifests() -> tuple[dict[str, object], dict[str, object]]:
    """The golden monitor CronWorkflow, and the Workflow its resource step creates (as Argo
    would, with the step's inputs and ``workflow.name`` substituted)."""
    cron = yaml.safe_load((GOLDEN / "monitor-cronworkflow.yaml").read_text())
    (submit,) = [t for t in cron["spec"]["workflowSpec"]["templates"] if "resource" in t]
    manifest = (
        submit["resource"]["manifest"]
        .replace("{{inputs.parameters.data-source}}", "data/production/w/labelled.parquet")
        .replace("{{workflow.name}}", "defaults-monitor-1700000000")
    )
    assert "{{" not in manifest, manifest
    return cron, yaml.safe_load(manifest)


@pytest.mark.parametrize(("verb", "resource", "allowed"), MONITOR_RIGHTS)
def test_the_monitor_account_has_exactly_its_rights(
    pipelines: Cluster, verb: str, resource: str, allowed: bool
) -> None:
    assert _can(pipelines, MONITOR, verb, resource) is allowed, (verb, resource)


def test_the_charts_workflow_account_cannot_start_workflows(pipelines: Cluster) -> None:
    assert _can(pipelines, WORKFLOW, "create", "workflowtaskresults.argoproj.io")
    assert not _can(pipelines, WORKFLOW, "create", "workflows.argoproj.io")


def test_the_retrain_workflow_is_created_as_the_monitor_and_not_read_back(
    pipelines: Cluster,
) -> None:
    _, workflow = _monitor_manifests()
    text = yaml.safe_dump(workflow)
    created = pipelines.kubectl(
        "create", "--dry-run=server", f"--as={MONITOR}", "-o", "yaml", "-f", "-", input=text
    )
    accepted = yaml.safe_load(created.stdout)
    assert accepted["metadata"]["name"].startswith("defaults-retrain-")
    assert accepted["spec"]["arguments"]["parameters"][1]["value"].startswith(
        "monitor/defaults/production/"
    )
    as_workflow = pipelines.kubectl(
        "create", "--dry-run=server", f"--as={WORKFLOW}", "-f", "-", input=text, check=False
    )
    assert as_workflow.returncode != 0 and "forbidden" in as_workflow.stderr.lower()
    for action in (("get", "workflows"), ("delete", "workflows", "--all")):
        denied = pipelines.kubectl(*action, "-n", NAMESPACE, f"--as={MONITOR}", check=False)
        assert denied.returncode != 0 and "forbidden" in denied.stderr.lower(), action


@pytest.mark.parametrize("manifest", ["monitor-cronworkflow.yaml", "workflowtemplate.yaml"])
def test_the_compiled_manifests_are_accepted_by_the_api_server(
    pipelines: Cluster, manifest: str
) -> None:
    text = (GOLDEN / manifest).read_text()
    kind = yaml.safe_load(text)["kind"]
    applied = pipelines.kubectl(
        "apply", "--server-side", "--dry-run=server", "-f", "-", input=text, check=False
    )
    assert applied.returncode == 0, applied.stderr
    assert f"{kind.lower()}.argoproj.io/" in applied.stdout, applied.stdout
