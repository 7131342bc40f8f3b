"""Flags shared by the stack commands (``up``, ``preview``, ``down``, ``status``, ``deploy``).

Declared once so every command spells them, documents them and defaults them the same way;
`stack_options` is the one place their values become the core's `StackOptions`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from mlplat.commands._common import is_interactive
from mlplat.platform_config import DOCS_COMMAND, PROFILES

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from mlplat.stack import StackOptions

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
    "from_flags",
    "stack_options",
]

_Options = TypeVar("_Options", bound="DataclassInstance")


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


def from_flags(ctx: typer.Context, cls: type[_Options], **fixed: Any) -> _Options:
    """``cls`` (a dataclass) from the command's flags named like its fields, and ``fixed``.

    Reading the parsed flags by name (``ctx.params``) means a flag a command declares under a
    field's name reaches the core without another line to forget; ``fixed`` supplies what is
    not a flag of that name.
    """
    names = {f.name for f in dataclasses.fields(cls)}
    flags = {name: value for name, value in ctx.params.items() if name in names}
    return cls(**(flags | fixed))


def stack_options(ctx: typer.Context) -> StackOptions:
    """The stack command's `StackOptions`: its flags, and whether mlplat may prompt."""
    from mlplat.stack import StackOptions

    return from_flags(ctx, StackOptions, interactive=is_interactive())


def emit(as_json: bool, data: dict[str, Any], lines: list[str]) -> None:
    """Print data on stdout: JSON with ``--json``, else the human lines."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        for line in lines:
            typer.echo(line)
