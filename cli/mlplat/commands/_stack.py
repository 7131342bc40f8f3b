"""Flags shared by the stack commands (``up``, ``preview``, ``down``, ``status``, ``deploy``).

Declared once so every command spells them, documents them and defaults them the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from mlplat.platform_config import DOCS_COMMAND, PROFILES

__all__ = [
    "BackendOpt",
    "ConfigOpt",
    "ForceUnlockOpt",
    "JsonOpt",
    "KubeContextOpt",
    "ProjectStackOpt",
    "ProfileOpt",
    "RecoverOpt",
    "StackOpt",
    "YesOpt",
    "emit",
]


StackOpt = Annotated[
    str, typer.Option("--stack", "-s", metavar="NAME", help="Stack name (one deployment).")
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        metavar="URL",
        help="State backend: file://DIR, s3://BUCKET, gs://BUCKET or azblob://CONTAINER. "
        "Default: $MLPLAT_BACKEND, else a local file backend in mlplat's data directory.",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="FILE",
        help=f"Platform config YAML (keys: `{DOCS_COMMAND}`). Default: profile defaults.",
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        metavar="|".join(PROFILES),
        help="Sizing profile; overrides the config file's.",
    ),
]
KubeContextOpt = Annotated[
    str | None,
    typer.Option(
        "--kube-context",
        metavar="CTX",
        help="kubeconfig context. Default: the config's kube_context, else the current one.",
    ),
]
ProjectStackOpt = Annotated[
    Path | None,
    typer.Option(
        "--project",
        metavar="DIR",
        help="Act on this generated project's model deployment (`mlplat deploy`), not the "
        "platform.",
    ),
]
YesOpt = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Do not preview or ask; required when not on a terminal."),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the result as JSON on stdout (messages on stderr).")
]
ForceUnlockOpt = Annotated[
    bool,
    typer.Option(
        "--force-unlock",
        help="Break the stack's lock first (only when no other update is running).",
    ),
]
RecoverOpt = Annotated[
    bool,
    typer.Option(
        "--recover",
        help="Clear pending operations of an interrupted update (refresh, clear pending creates).",
    ),
]


def emit(as_json: bool, data: dict[str, Any], lines: list[str]) -> None:
    """Print data on stdout: JSON with ``--json``, else the human lines."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        for line in lines:
            typer.echo(line)
