"""The monitor on Argo Workflows: a CronWorkflow that measures, decides, and submits a retraining.

On ``argo.monitor_schedules`` one container step runs ``python -m <package>.monitoring monitor``
in the project's image, the command ``make monitor`` runs. Its inputs are key-only artifacts of
the platform's artifact repository (bucket ``mlplat``, the workflow namespace's ``argo-s3``
identity, as for the pipeline): the prediction records under ``monitor/<name>/prediction-logs``
(where a deployed server's log is shipped), the label store ``monitor/<name>/feedback`` (where
the scheduled ``make feedback`` job keeps it), and the compacted records
``monitor/<name>/predictions``, written back when the step ends; the reports go to
``monitor/<name>/reports/<workflow>``. The step's ``decision`` output (``ok``, ``warn`` or
``retrain``, from ``artifacts/monitor/decision``) gates the second step, which creates a
Workflow from the pipeline's WorkflowTemplate when the decision is ``retrain``. That pipeline
trains on ``data.source``: point it at the labelled production export; ``champion`` moves only
when every gate passes, as in every run.

Creating that Workflow needs ``create`` on ``workflows`` for ``argo.service_account`` in the
namespace (the platform's ``argo-workflow`` account has it for the Argo server's submissions).
"""

from __future__ import annotations

__all__ = ["compile_monitor"]

from hera.workflows import (
    Container,
    CronWorkflow,
    EmptyDirVolume,
    Env,
    Parameter,
    Resource,
    Resources,
    RetryStrategy,
    S3Artifact,
    Step,
    Steps,
)
from hera.workflows import models as m

from .graph import Settings

#: The project root inside the image, and its user (as in ``argo.py``).
_ROOT = "/app"
_USER = 10001
_TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"


def _security() -> m.SecurityContext:
    return m.SecurityContext(
        run_as_non_root=True,
        run_as_user=_USER,
        run_as_group=_USER,
        allow_privilege_escalation=False,
        privileged=False,
        read_only_root_filesystem=True,
        capabilities=m.Capabilities(drop=["ALL"]),
        seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
    )


def _monitor_step(config: Settings, package: str, name: str, image: str) -> Container:
    argo = config.argo
    prefix = f"monitor/{name}"
    writable = {
        "prediction-logs": f"{_ROOT}/prediction-logs",
        "feedback": f"{_ROOT}/data/feedback",
        "predictions": f"{_ROOT}/data/predictions",
        "reports": f"{_ROOT}/artifacts/monitor",
    }
    volumes = [
        EmptyDirVolume(name=volume, mount_path=path, size_limit=m.Quantity("4Gi"))
        for volume, path in writable.items()
    ]
    volumes += [
        EmptyDirVolume(name="tmp", mount_path="/tmp", size_limit=m.Quantity("1Gi")),
        EmptyDirVolume(
            name="no-token", mount_path=_TOKEN_PATH, size_limit=m.Quantity("1Mi"), read_only=True
        ),
    ]
    inputs = [
        S3Artifact(name="prediction-logs", path=writable["prediction-logs"],
                   key=f"{prefix}/prediction-logs", optional=True),
        S3Artifact(name="feedback", path=writable["feedback"], key=f"{prefix}/feedback",
                   optional=True),
        S3Artifact(name="predictions", path=writable["predictions"],
                   key=f"{prefix}/predictions", optional=True),
    ]  # fmt: skip
    outputs: list[S3Artifact | Parameter] = [
        S3Artifact(name="predictions", path=writable["predictions"], key=f"{prefix}/predictions"),
        S3Artifact(
            name="reports",
            path=writable["reports"],
            key=f"{prefix}/reports/{{{{workflow.name}}}}",
        ),
        Parameter(
            name="decision",
            value_from=m.ValueFrom(path=f"{writable['reports']}/decision"),
        ),
    ]
    return Container(
        name="monitor",
        image=image,
        image_pull_policy="IfNotPresent",
        command=["python", "-m", f"{package}.monitoring"],
        args=["monitor"],
        env=[
            Env(name="MLFLOW_TRACKING_URI", value=argo.mlflow_tracking_uri),
            Env(name="ML_PROJECT_ROOT", value=_ROOT),
            Env(name="HOME", value="/tmp"),
            Env(name="MPLCONFIGDIR", value="/tmp/matplotlib"),
            Env(name="GIT_PYTHON_REFRESH", value="quiet"),
        ],
        resources=Resources(
            cpu_request=argo.cpu,
            cpu_limit=argo.cpu,
            memory_request=argo.memory,
            memory_limit=argo.memory,
        ),
        security_context=_security(),
        volumes=volumes,
        inputs=inputs,
        outputs=outputs,
        retry_strategy=RetryStrategy(limit=2, retry_policy="OnError"),
    )


def _submit_step(config: Settings, name: str) -> Resource:
    """Create one Workflow from the pipeline's WorkflowTemplate (what ``--submit`` does)."""
    manifest = (
        "apiVersion: argoproj.io/v1alpha1\n"
        "kind: Workflow\n"
        "metadata:\n"
        f"  generateName: {name}-retrain-\n"
        f"  namespace: {config.argo.namespace}\n"
        "  labels:\n"
        f"    app.kubernetes.io/name: {name}\n"
        "    app.kubernetes.io/component: retrain\n"
        "spec:\n"
        "  workflowTemplateRef:\n"
        f"    name: {name}-pipeline\n"
    )
    return Resource(
        name="submit-pipeline",
        action="create",
        manifest=manifest,
        success_condition="metadata.name",
    )


def compile_monitor(
    config: Settings, *, package: str, name: str, image: str | None = None
) -> CronWorkflow:
    """The monitor's CronWorkflow for the pipeline ``<name>-pipeline``, in ``image``."""
    argo = config.argo
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "mlplat"}
    monitor = _monitor_step(config, package, name, image or argo.image)
    submit = _submit_step(config, name)
    flow = Steps(
        name="monitor-and-retrain",
        sub_steps=[
            Step(name="monitor", template=monitor.name),
            Step(
                name="retrain",
                template=submit.name,
                when="{{steps.monitor.outputs.parameters.decision}} == retrain",
            ),
        ],
    )
    return CronWorkflow(
        name=f"{name}-monitor",
        namespace=argo.namespace,
        labels={**labels, "app.kubernetes.io/component": "monitor"},
        schedules=list(argo.monitor_schedules),
        timezone=argo.timezone,
        concurrency_policy="Forbid",
        starting_deadline_seconds=3600,
        successful_jobs_history_limit=3,
        failed_jobs_history_limit=3,
        entrypoint=flow.name,
        templates=[flow, monitor, submit],
        service_account_name=argo.service_account,
        security_context=m.PodSecurityContext(
            run_as_non_root=True,
            run_as_user=_USER,
            run_as_group=_USER,
            fs_group=_USER,
            seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
        ),
        active_deadline_seconds=argo.timeout_minutes * 60,
        pod_metadata=m.Metadata(labels={**labels, "app.kubernetes.io/component": "monitor-step"}),
    )
