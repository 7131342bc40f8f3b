"""``mlplat doctor``: check the prerequisites of deploying, and say how to fix each."""

from __future__ import annotations

from typing import Annotated

import typer

from mlplat.commands._stack import JsonOpt, KubeContextOpt, emit, from_flags
from mlplat.errors import ExitCode

__all__ = ["doctor"]


def doctor(
    ctx: typer.Context,
    install_pulumi: Annotated[
        bool,
        typer.Option(
            "--install-pulumi",
            help="Install the Pulumi CLI into mlplat's data directory if missing or too old.",
        ),
    ] = False,
    kube_context: KubeContextOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the Pulumi CLI, the cluster (reachable, Kubernetes 1.32+), git, docker, kubectl.

    Exits 1 when a required check fails.
    """
    from mlplat import stack as core

    # The flags reach the core by their names (`from_flags`).
    report = core.run_doctor(from_flags(ctx, core.DoctorOptions))
    emit(as_json, report.as_dict(), report.lines())
    if not report.ok:
        raise typer.Exit(int(ExitCode.FAILURE))
