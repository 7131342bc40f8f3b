"""``mlplat new DEST``: scaffold a project from the bundled template or your own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlplat.commands._common import collect_answers, is_interactive, verbose
from mlplat.commands._questions import NewCommand

__all__ = ["NewCommand", "new"]


def new(
    ctx: typer.Context,
    dest: Annotated[
        Path, typer.Argument(metavar="DEST", help="Directory to create (must be missing or empty).")
    ],
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            metavar="PATH|URL",
            help="Template path or git URL. Default: the bundled ml-project.",
        ),
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Use defaults for unanswered questions.")
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data", "-d", metavar="KEY=VALUE", help="Answer a question: key=value. Repeatable."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", metavar="FILE", help="YAML file of answers (question: answer)."),
    ] = None,
    vcs_ref: Annotated[
        str | None,
        typer.Option("--vcs-ref", metavar="REF", help="Template git ref (tag, branch, commit)."),
    ] = None,
    git: Annotated[
        bool, typer.Option("--git/--no-git", help="git init and commit the new project.")
    ] = True,
) -> None:
    """Create a new ML project that has MLOps practices on day one.

    Asks the template's questions on a terminal; otherwise (or with --defaults) uses
    --data/--config answers and defaults. The bundled template's questions are listed below.
    """
    from mlplat.scaffold import NewOptions, new_project

    result = new_project(
        NewOptions(
            dest=dest,
            template=template,
            vcs_ref=vcs_ref,
            defaults=defaults or not is_interactive(),
            data=collect_answers(config, data),
            git_init=git,
            quiet=not verbose(ctx),
        )
    )
    names = ", ".join(
        f"{label} {result.answers[key]}"
        for key, label in (("project_name", "project"), ("package_name", "package"))
        if key in result.answers
    )
    typer.echo(
        f"Created {result.dest} from {result.template}" + (f" ({names})." if names else "."),
        err=True,
    )
    typer.echo("Next steps:", err=True)
    typer.echo(f"  cd {result.dest}", err=True)
    if template is None:
        typer.echo("  make install    # virtual environment and dependencies", err=True)
        typer.echo("  make test       # the project's own tests", err=True)
        typer.echo("  make pipeline   # ingest, validate, train, evaluate, register", err=True)
        typer.echo("  make serve      # serve the champion model", err=True)
