"""``mlplat down``: destroy the platform, keeping its data unless --delete-data."""

from __future__ import annotations

from typing import Annotated

import typer

from mlplat.commands._common import verbose
from mlplat.commands._stack import (
    BackendOpt,
    ForceUnlockOpt,
    JsonOpt,
    KubeContextOpt,
    ProjectStackOpt,
    RecoverOpt,
    StackOpt,
    YesOpt,
    emit,
    stack_options,
)

__all__ = ["down"]


def down(
    ctx: typer.Context,
    stack: StackOpt = "dev",
    backend: BackendOpt = None,
    kube_context: KubeContextOpt = None,
    delete_data: Annotated[
        bool,
        typer.Option(
            "--delete-data",
            help="Also delete the database, object store and volumes (asks again; --yes confirms).",
        ),
    ] = False,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
    force_unlock: ForceUnlockOpt = False,
    recover: RecoverOpt = False,
    project: ProjectStackOpt = None,
) -> None:
    """Destroy the platform's resources (or, with --project, a project's model deployment).

    Protected data (database, object store, their volumes) is kept, so a later `mlplat up`
    finds it again; --delete-data removes it too. A model deployment holds no data: the model
    stays in MLflow.
    """
    from mlplat import stack as core
    from mlplat.stack.ui import TerminalUi

    # The flags reach the core by their names (`stack_options`).
    result = core.down(stack_options(ctx), TerminalUi(verbose=verbose(ctx)))
    lines = [f"Destroyed {result.deleted} resource(s) of stack {result.stack!r}."]
    if result.kept:
        lines.append(
            f"Kept {result.kept} protected data resource(s); `mlplat down --stack "
            f"{result.stack} --delete-data` deletes them."
        )
    emit(as_json, result.as_dict(), lines)
