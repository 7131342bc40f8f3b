"""No champion yet: the server says which gate held the model back and exits 1 at once.

The registry is a real (SQLite) MLflow store built here as the pipeline leaves it when a gate
blocks promotion: version 1 registered with ``gates=blocked``, the evaluation report (its
reasons) logged to the run, the ``challenger`` alias set and no ``champion``. The server is run
as a project runs it (``python -m synthetic_project``, two workers), in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from synthetic_project import MODEL_NAME

from mlplat_runtime.serving.preflight import NOT_SERVABLE, check_servable, explain_missing

HERE = Path(__file__).resolve().parent
REASONS = [
    "fairness: recall gap 0.312 across 'sex' exceeds 0.1 (sex=F: 0.521 vs sex=M: 0.833)",
    "quality: roc_auc 0.6931 is below min_primary 0.75",
]


def _registry(tmp_path: Path, model_dir: Path, *, report: bool = True) -> str:
    """A store where version 1 of MODEL_NAME was held back by REASONS; its tracking URI."""
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("held-back", artifact_location=str(tmp_path / "art"))
    run = client.create_run(experiment)
    client.log_artifacts(run.info.run_id, str(model_dir), "model")
    if report:
        client.log_dict(
            run.info.run_id, {"passed": False, "reasons": REASONS}, "evaluation/report.json"
        )
    client.set_terminated(run.info.run_id)
    client.create_registered_model(MODEL_NAME)
    version = client.create_model_version(
        MODEL_NAME,
        source=f"runs:/{run.info.run_id}/model",
        run_id=run.info.run_id,
        tags={"gates": "blocked"},
        description="Blocked: " + "; ".join(REASONS),
    )
    client.set_registered_model_alias(MODEL_NAME, "challenger", version.version)
    return uri


def _serve(tmp_path: Path, uri: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "ML_PROJECT_ROOT": str(tmp_path),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        "MLFLOW_TRACKING_URI": uri,
    }
    return subprocess.run(
        [sys.executable, "-m", "synthetic_project", "--port", "0", "--workers", "2", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_a_held_back_model_names_its_gates_and_the_challenger_command(tmp_path, model_dir):
    uri = _registry(tmp_path, model_dir)
    done = _serve(tmp_path, uri)
    assert done.returncode == NOT_SERVABLE == 1, done.stderr
    err = done.stderr
    assert err.startswith(f"error: models:/{MODEL_NAME}@champion does not exist"), err
    assert "version 1 (alias challenger) was held back" in err
    for reason in REASONS:  # each gate with its numbers, whole
        assert f"  - {reason}\n" in err
    assert f"make serve MODEL_URI=models:/{MODEL_NAME}@challenger" in err
    assert f"python -m synthetic_project --model-uri models:/{MODEL_NAME}@challenger" in err
    # Before binding the port and forking: no worker started, none crash-looped.
    assert "Traceback" not in err and "listening on" not in done.stdout
    assert "worker" not in done.stdout + err


def test_the_reasons_come_from_the_description_when_the_report_is_gone(
    tmp_path, model_dir, monkeypatch
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", _registry(tmp_path, model_dir, report=False))
    message = explain_missing(f"models:/{MODEL_NAME}@champion", prog="serve")
    assert message is not None and "; ".join(REASONS) in message


def test_the_suggested_alias_resolves(tmp_path, model_dir, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", _registry(tmp_path, model_dir))
    assert explain_missing(f"models:/{MODEL_NAME}@challenger", prog="serve") is None
    assert explain_missing(str(model_dir), prog="serve") is None  # a path is not asked about


def test_nothing_registered_says_run_the_pipeline(tmp_path):
    done = _serve(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    assert done.returncode == 1, done.stderr
    assert f"no model named {MODEL_NAME!r} is registered" in done.stderr
    assert "make pipeline" in done.stderr and "Traceback" not in done.stderr


def test_an_unreachable_registry_is_left_to_the_workers(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens on port 9
    # The registry's error (connection refused) is not "no such alias": the workers retry it.
    assert check_servable(f"models:/{MODEL_NAME}@champion", prog="s", request_timeout_s=5) is None
