"""The monitor's CronWorkflow hands the labelled production rows to the pipeline it submits.

The monitor step exports the training table (``--training-set``) as an artifact and names it in
an output parameter; the retraining Workflow it creates passes both to the WorkflowTemplate,
whose every step finds the table at ``data/production`` and reads ``data.source`` from
``$ML_DATA_SOURCE``. Argo substitutes ``{{...}}`` itself, so these checks are on the manifests.
"""

from __future__ import annotations

from typing import Any

import yaml
from pipeline_toy import PIPELINE, Config

from mlplat_runtime.evaluation import production
from mlplat_runtime.pipeline.argo import compile_pipeline
from mlplat_runtime.pipeline.argo_monitor import PRODUCTION_DIR, SOURCE_ENV


def _compiled() -> tuple[dict[str, Any], dict[str, Any]]:
    manifests = compile_pipeline(PIPELINE, Config(), image="toy:1")
    assert manifests.monitor is not None
    return manifests.template.to_dict(), manifests.monitor.to_dict()


def _templates(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in spec["templates"]}


def test_the_monitor_runs_as_its_own_account_and_exports_the_training_table() -> None:
    _, monitor = _compiled()
    spec = monitor["spec"]["workflowSpec"]
    assert spec["serviceAccountName"] == "argo-monitor"  # argo-workflow may not create workflows
    step = _templates(spec)["monitor"]
    assert step["container"]["args"] == ["monitor", "--training-set", "--labels", "/app/labels"]
    inputs = {a["name"]: a for a in step["inputs"]["artifacts"]}
    assert inputs["labels"]["s3"] == {"key": "monitor/toy/labels"}
    assert all(a["optional"] for a in inputs.values())
    outputs = {a["name"]: a for a in step["outputs"]["artifacts"]}
    assert outputs["production"]["path"] == f"/app/{PRODUCTION_DIR}"
    assert outputs["production"]["s3"] == {"key": "monitor/toy/production/{{workflow.name}}"}
    assert outputs["feedback"]["s3"] == inputs["feedback"]["s3"]  # the label store, kept
    parameters = {p["name"]: p["valueFrom"] for p in step["outputs"]["parameters"]}
    assert parameters["data-source"] == {
        "path": "/app/artifacts/monitor/training-source",
        "default": "",
    }
    mounts = {m["mountPath"] for m in step["container"]["volumeMounts"]}
    assert {"/app/labels", f"/app/{PRODUCTION_DIR}", "/app/data/feedback"} <= mounts


def test_a_retrain_decision_creates_the_pipeline_on_the_production_rows() -> None:
    _, monitor = _compiled()
    templates = _templates(monitor["spec"]["workflowSpec"])
    (flow,) = [t for t in templates.values() if "steps" in t]
    (_, (retrain,)) = flow["steps"]
    assert retrain["arguments"]["parameters"] == [
        {"name": "data-source", "value": "{{steps.monitor.outputs.parameters.data-source}}"}
    ]
    submit = templates[retrain["template"]]
    assert submit["inputs"]["parameters"] == [{"name": "data-source"}]
    resource = submit["resource"]
    # Created, not read back: the monitor's account has no `get` on workflows.
    assert resource["action"] == "create" and "successCondition" not in resource
    manifest = yaml.safe_load(resource["manifest"])
    assert manifest["spec"]["workflowTemplateRef"] == {"name": "toy-pipeline"}
    assert manifest["spec"]["arguments"]["parameters"] == [
        {"name": "data-source", "value": "{{inputs.parameters.data-source}}"},
        {"name": "production", "value": "monitor/toy/production/{{workflow.name}}"},
    ]


def test_every_pipeline_step_can_train_on_the_production_rows() -> None:
    template, _ = _compiled()
    spec = template["spec"]
    # Empty by default: a run submitted by hand or on argo.schedules trains on data.source.
    assert spec["arguments"]["parameters"] == [
        {"name": "data-source", "value": ""},
        {"name": "production", "value": ""},
    ]
    steps = [t for t in spec["templates"] if "container" in t]
    assert len(steps) == len(PIPELINE.stages)
    for step in steps:
        env = {e["name"]: e["value"] for e in step["container"]["env"]}
        assert env[SOURCE_ENV] == "{{workflow.parameters.data-source}}"
        (table,) = [a for a in step["inputs"]["artifacts"] if a["name"] == "production"]
        # An optional artifact whose key is empty is skipped by Argo's executor.
        assert table == {
            "name": "production",
            "optional": True,
            "path": "/app/data/production",
            "s3": {"key": "{{workflow.parameters.production}}"},
        }


def test_the_table_lies_where_make_monitor_writes_it() -> None:
    assert PRODUCTION_DIR == production.PRODUCTION_DIR
