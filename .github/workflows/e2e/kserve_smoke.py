"""KServe smoke test: a tiny scikit-learn model as an InferenceService answering a V2 request.

The model travels the platform's own path: it is logged to the platform's MLflow (artifacts
are proxied into the object store by ``mlflow server --serve-artifacts``), and the
InferenceService reads it from the object store with the ``mlplat-models`` service account,
whose S3 secret KServe's storage initializer uses. scikit-learn is pinned to the series
KServe v0.20.0's sklearnserver ships (python/sklearnserver/pyproject.toml: ~=1.5.1).

Steps (each a subcommand, so the workflow runs them between port-forwards):
  log URL          train and log the model through MLflow at URL; print its s3:// URI
  deploy S3_URI    apply the InferenceService and wait until it is Ready
  predict URL      send a V2 inference request to the predictor at URL
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

NAMESPACE = "mlplat-models"
NAME = "e2e-iris"
ROW = [6.8, 2.8, 4.8, 1.4]


def artifacts_destination() -> str:
    """The ``--artifacts-destination`` of the platform's MLflow server (its s3:// root)."""
    out = subprocess.run(
        ["kubectl", "-n", "mlplat-registry", "get", "deployment", "mlflow", "-o", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    container = json.loads(out)["spec"]["template"]["spec"]["containers"][0]
    words = " ".join(container.get("command", []) + container.get("args", [])).split()
    return words[words.index("--artifacts-destination") + 1].rstrip("/")


def log(url: str) -> int:
    """Train the model, log it through MLflow at ``url``, print its s3:// location."""
    import joblib
    import mlflow
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, target = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(features, target)
    mlflow.set_tracking_uri(url)
    mlflow.set_experiment("e2e-kserve")
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run():
        path = Path(tmp) / "model.joblib"
        joblib.dump(model, path)
        mlflow.log_artifact(str(path), artifact_path="iris")
        uri = mlflow.get_artifact_uri("iris")
    prefix = "mlflow-artifacts:/"
    assert uri.startswith(prefix), uri
    print(f"{artifacts_destination()}/{uri.removeprefix(prefix)}")
    return 0


def deploy(storage_uri: str) -> int:
    """Apply the InferenceService reading ``storage_uri`` and wait for Ready."""
    restricted = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "annotations": {"serving.kserve.io/deploymentMode": "Standard"},
        },
        "spec": {
            "predictor": {
                "serviceAccountName": "mlplat-models",
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 1000,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "model": {
                    "modelFormat": {"name": "sklearn"},
                    "protocolVersion": "v2",
                    "storageUri": storage_uri,
                    "securityContext": restricted,
                    "resources": {
                        "requests": {"cpu": "100m", "memory": "256Mi"},
                        "limits": {"cpu": "1", "memory": "1Gi"},
                    },
                },
            }
        },
    }
    subprocess.run(["kubectl", "apply", "-f", "-"], input=json.dumps(isvc), text=True, check=True)
    return subprocess.run(
        [
            "kubectl",
            "-n",
            NAMESPACE,
            "wait",
            "--for=condition=Ready",
            f"inferenceservice/{NAME}",
            "--timeout=600s",
        ],
        check=False,
    ).returncode


def predict(url: str, name: str = NAME) -> int:
    """Send one V2 inference request to the predictor at ``url`` and check the answer."""
    body = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": ROW}]}
    request = urllib.request.Request(
        f"{url}/v2/models/{name}/infer",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    outputs = answer["outputs"]
    assert outputs and len(outputs[0]["data"]) == 1, answer
    print(f"KServe: {name} answered {outputs[0]['data']} for {ROW}")
    return 0


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    sys.exit({"log": log, "deploy": deploy, "predict": predict}[command](*args))
