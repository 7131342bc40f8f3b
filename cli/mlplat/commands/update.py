"""``mlplat update [DEST]``: pull template improvements into a generated project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlplat.commands._common import collect_answers, is_interactive, verbose
from mlplat.errors import ExitCode

__all__ = ["update"]


def update(
    ctx: typer.Context,
    dest: Annotated[
        Path, typer.Argument(metavar="DEST", help="The generated project (default: here).")
    ] = Path("."),
    vcs_ref: Annotated[
        str | None,
        typer.Option(
            "--vcs-ref", metavar="REF", help="Template ref to update to. Default: this mlplat's."
        ),
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Use defaults for questions new in the template.")
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Change or give an answer: key=value. Repeatable.",
        ),
    ] = None,
) -> None:
    """Update a generated project to a newer template version.

    Your edits that don't overlap the template's changes are kept; overlapping ones get
    conflict markers, are listed, and the command exits 1. Nothing is committed: review
    with `git diff`, then commit.
    """
    from mlplat.scaffold import UpdateOptions, update_project

    result = update_project(
        UpdateOptions(
            dest=dest,
            vcs_ref=vcs_ref,
            defaults=defaults or not is_interactive(),
            data=collect_answers(None, data),
            quiet=not verbose(ctx),
        )
    )
    if not result.changed:
        typer.echo(f"{result.dest} is already at {result.to_version}; nothing to update.", err=True)
        return
    if result.from_version == result.to_version:
        typer.echo(
            f"Applied the new answers to {result.dest} (template {result.to_version}).", err=True
        )
    else:
        typer.echo(
            f"Updated {result.dest} from {result.from_version} to {result.to_version}.", err=True
        )
    if result.kept_edits:
        typer.echo(
            "Files this version no longer has, which you had edited (the runtime moved into "
            "the mlplat-runtime package): your versions are kept as .orig; port the change "
            "or delete them:",
            err=True,
        )
        for path in result.kept_edits:
            typer.echo(f"  {path}", err=True)
    if result.conflicts:
        typer.echo(
            "Conflicts with your edits (resolve the <<<<<<< markers, then commit):", err=True
        )
        for path in result.conflicts:
            typer.echo(f"  {path}", err=True)
        raise typer.Exit(int(ExitCode.FAILURE))
    if result.kept_edits:
        raise typer.Exit(int(ExitCode.FAILURE))
    typer.echo("Review the changes with `git diff`, then commit them.", err=True)
