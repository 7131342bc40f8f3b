"""``mlplat deploy``: the project's model server on the platform, as a KServe InferenceService."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlplat.commands._common import verbose
from mlplat.commands._stack import (
    BackendOpt,
    ForceUnlockOpt,
    JsonOpt,
    RecoverOpt,
    StackOpt,
    YesOpt,
    emit,
    from_flags,
    stack_options,
)

__all__ = ["deploy"]


def deploy(
    ctx: typer.Context,
    project: Annotated[
        Path,
        typer.Option("--project", metavar="DIR", help="The generated project. Default: here."),
    ] = Path("."),
    image: Annotated[
        str | None,
        typer.Option("--image", metavar="REF", help="Server image. Default: <package>:<version>."),
    ] = None,
    canary: Annotated[
        int | None,
        typer.Option(
            "--canary", metavar="PERCENT", help="Serve @challenger to PERCENT of requests."
        ),
    ] = None,
    promote: Annotated[
        bool,
        typer.Option("--promote", help="Make @challenger the champion and serve it alone."),
    ] = False,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri",
            metavar="URL",
            help="MLflow as reachable from here, for --canary/--promote. "
            "Default: $MLFLOW_TRACKING_URI, else the platform's public URL.",
        ),
    ] = None,
    min_replicas: Annotated[int, typer.Option("--min-replicas", help="Minimum replicas.")] = 1,
    max_replicas: Annotated[int, typer.Option("--max-replicas", help="Maximum replicas.")] = 2,
    stack: StackOpt = "dev",
    platform_stack: Annotated[
        str, typer.Option("--platform-stack", metavar="NAME", help="The platform's stack.")
    ] = "dev",
    backend: BackendOpt = None,
    yes: YesOpt = False,
    preview: Annotated[
        bool,
        typer.Option(
            "--preview",
            help="Show what the deploy would change; change nothing (no --yes needed).",
        ),
    ] = False,
    as_json: JsonOpt = False,
    force_unlock: ForceUnlockOpt = False,
    recover: RecoverOpt = False,
) -> None:
    """Deploy this project's model server to the platform (KServe, Standard mode).

    Serves models:/<model>@champion from the platform's MLflow. --canary PERCENT rolls out
    @challenger next to it; --promote makes the challenger the champion. Previews and asks
    unless --yes.
    """
    from mlplat.stack.deploy import DeployOptions
    from mlplat.stack.deploy import deploy as run
    from mlplat.stack.outputs import output_lines
    from mlplat.stack.ui import TerminalUi

    # Every flag reaches the core by its name: --stack, --backend, --project, ... in the
    # deployment's StackOptions, the rollout flags in DeployOptions.
    options = from_flags(ctx, DeployOptions, stack=stack_options(ctx))
    result = run(options, TerminalUi(verbose=verbose(ctx)))
    verb = (
        "Previewed (nothing changed)"
        if preview
        else "Deployed"
        if result.up.deployed
        else "Nothing to change in"
    )
    typer.echo(f"{verb} {result.project.model_name} (stack {result.up.stack!r}).", err=True)
    lines = output_lines(result.up.outputs)
    emit(as_json, result.as_dict(), [*lines, "", *result.reach()])
