"""The root Typer app: global options, command registration, and the one error boundary.

Every command module is a thin layer over a core function. Core code raises
``MlplatError``; ``MlplatGroup.invoke`` is the only place that turns exceptions into a
message and an exit code, so every command fails the same way (no traceback unless
``--verbose``).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from mlplat.commands import deploy, doctor, down, new, preview, render, status, up, update
from mlplat.errors import ExitCode, MlplatError

__all__ = ["app", "main"]


def _err(message: str) -> None:
    typer.echo(message, err=True)


class MlplatGroup(TyperGroup):
    """The root command group; maps every exception to a message and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        """Run the selected command inside mlplat's error boundary."""
        try:
            return super().invoke(ctx)
        except MlplatError as error:
            if _verbose(ctx):
                raise
            _err(f"Error: {error.message}")
            if error.hint:
                _err(error.hint)
            raise typer.Exit(int(error.exit_code)) from None
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except KeyboardInterrupt:
            _err("Interrupted; nothing was left half-written.")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Exception as error:
            if _verbose(ctx):
                raise
            _err(f"Error: unexpected {type(error).__name__}: {error}")
            _err("Run again with `mlplat --verbose ...` for the traceback, and report it.")
            raise typer.Exit(int(ExitCode.FAILURE)) from None


def _verbose(ctx: typer.Context) -> bool:
    return bool(ctx.meta.get("mlplat.verbose")) or os.environ.get("MLPLAT_VERBOSE") == "1"


app = typer.Typer(
    cls=MlplatGroup,
    name="mlplat",
    help="Scaffold ML projects with MLOps practices built in, and deploy their platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if not value:
        return
    from mlplat.versions import tool_versions

    for tool, version in tool_versions().items():
        typer.echo(f"{tool}: {version}")
    raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks and tool output.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print mlplat's, Copier's and the Pulumi CLI's versions.",
        ),
    ] = False,
) -> None:
    """mlplat: ML projects with data engineering, ML design patterns and stability built in."""
    ctx.meta["mlplat.verbose"] = verbose


app.command("new")(new.new)
app.command("update")(update.update)
app.command("render")(render.render)
app.command("up")(up.up)
app.command("preview")(preview.preview)
app.command("down")(down.down)
app.command("status")(status.status)
app.command("doctor")(doctor.doctor)
app.command("deploy")(deploy.deploy)


def main() -> None:
    """Run the CLI (the console script's entry point)."""
    app(prog_name="mlplat", args=sys.argv[1:])
