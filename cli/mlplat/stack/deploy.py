"""``mlplat deploy``: a generated project's model server as a KServe InferenceService.

The same machinery as ``mlplat up`` (`mlplat.stack.operations.run_up`: preview, confirm,
progress, recovery, exit codes), on its own stack per project (Pulumi project
``mlplat-model-<name>``, stack ``--stack``) in the same backend. The platform's stack
(``--platform-stack``) supplies what the deployment needs from the platform: its cluster
(the kube context pinned in its state), its in-cluster MLflow URL, the models namespace and
service account.

Rollout:

- ``mlplat deploy`` serves ``models:/<model>@champion``;
- ``--canary PERCENT`` adds ``@challenger`` next to it with that share of traffic (KServe
  v0.20 ``spec.canary[]``, see `mlplat_platform.deployment`);
- ``--promote`` points MLflow's ``champion`` alias at the challenger's version and serves it
  alone. MLflow stays the one source of truth for which version is the champion.

Removal and inspection are ``mlplat down --project DIR`` and ``mlplat status --project DIR``:
the same ``down`` and ``status`` as the platform's, on the `deployment_target`. They act on the
stack's state and never run the program, so they need neither the platform's stack nor
MLflow: a model can be removed after the platform is gone.

Everything that can be missing is checked before ``--yes`` is asked for: the project, the
Pulumi CLI, the platform's stack and outputs, MLflow's aliases for ``--canary``/``--promote``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlplat.errors import ExitCode, MlplatError, UsageError
from mlplat.stack.kube import resolve_context
from mlplat.stack.operations import UpResult, run_preview, run_up
from mlplat.stack.outputs import Outputs, split_outputs
from mlplat.stack.program import PLATFORM_PROJECT, InlineProgram, never_run
from mlplat.stack.project import Project, find_project
from mlplat.stack.registry import Registry, alias_version, move_alias
from mlplat.stack.session import Session, StackOptions, Target, preflight, sdk_errors
from mlplat.stack.state import read_facts
from mlplat.stack.ui import TerminalUi, Ui

if TYPE_CHECKING:
    from mlplat_platform.deployment import ModelDeploymentArgs, RecordsStore

__all__ = [
    "DeployOptions",
    "DeployResult",
    "deploy",
    "deployment_args",
    "deployment_target",
]


@dataclass(frozen=True, kw_only=True)
class DeployOptions:
    """Options of ``mlplat deploy``.

    Attributes:
        stack: The deployment's stack options (``--stack``, ``--backend``, ``--yes``,
            ``--project``: a directory inside the generated project, default the current one).
        image: The server image; default ``<package>:<version>``.
        platform_stack: The platform's stack (same backend).
        canary: Serve ``@challenger`` to this share of requests next to ``@champion``.
        promote: Make the challenger the champion and serve it alone.
        tracking_uri: MLflow as reachable from here (``--promote`` and ``--canary`` read
            versions there); default ``MLFLOW_TRACKING_URI``, else the platform's public URL.
        min_replicas: Stable predictor's minimum replicas.
        max_replicas: Stable predictor's maximum replicas.
        preview: Show what the deploy would change and change nothing (no confirmation
            needed, no alias moved): what a pull request's workflow runs.
    """

    stack: StackOptions = field(default_factory=StackOptions)
    image: str | None = None
    platform_stack: str = "dev"
    canary: int | None = None
    promote: bool = False
    tracking_uri: str | None = None
    min_replicas: int = 1
    max_replicas: int = 2
    preview: bool = False

    def __post_init__(self) -> None:
        if self.canary is not None and self.promote:
            raise UsageError(
                "--canary and --promote cannot be combined",
                hint="Roll the challenger out with --canary, then make it stable with --promote.",
            )
        if self.canary is not None and not 0 <= self.canary <= 100:
            raise UsageError(f"--canary {self.canary} is not a percentage (0 to 100)")
        if not 1 <= self.min_replicas <= self.max_replicas:
            raise UsageError("need 1 <= --min-replicas <= --max-replicas")


@dataclass(frozen=True, kw_only=True)
class DeployResult:
    """What ``mlplat deploy`` did: the update, and how to call the model."""

    up: UpResult
    project: Project
    promoted_version: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form for ``--json``."""
        data = self.up.as_dict()
        data["project"] = str(self.project.root)
        data["promoted_version"] = self.promoted_version
        return data

    def reach(self) -> list[str]:
        """How to send a V2 request to the model."""
        out = self.up.outputs.public
        if not out.get("port_forward"):
            return []
        forward = str(out["port_forward"])
        if self.up.kube_context:
            forward = forward.replace("kubectl ", f"kubectl --context {self.up.kube_context} ", 1)
        return [
            f"Reach it: {forward}",
            f"then POST http://localhost:8080{out.get('infer_path', '')} (Open Inference "
            "Protocol V2)",
        ]


@dataclass(frozen=True, kw_only=True)
class _Platform:
    kube_context: str
    outputs: Outputs
    secret_values: dict[str, Any]


def deploy(options: DeployOptions, ui: Ui | None = None) -> DeployResult:
    """Deploy (or roll out, or promote) the project's model on the platform."""
    project = find_project(options.stack.project or Path("."))
    session = preflight(options.stack, ui or TerminalUi())
    platform = _platform(session, options.platform_stack)
    context = resolve_context(platform.kube_context, source="the platform stack's kube context")
    registry = _registry(options, platform) if (options.promote or options.canary) else None
    args = deployment_args(project, options, platform.outputs.public, registry)
    promoted: list[str] = []

    def promote() -> None:
        assert registry is not None
        version = move_alias(registry, project.model_name, source="challenger", target="champion")
        promoted.append(version)
        session.ui.message(
            f"MLflow: {project.model_name}@champion now points at version {version}."
        )

    target = Target(
        project=project.pulumi_project,
        what=f"model {project.model_name}",
        action="deploy the model",
        program=_program(args, context.name),
        kube_context=context,
        command="deploy",
        before_update=promote if options.promote and not options.preview else None,
    )
    result = run_preview(session, target) if options.preview else run_up(session, target)
    return DeployResult(up=result, project=project, promoted_version=next(iter(promoted), None))


def deployment_target(project: Project) -> Target:
    """The project's deployment stack as ``down`` and ``status`` act on it (from its state).

    A deployment holds no data (the model stays in MLflow, the image in its registry), so
    nothing is protected and ``down --delete-data`` changes nothing.
    """
    return Target(
        project=project.pulumi_project,
        what=f"model {project.model_name}",
        action=f"remove model {project.model_name}",
        program=InlineProgram(body=never_run),
        command="deploy",
    )


def deployment_args(
    project: Project,
    options: DeployOptions,
    platform: dict[str, Any],
    registry: Registry | None,
) -> ModelDeploymentArgs:
    """The `ModelDeploymentArgs` for the project, the platform's outputs and the rollout step."""
    from mlplat_platform.deployment import (
        DEFAULT_TRACKING_URI,
        Canary,
        ModelDeploymentArgs,
        RecordsStore,
    )

    version = canary = None
    if registry is not None and options.promote:
        version = alias_version(registry, project.model_name, "challenger")
    elif registry is not None:
        version = alias_version(registry, project.model_name, "champion")
        challenger = alias_version(registry, project.model_name, "challenger")
        canary = Canary(percent=int(options.canary or 0), version=challenger)
    try:
        return ModelDeploymentArgs(
            name=project.service_name,
            image=options.image or project.default_image,
            model_name=project.model_name,
            tracking_uri=str(platform.get("mlflow_internal_url") or DEFAULT_TRACKING_URI),
            version=version,
            canary=canary,
            namespace=str(platform.get("models_namespace") or "mlplat-models"),
            service_account=str(platform.get("models_service_account") or "mlplat-models"),
            min_replicas=options.min_replicas,
            max_replicas=options.max_replicas,
            records=_records_store(platform, RecordsStore()),
        )
    except ValueError as exc:
        raise UsageError(f"cannot deploy {project.package}: {exc}") from None


def _records_store(platform: Mapping[str, Any], default: RecordsStore) -> RecordsStore:
    """Where the platform's model servers ship prediction records: its ``models_s3_*`` outputs.

    A platform deployed before those outputs existed gets the in-cluster store's defaults.
    """
    return replace(
        default,
        **{
            name: str(platform[f"models_s3_{name}"])
            for name in ("endpoint", "bucket", "region", "secret")
            if platform.get(f"models_s3_{name}")
        },
    )


def _program(args: ModelDeploymentArgs, kube_context: str) -> InlineProgram:
    def body() -> None:
        from mlplat_platform.deployment import build_deployment

        build_deployment(args, kube_context=kube_context)

    return InlineProgram(body=body)


def _platform(session: Session, name: str) -> _Platform:
    """The platform stack's outputs and cluster; deploying without a platform is an error."""
    from pulumi import automation as auto

    try:
        with sdk_errors("deploy", name):
            stack = session.workspace.select(
                project=PLATFORM_PROJECT, stack=name, program=never_run
            )
            raw = stack.outputs()
            facts = read_facts(stack.export_stack())
    except MlplatError as exc:
        if exc.exit_code != ExitCode.STACK_NOT_FOUND:
            raise
        raise MlplatError(
            f"there is no platform stack {name!r} in this backend to deploy onto",
            hint=f"Deploy the platform first (`mlplat up --stack {name}`), or pass "
            "--platform-stack and the --backend it lives in.",
            exit_code=ExitCode.STACK_NOT_FOUND,
        ) from None
    if facts.kube_context is None or not raw:
        raise MlplatError(
            f"platform stack {name!r} has no platform deployed",
            hint=f"Run `mlplat up --stack {name}` first.",
        )
    outputs = split_outputs(raw)
    secrets = {k: v.value for k, v in raw.items() if isinstance(v, auto.OutputValue) and v.secret}
    return _Platform(kube_context=facts.kube_context, outputs=outputs, secret_values=secrets)


def _registry(options: DeployOptions, platform: _Platform) -> Registry:
    """MLflow as reachable from this machine, for reading and moving aliases."""
    out = platform.outputs.public
    url = options.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or out.get("mlflow_url")
    if not url:
        forward = out.get("mlflow_port_forward") or "kubectl port-forward ..."
        forward = str(forward).replace("kubectl ", f"kubectl --context {platform.kube_context} ", 1)
        flag = "--promote" if options.promote else "--canary"
        raise UsageError(
            f"{flag} reads the champion and challenger versions in MLflow, which is not "
            "exposed (the platform has no domain)",
            hint=f"Run `{forward}` in another terminal, then pass --tracking-uri "
            "http://localhost:5000.",
        )
    username = os.environ.get("MLFLOW_TRACKING_USERNAME") or out.get("auth_username")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD") or platform.secret_values.get(
        "auth_password"
    )
    return Registry(url=str(url), username=username, password=password)
