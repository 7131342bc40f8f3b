"""The generated project's Argo manifests, as its golden files: Hera's models know every key,
checkov's Argo checks pass, and every pod is within Pod Security ``restricted``.

The golden files are written by a generated project's own Argo runner in the slow test
(``test_template_generated.py``), which fails when they differ from what the template makes now;
``MLPLAT_REGEN_GOLDEN=1`` there rewrites them. These checks read them, so they run fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.template.argo_models import unknown_keys
from tests.tools import checkov_failures, run_checkov

GOLDEN = Path(__file__).parent / "golden" / "argo"
MANIFESTS = sorted(GOLDEN.glob("*/*.yaml"))


def _model(path: Path) -> type:
    from hera.workflows import models

    return {"WorkflowTemplate": models.WorkflowTemplate, "CronWorkflow": models.CronWorkflow}[
        yaml.safe_load(path.read_text())["kind"]
    ]


def test_there_are_golden_manifests() -> None:
    names = {(p.parent.name, p.name) for p in MANIFESTS}
    for combination in ("defaults", "regression-apache"):
        assert (combination, "workflowtemplate.yaml") in names
        assert (combination, "cronworkflow.yaml") in names
        assert (combination, "monitor-cronworkflow.yaml") in names


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_key_is_known_to_heras_argo_models(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    model = _model(path)
    model.model_validate(data)  # types
    assert unknown_keys(data, model) == []  # and names, which model_validate lets through


def test_the_key_walk_catches_a_misspelt_key() -> None:
    from hera.workflows import models

    data = yaml.safe_load((GOLDEN / "defaults" / "workflowtemplate.yaml").read_text())
    data["spec"]["serviceAcountName"] = "x"
    data["spec"]["templates"][1]["container"]["securityContext"]["readOnlyRootFS"] = True
    models.WorkflowTemplate.model_validate(data)  # the models alone accept both
    assert unknown_keys(data, models.WorkflowTemplate) == [
        "spec.templates[1].container.securityContext.readOnlyRootFS",
        "spec.serviceAcountName",
    ]


@pytest.mark.parametrize("path", [p for p in MANIFESTS if p.name == "workflowtemplate.yaml"])
def test_every_pod_is_within_pod_security_restricted(path: Path) -> None:
    spec = yaml.safe_load(path.read_text())["spec"]
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] > 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    steps = [t for t in spec["templates"] if "container" in t]
    assert steps
    for template in steps:
        container = template["container"]
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["readOnlyRootFilesystem"] is True
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        assert container["args"] == ["--stage", template["name"]]
        assert {"name": "MLFLOW_TRACKING_URI"}.items() <= container["env"][0].items()
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert "/tmp" in mounts
        token = mounts["/var/run/secrets/kubernetes.io/serviceaccount"]
        assert token["readOnly"] is True  # the step's code sees no service-account token
        volumes = {v["name"]: v for v in template["volumes"]}
        assert all("emptyDir" in volumes[m["name"]] for m in mounts.values())


def test_checkov_argo_checks_pass() -> None:
    reports = run_checkov("argo_workflows", GOLDEN)
    assert checkov_failures(reports) == []
    assert sum(r["summary"]["passed"] for r in reports) > 0
