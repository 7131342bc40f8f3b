"""``mlplat up``: deploy the reference platform through the Pulumi Automation API."""

from __future__ import annotations

import typer

from mlplat.commands._common import verbose
from mlplat.commands._stack import (
    BackendOpt,
    ConfigOpt,
    ForceUnlockOpt,
    JsonOpt,
    KubeContextOpt,
    ProfileOpt,
    RecoverOpt,
    StackOpt,
    YesOpt,
    emit,
    stack_options,
)

__all__ = ["up"]


def up(
    ctx: typer.Context,
    stack: StackOpt = "dev",
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    backend: BackendOpt = None,
    kube_context: KubeContextOpt = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
    force_unlock: ForceUnlockOpt = False,
    recover: RecoverOpt = False,
) -> None:
    """Deploy the platform (MLflow, Argo Workflows, KServe and what they need).

    Shows the preview and asks before changing anything, unless --yes. Safe to run again: it
    updates what changed. Ends with the URLs, or the port-forward commands, to reach it.
    """
    from mlplat import stack as core
    from mlplat.stack.outputs import output_lines, reach
    from mlplat.stack.ui import TerminalUi

    # The flags reach the core by their names (`stack_options`).
    result = core.up(stack_options(ctx), TerminalUi(verbose=verbose(ctx)))
    verb = "Deployed" if result.deployed else "Nothing to change in"
    typer.echo(f"{verb} stack {result.stack!r} on {result.kube_context}.", err=True)
    lines = [*output_lines(result.outputs), "", *reach(result.outputs, context=result.kube_context)]
    emit(as_json, result.as_dict(), lines)
