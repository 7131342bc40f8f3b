"""Outputs as printed: secrets withheld, unset ones skipped, kubectl pinned to the context."""

from __future__ import annotations

from pulumi import automation as auto

from mlplat.stack.outputs import output_lines, reach, split_outputs

DEV = {
    "profile": auto.OutputValue("dev", False),
    "mlflow_url": auto.OutputValue(None, False),
    "mlflow_port_forward": auto.OutputValue(
        "kubectl -n mlplat-registry port-forward svc/mlflow 5000:5000", False
    ),
    "argo_port_forward": auto.OutputValue(
        "kubectl -n mlplat-pipelines port-forward svc/argo-workflows-server 2746:2746", False
    ),
    "argo_token_command": auto.OutputValue(
        "kubectl -n mlplat-pipelines create token argo-ui", False
    ),
    "models_namespace": auto.OutputValue("mlplat-models", False),
    "models_service_account": auto.OutputValue("mlplat-models", False),
    "exposure": auto.OutputValue("nothing is exposed (no domain configured)", False),
}


def test_dev_outputs_say_how_to_reach_everything() -> None:
    outputs = split_outputs(DEV)
    assert "mlflow_url: None" not in output_lines(outputs)
    assert reach(outputs, context="kind-x") == [
        "MLflow: kubectl --context kind-x -n mlplat-registry port-forward svc/mlflow 5000:5000"
        "   then open http://localhost:5000",
        "Argo Workflows: kubectl --context kind-x -n mlplat-pipelines port-forward "
        "svc/argo-workflows-server 2746:2746   then open http://localhost:2746",
        "Argo login token: kubectl --context kind-x -n mlplat-pipelines create token argo-ui",
        "Inference: InferenceServices in namespace mlplat-models (service account mlplat-models); "
        "reach one with `kubectl --context kind-x -n mlplat-models port-forward "
        "svc/<name>-predictor 8080:80`",
        "Exposure: nothing is exposed (no domain configured)",
    ]


def test_exposed_outputs_use_the_urls_and_never_print_the_password() -> None:
    outputs = split_outputs(
        {
            "mlflow_url": auto.OutputValue("https://mlflow.ml.example.com", False),
            "argo_url": auto.OutputValue("https://argo.ml.example.com", False),
            "models_url_template": auto.OutputValue(
                "https://<name>-mlplat-models.models.ml.example.com", False
            ),
            "auth_username": auto.OutputValue("mlplat", False),
            "auth_password": auto.OutputValue("hunter2", True),
        }
    )
    lines = output_lines(outputs) + reach(outputs, context="prod")
    assert "MLflow: https://mlflow.ml.example.com" in lines
    assert "Inference: https://<name>-mlplat-models.models.ml.example.com" in lines
    assert "secret outputs (not shown): auth_password" in lines
    assert not any("hunter2" in line for line in lines)
