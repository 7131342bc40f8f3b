"""The generated project on the platform: a V2 prediction and its Argo WorkflowTemplate.

Subcommands (the workflow runs each inside a port-forward where one is needed):
  predict URL PROJECT_DIR   ask the model server at URL for its features (GET /v2/models/NAME),
                            send the first row of the project's own ingested snapshot as a
                            V2 [1, F] FP64 tensor, check one prediction comes back
  submit TEMPLATE_YAML      kubectl apply the WorkflowTemplate, submit a Workflow from it
                            (workflowTemplateRef) and wait until it succeeds
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

NAMESPACE = "mlplat-pipelines"


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def predict(url: str, project_dir: str) -> int:
    """One V2 prediction from a real row of the project's data."""
    import pandas as pd

    root = Path(project_dir)
    model = tomllib.loads((root / "config.toml").read_text())["registry"]["model_name"]
    meta = _get(f"{url}/v2/models/{model}")
    columns = meta["inputs"][0]["parameters"]["columns"]  # type: ignore[index]
    [snapshot] = sorted((root / "data" / "snapshots").glob("*/data.parquet"))[-1:]
    row = pd.read_parquet(snapshot)[columns].iloc[0].astype(float).tolist()
    body = {
        "inputs": [{"name": "input-0", "shape": [1, len(row)], "datatype": "FP64", "data": row}]
    }
    request = urllib.request.Request(
        f"{url}/v2/models/{model}/infer",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    [output] = [o for o in answer["outputs"] if o["name"] == "predict"]
    assert len(output["data"]) == 1, answer
    print(f"project model {model} (versions {meta.get('versions')}) predicted {output['data']}")
    return 0


def submit(template_path: str) -> int:
    """Apply the project's WorkflowTemplate and run one Workflow from it to success."""
    import yaml  # the runner's Python has it (mlplat depends on it); the project's may not

    template = yaml.safe_load(Path(template_path).read_text())
    name = template["metadata"]["name"]
    subprocess.run(["kubectl", "-n", NAMESPACE, "apply", "-f", template_path], check=True)
    workflow = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": f"{name}-e2e-", "namespace": NAMESPACE},
        "spec": {"workflowTemplateRef": {"name": name}},
    }
    created = subprocess.run(
        ["kubectl", "create", "-f", "-", "-o", "name"],
        input=json.dumps(workflow),
        text=True,
        check=True,
        capture_output=True,
    ).stdout.strip()
    print(f"submitted {created} from workflowtemplate/{name}")
    return subprocess.run(
        [
            "kubectl",
            "-n",
            NAMESPACE,
            "wait",
            "--for=jsonpath={.status.phase}=Succeeded",
            created,
            "--timeout=1200s",
        ],
        check=False,
    ).returncode


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    sys.exit({"predict": predict, "submit": submit}[command](*args))
