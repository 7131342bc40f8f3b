"""The monitor on Argo Workflows: a CronWorkflow that measures, decides, and submits a retraining.

On ``argo.monitor_schedules`` one container step runs ``python -m <package>.monitoring monitor
--training-set`` in the project's image: ``make monitor``, and on a ``retrain`` decision the
first half of ``make monitor RETRAIN=1``, the labelled production rows written as a training
table (``data/production/<window>/``, ``mlplat_runtime.evaluation.production``) with its path in
``artifacts/monitor/training-source``. Its inputs are key-only artifacts of the platform's
artifact repository (bucket ``mlplat``, the workflow namespace's ``argo-s3`` identity, as for
the pipeline): the prediction records under ``monitor/<name>/prediction-logs`` (where a deployed
server's log is shipped), the labels files dropped under ``monitor/<name>/labels/`` (the
business's exports, as ``make feedback SOURCE=`` takes them: the step adds each to the label
store first, and a file already stored adds nothing), the label store ``monitor/<name>/feedback``
and the compacted records ``monitor/<name>/predictions``, both written back when the step ends;
the reports go to ``monitor/<name>/reports/<workflow>`` and the training table to
``monitor/<name>/production/<workflow>``.

The step's ``decision`` output (``ok``, ``warn`` or ``retrain``) gates the second step, which
creates a Workflow from the pipeline's WorkflowTemplate with two arguments: ``data-source``, the
table's path, and ``production``, the key of that artifact. The template's steps place the
artifact at ``data/production`` and train on ``$ML_DATA_SOURCE`` (`SOURCE_ENV`), so ingest
snapshots the production rows with their window in the provenance and evaluate compares
challenger and champion on the recent window, as locally; ``champion`` moves only when every
gate passes, as in every run.

The CronWorkflow runs as ``argo.monitor_service_account``, the platform's ``argo-monitor``
(``platform/mlplat_platform/argo_accounts.py``): ``create`` on ``workflows`` and the executor's
``workflowtaskresults``, nothing else. The chart's ``argo-workflow`` account, every other
workflow's, may not create workflows. The resource step creates and does not wait (a success
condition would read the Workflow back, which the account may not).
"""

from __future__ import annotations

__all__ = [
    "DATA_SOURCE_PARAMETER",
    "PRODUCTION_DIR",
    "PRODUCTION_PARAMETER",
    "SOURCE_ENV",
    "compile_monitor",
]

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
#: Where the training table of labelled production rows lies, relative to the project root
#: (``mlplat_runtime.evaluation.production.PRODUCTION_DIR``; this module imports no pandas).
PRODUCTION_DIR = "data/production"
#: The pipeline template's argument naming the table to train on (empty: ``data.source``).
DATA_SOURCE_PARAMETER = "data-source"
#: The pipeline template's argument naming the S3 key of the ``data/production`` artifact.
PRODUCTION_PARAMETER = "production"
#: The environment variable a project's config reads ``data.source`` from when it is set.
SOURCE_ENV = "ML_DATA_SOURCE"


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
        "labels": f"{_ROOT}/labels",
        "feedback": f"{_ROOT}/data/feedback",
        "predictions": f"{_ROOT}/data/predictions",
        "reports": f"{_ROOT}/artifacts/monitor",
        "production": f"{_ROOT}/{PRODUCTION_DIR}",
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
        S3Artifact(name="labels", path=writable["labels"], key=f"{prefix}/labels",
                   optional=True),
        S3Artifact(name="feedback", path=writable["feedback"], key=f"{prefix}/feedback",
                   optional=True),
        S3Artifact(name="predictions", path=writable["predictions"],
                   key=f"{prefix}/predictions", optional=True),
    ]  # fmt: skip
    outputs: list[S3Artifact | Parameter] = [
        S3Artifact(name="predictions", path=writable["predictions"], key=f"{prefix}/predictions"),
        S3Artifact(name="feedback", path=writable["feedback"], key=f"{prefix}/feedback"),
        S3Artifact(
            name="reports",
            path=writable["reports"],
            key=f"{prefix}/reports/{{{{workflow.name}}}}",
        ),
        S3Artifact(
            name="production",
            path=writable["production"],
            key=f"{prefix}/production/{{{{workflow.name}}}}",
        ),
        Parameter(
            name="decision",
            value_from=m.ValueFrom(path=f"{writable['reports']}/decision"),
        ),
        Parameter(
            name=DATA_SOURCE_PARAMETER,
            value_from=m.ValueFrom(path=f"{writable['reports']}/training-source", default=""),
        ),
    ]
    return Container(
        name="monitor",
        image=image,
        image_pull_policy="IfNotPresent",
        command=["python", "-m", f"{package}.monitoring"],
        args=["monitor", "--training-set", "--labels", writable["labels"]],
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
    """Create one Workflow from the pipeline's WorkflowTemplate, on the production rows."""
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
        "  arguments:\n"
        "    parameters:\n"
        f"      - name: {DATA_SOURCE_PARAMETER}\n"
        f'        value: "{{{{inputs.parameters.{DATA_SOURCE_PARAMETER}}}}}"\n'
        f"      - name: {PRODUCTION_PARAMETER}\n"
        f'        value: "monitor/{name}/production/{{{{workflow.name}}}}"\n'
    )
    return Resource(
        name="submit-pipeline",
        action="create",
        manifest=manifest,
        inputs=[Parameter(name=DATA_SOURCE_PARAMETER)],
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
                arguments=[
                    Parameter(
                        name=DATA_SOURCE_PARAMETER,
                        value=f"{{{{steps.monitor.outputs.parameters.{DATA_SOURCE_PARAMETER}}}}}",
                    )
                ],
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
        service_account_name=argo.monitor_service_account,
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
