"""The ModelDeployment component under the mock runtime, and ``mlplat render --project``.

The InferenceService and ServingRuntime are custom resources: kubernetes-validate has no
schema and checkov no checks for them. So, beside focused assertions on KServe v0.20's
rules, the tests also build the pod KServe makes from them (runtime container with the
model's args appended, the predictor's pod fields: ``MergeRuntimeContainers`` /
``MergePodSpec`` in pkg/controller/v1beta1/inferenceservice/utils/utils.go) and run both
validators on that Pod, so every container field is checked against Kubernetes' schema and
checkov's pod checks.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from mlplat._cli import app
from mlplat.errors import UsageError
from mlplat.render._mock import run_mocked
from mlplat.render._objects import objects_and_charts
from mlplat.render.project import render_project
from mlplat.stack.project import find_project
from mlplat_platform.deployment import (
    DEFAULT_OBJECT_STORE,
    DEFAULT_TRACKING_URI,
    Canary,
    ModelDeploymentArgs,
    RecordsStore,
    build_deployment,
)
from tests.tools import checkov_failures, kubernetes_validate, run_checkov

runner = CliRunner()


def make_project(root: Path, package: str = "churn_model", model: str = "churn") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / ".copier-answers.yml").write_text(f"_commit: v0.1.0\npackage_name: {package}\n")
    (root / "pyproject.toml").write_text('[project]\nname = "churn-model"\nversion = "1.2.0"\n')
    (root / "config.toml").write_text(f'[registry]\nexperiment = "x"\nmodel_name = "{model}"\n')
    (root / "src").mkdir(exist_ok=True)
    return root


def render(args: ModelDeploymentArgs) -> dict[str, dict[str, Any]]:
    registrations, _ = run_mocked(lambda: build_deployment(args, kube_context="kind-x"))
    objects, _ = objects_and_charts(registrations)
    providers = [r for r in registrations if r.type == "pulumi:providers:kubernetes"]
    assert [p.inputs["context"] for p in providers] == ["kind-x"]
    return {o["kind"]: o for o in objects}


def pod_from(objects: dict[str, dict[str, Any]], predictor: dict[str, Any]) -> dict[str, Any]:
    """The pod KServe builds for ``predictor`` on the ServingRuntime."""
    runtime = objects["ServingRuntime"]["spec"]
    container = dict(runtime["containers"][0])
    container["args"] = [*container["args"], *predictor["model"]["args"]]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "predictor",
            "namespace": "mlplat-models",
            "annotations": predictor.get("annotations", {}),
        },
        "spec": {
            "serviceAccountName": predictor["serviceAccountName"],
            "automountServiceAccountToken": predictor["automountServiceAccountToken"],
            "securityContext": predictor["securityContext"],
            "containers": [container],
            "volumes": runtime["volumes"],
        },
    }


ARGS = ModelDeploymentArgs(name="churn-model", image="churn_model:1.2.0", model_name="churn")


def test_stable_predictor_serves_the_champion_in_standard_mode() -> None:
    objects = render(ARGS)
    assert set(objects) == {"ServingRuntime", "InferenceService"}
    isvc = objects["InferenceService"]
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    assert isvc["metadata"]["namespace"] == "mlplat-models"
    assert isvc["metadata"]["annotations"] == {"serving.kserve.io/deploymentMode": "Standard"}
    predictor = isvc["spec"]["predictor"]
    assert "canary" not in isvc["spec"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 2)
    assert predictor["serviceAccountName"] == "mlplat-models"
    assert predictor["model"] == {
        "modelFormat": {"name": "mlplat-churn-model"},
        "runtime": "churn-model",
        "protocolVersion": "v2",
        "args": ["--model-uri", "models:/churn@champion"],
    }
    runtime = objects["ServingRuntime"]["spec"]
    assert runtime["supportedModelFormats"] == [{"name": "mlplat-churn-model", "autoSelect": False}]
    assert runtime["protocolVersions"] == ["v2"]
    [container] = runtime["containers"]
    assert container["name"] == "kserve-container"
    assert container["ports"] == [{"containerPort": 8080, "name": "http1", "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": 8080}
    assert container["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": 8080}
    assert container["env"][:2] == [
        {"name": "MLFLOW_TRACKING_URI", "value": DEFAULT_TRACKING_URI},
        {"name": "HOME", "value": "/tmp"},
    ]
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}
    assert container["volumeMounts"][0] == {"name": "tmp", "mountPath": "/tmp"}
    assert runtime["volumes"][0] == {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}


def test_records_are_shipped_where_the_monitor_reads_them_with_the_keys_as_a_file() -> None:
    runtime = render(ARGS)["ServingRuntime"]["spec"]
    [container] = runtime["containers"]
    env = {e["name"]: e for e in container["env"]}
    # The key the project's monitor CronWorkflow downloads (pipeline/argo_monitor.py).
    assert (
        env["MLPLAT_RECORDS_S3_URL"]["value"] == "s3://mlplat/monitor/churn-model/prediction-logs"
    )
    assert env["MLPLAT_RECORDS_S3_ENDPOINT"]["value"] == DEFAULT_OBJECT_STORE
    assert env["MLPLAT_RECORDS_S3_REGION"]["value"] == "us-east-1"
    path = env["AWS_SHARED_CREDENTIALS_FILE"]["value"]
    # The keys are a read-only file from the models' Secret, never environment values.
    assert all("valueFrom" not in e and "KEY" not in e["name"] for e in container["env"])
    [mount] = [m for m in container["volumeMounts"] if m["name"] == "object-store"]
    assert mount["readOnly"] is True and path == f"{mount['mountPath']}/credentials"
    [volume] = [v for v in runtime["volumes"] if v["name"] == "object-store"]
    assert volume["secret"]["secretName"] == "mlplat-s3"
    assert volume["secret"]["items"] == [{"key": "credentials", "path": "credentials"}]
    external = RecordsStore(
        endpoint="https://s3.eu-west-1.amazonaws.com", bucket="b", region="eu-west-1"
    )
    spec = render(replace(ARGS, records=external))["ServingRuntime"]["spec"]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert env["MLPLAT_RECORDS_S3_URL"] == "s3://b/monitor/churn-model/prediction-logs"
    assert env["MLPLAT_RECORDS_S3_REGION"] == "eu-west-1"
    long = replace(ARGS, name="a-package-name-of-forty-four-characters-long")
    spec = render(long)["ServingRuntime"]["spec"]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    # The monitor's name for it (mlplat_runtime.pipeline.argo.resource_name): 40 characters.
    assert env["MLPLAT_RECORDS_S3_URL"] == (
        "s3://mlplat/monitor/a-package-name-of-forty-four-characters/prediction-logs"
    )
    kept = render(replace(ARGS, records=None))["ServingRuntime"]["spec"]
    assert "MLPLAT_RECORDS_S3_URL" not in {e["name"] for e in kept["containers"][0]["env"]}
    assert [v["name"] for v in kept["volumes"]] == ["tmp"]


def test_pods_meet_pod_security_restricted() -> None:
    pod = pod_from(render(ARGS), render(ARGS)["InferenceService"]["spec"]["predictor"])
    spec = pod["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = spec["containers"][0]["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["runAsUser"] == 10001  # the image's USER
    assert spec["automountServiceAccountToken"] is False


def test_canary_is_a_spec_canary_entry_with_the_challenger() -> None:
    args = ModelDeploymentArgs(
        name="churn-model",
        image="churn_model:1.2.0",
        model_name="churn",
        version="3",
        canary=Canary(percent=10, version="4"),
    )
    spec = render(args)["InferenceService"]["spec"]
    [canary] = spec["canary"]
    assert canary["trafficPercent"] == 10
    predictor = canary["predictor"]
    assert predictor["name"] == "challenger"
    assert predictor["minReplicas"] == 1 and "maxReplicas" not in predictor
    assert predictor["model"]["args"] == ["--model-uri", "models:/churn@challenger"]
    assert predictor["annotations"]["mlplat-model-version"] == "4"
    assert spec["predictor"]["annotations"]["mlplat-model-version"] == "3"
    assert "name" not in spec["predictor"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "Churn_Model"}, "DNS label"),
        ({"min_replicas": 3, "max_replicas": 2}, "min_replicas"),
        ({"cpu": "lots"}, "Kubernetes quantity"),
        ({"canary": Canary(percent=101)}, "between 0 and 100"),
        ({"canary": Canary(percent=5, alias="champion")}, "another alias"),
        ({"canary": Canary(percent=5, replicas=2)}, "min_replicas"),
    ],
)
def test_invalid_args_are_refused(overrides: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"name": "churn-model", "image": "i:1", "model_name": "churn"}
    values.update(overrides)
    with pytest.raises(ValueError, match=message):
        ModelDeploymentArgs(**values)


def test_project_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    root = make_project(tmp_path / "churn")
    project = find_project(root / "src")
    assert (project.root, project.package, project.model_name, project.version) == (
        root,
        "churn_model",
        "churn",
        "1.2.0",
    )
    assert project.service_name == "churn-model"
    assert project.pulumi_project == "mlplat-model-churn-model"
    assert project.default_image == "churn_model:1.2.0"


def test_not_a_project_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is not inside a project made by `mlplat new`"):
        find_project(tmp_path)
    root = make_project(tmp_path / "p")
    (root / "config.toml").write_text("[registry]\n")
    with pytest.raises(UsageError, match=r"has no \[registry\] model_name"):
        find_project(root)


def test_render_project_writes_the_objects(tmp_path: Path) -> None:
    root = make_project(tmp_path / "churn")
    out = tmp_path / "out"
    result = render_project(root, out)
    assert result.files == [
        "mlplat-models/inferenceservice-churn-model.yaml",
        "mlplat-models/servingruntime-churn-model.yaml",
    ]
    assert result.kinds == {"InferenceService": 1, "ServingRuntime": 1}
    isvc = yaml.safe_load((out / result.files[0]).read_text())
    assert isvc["spec"]["predictor"]["model"]["args"] == ["--model-uri", "models:/churn@champion"]
    with pytest.raises(UsageError, match="is not empty"):
        render_project(root, out)
    assert render_project(root, out, force=True).files == result.files


def test_render_project_cli(tmp_path: Path) -> None:
    root = make_project(tmp_path / "churn")
    result = runner.invoke(
        app, ["render", "--project", str(root), "--out", str(tmp_path / "o"), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["exports"]["infer_path"] == "/v2/models/churn/infer"
    bad = runner.invoke(app, ["render", "--project", str(tmp_path), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "mlplat new" in bad.stderr


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    """The project render plus the stable and canary pods KServe would create from it."""
    root = make_project(tmp_path / "churn")
    out = tmp_path / "out"
    render_project(root, out)
    canary = ModelDeploymentArgs(
        name="churn-model",
        image="churn_model:1.2.0",
        model_name="churn",
        canary=Canary(percent=20),
    )
    objects = render(canary)
    spec = objects["InferenceService"]["spec"]
    pods = out / "pods"
    pods.mkdir()
    for name, predictor in (
        ("stable", spec["predictor"]),
        ("canary", spec["canary"][0]["predictor"]),
    ):
        pod = pod_from(objects, predictor)
        pod["metadata"]["name"] = name
        (pods / f"pod-{name}.yaml").write_text(yaml.safe_dump(pod))
    return out


def test_render_passes_kubernetes_validate_strict(rendered: Path) -> None:
    files = sorted(str(p) for p in rendered.rglob("*.yaml"))
    proc = subprocess.run(
        [kubernetes_validate(), "--strict", "--quiet", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    unknown = {
        line.split(" for kind ")[1].split(" ")[0]
        for line in proc.stdout.splitlines()
        if "Couldn't find schema" in line
    }
    assert unknown <= {"InferenceService", "ServingRuntime"}, unknown


def test_render_passes_checkov(rendered: Path) -> None:
    reports = run_checkov("kubernetes", rendered)
    assert checkov_failures(reports) == []
    summary = [r["summary"] for r in reports]
    assert all(s["parsing_errors"] == 0 for s in summary), summary
    assert sum(s["passed"] for s in summary) > 50, "the pods were not checked"
    skipped = {c["check_id"] for r in reports for c in r["results"]["skipped_checks"]}
    assert skipped == {"CKV_K8S_43", "CKV_K8S_15", "CKV2_K8S_6"}
