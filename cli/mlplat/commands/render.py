"""``mlplat render --out DIR``: the platform's Kubernetes objects, offline, for review."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mlplat.commands._stack import ConfigOpt, ProfileOpt

__all__ = ["render"]


def render(
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", metavar="DIR", help="Directory to write into (must be missing or empty)."
        ),
    ],
    config: ConfigOpt = None,
    profile: ProfileOpt = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Write into a non-empty DIR, replacing a previous render's files."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project",
            metavar="DIR",
            help="Render a generated project's deployment (what `mlplat deploy` applies) instead.",
        ),
    ] = None,
) -> None:
    """Write the platform's objects as YAML and its charts to charts.yaml, without a cluster.

    Runs the same Pulumi program as `mlplat up` under Pulumi's mock runtime: no Pulumi CLI,
    no network. Prints objects per kind and the CPU and memory the platform requests.
    Every config key, with its dev and prod defaults: `mlplat docs platform-config`.
    """
    if project is not None:
        from mlplat.render.project import render_project

        rendered = render_project(project, out, force=force)
        typer.echo(json.dumps(rendered.as_dict(), indent=2) if as_json else rendered.text())
        return
    from mlplat.render import RenderOptions, render_platform

    summary = render_platform(
        RenderOptions(out_dir=out, config_path=config, profile=profile, force=force)
    )
    typer.echo(json.dumps(summary.as_dict(), indent=2) if as_json else summary.text())
