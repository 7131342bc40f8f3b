"""``mlplat preview``: what ``mlplat up`` would change, changing nothing."""

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
    emit,
    stack_options,
)

__all__ = ["preview"]


def preview(
    ctx: typer.Context,
    stack: StackOpt = "dev",
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    backend: BackendOpt = None,
    kube_context: KubeContextOpt = None,
    as_json: JsonOpt = False,
    force_unlock: ForceUnlockOpt = False,
    recover: RecoverOpt = False,
) -> None:
    """Preview the platform's changes: creates, updates, and every replace or delete by name."""
    from mlplat import stack as core
    from mlplat.stack.ui import TerminalUi

    # The flags reach the core by their names (`stack_options`).
    result = core.preview(stack_options(ctx), TerminalUi(verbose=verbose(ctx)))
    emit(as_json, result.as_dict(), [])
