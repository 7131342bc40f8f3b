"""``mlplat status``: a stack's outputs, last update and resource counts."""

from __future__ import annotations

from typing import Annotated

import typer

from mlplat.commands._common import verbose
from mlplat.commands._stack import (
    BackendOpt,
    JsonOpt,
    ProjectStackOpt,
    StackOpt,
    emit,
    stack_options,
)

__all__ = ["status"]


def status(
    ctx: typer.Context,
    stack: StackOpt = "dev",
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Print secret outputs (passwords) too.")
    ] = False,
    project: ProjectStackOpt = None,
) -> None:
    """Show the platform stack: outputs, how to reach it, last update, resource counts.

    With --project DIR: the stack of that project's model deployment (`mlplat deploy`).
    """
    from mlplat import stack as core
    from mlplat.stack.outputs import reach
    from mlplat.stack.ui import TerminalUi

    # The flags reach the core by their names (`stack_options`).
    result = core.status(stack_options(ctx), TerminalUi(verbose=verbose(ctx)))
    last = result.last_update
    when = f"{last['kind']} {last['result']} at {last['end'] or last['start']}" if last else "none"
    lines = [
        f"stack: {result.stack} ({result.backend})",
        f"kube context: {result.kube_context or 'none yet'}",
        f"last update: {when}",
        f"resources: {result.resources} ({result.protected} protected, "
        f"{result.pending} pending operations)" + (", LOCKED" if result.locked else ""),
        "",
        *[f"{k}: {v}" for k, v in result.outputs.public.items() if v not in (None, "")],
        *[f"{k}: {v}" for k, v in result.secret_values.items()],
    ]
    if result.outputs.secret and not result.secret_values:
        lines.append("secret outputs (--show-secrets): " + ", ".join(result.outputs.secret))
    lines += ["", *reach(result.outputs, context=result.kube_context)]
    emit(as_json, result.as_dict(), lines)
