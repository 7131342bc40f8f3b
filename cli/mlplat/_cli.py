"""The root Typer app: global options, command registration, and the one error boundary.

Every command module is a thin layer over a core function. Core code raises
``MlplatError``; ``MlplatGroup.invoke`` is the only place that turns exceptions into a
message and an exit code, so every command fails the same way: one line saying what
happened, one saying what to do, no traceback unless ``--verbose`` (or ``MLPLAT_VERBOSE=1``),
and the same exit code either way.
"""

from __future__ import annotations

import errno
import sys
import traceback
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from mlplat.commands import (
    deploy,
    docs,
    doctor,
    down,
    new,
    preview,
    render,
    status,
    up,
    update,
)
from mlplat.commands._common import VERBOSE_ENV, resolve_verbose, set_verbose, verbose
from mlplat.errors import ExitCode, MlplatError

__all__ = ["app", "main"]


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _fail(ctx: typer.Context, error: BaseException, lines: list[str], code: int) -> NoReturn:
    """Print the traceback when verbose, then the message lines; exit with ``code``."""
    if verbose(ctx):
        hidden = error.__context__ if error.__suppress_context__ else None
        if hidden is not None:  # raised `from None` for the quiet message; show it here
            traceback.print_exception(hidden, file=sys.stderr)
            print("\nmlplat reported this as:", file=sys.stderr)
        traceback.print_exception(error, file=sys.stderr)
    for line in lines:
        _err(line)
    raise typer.Exit(code) from None


class MlplatGroup(TyperGroup):
    """The root command group; maps every exception to a message and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        """Run the selected command inside mlplat's error boundary."""
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # Usage errors found by the parser and exits already carry message and code.
        except MlplatError as error:
            # An interrupt the command reports (what it left behind) is not an error.
            prefix = "" if error.exit_code == ExitCode.INTERRUPTED else "Error: "
            lines = [prefix + error.message, *([error.hint] if error.hint else [])]
            _fail(ctx, error, lines, int(error.exit_code))
        except KeyboardInterrupt as error:
            _fail(ctx, error, ["Interrupted."], ExitCode.INTERRUPTED)
        except OSError as error:
            if error.errno == errno.EPIPE:
                raise  # `mlplat ... | head`: Typer exits quietly.
            where = f": {error.filename}" if error.filename else ""
            lines = [
                f"Error: {error.strerror or error}{where}",
                "Check that the path exists and that you may write there.",
            ]
            _fail(ctx, error, lines, ExitCode.FAILURE)
        except Exception as error:
            hint = (
                "This is a bug in mlplat; please report it with the traceback above."
                if verbose(ctx)
                else "This is a bug in mlplat: run again with `mlplat --verbose ...` for the "
                "traceback, and report it."
            )
            lines = [f"Error: unexpected {type(error).__name__}: {error}", hint]
            _fail(ctx, error, lines, ExitCode.FAILURE)


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
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help=f"Show tracebacks and tool output (or set {VERBOSE_ENV}=1); exit codes stay "
            "the same.",
        ),
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
    set_verbose(ctx, resolve_verbose(verbose))


app.command("new", cls=new.NewCommand)(new.new)
app.command("update")(update.update)
app.command("render")(render.render)
app.command("up")(up.up)
app.command("preview")(preview.preview)
app.command("down")(down.down)
app.command("status")(status.status)
app.command("doctor")(doctor.doctor)
app.command("deploy")(deploy.deploy)
app.add_typer(docs.app, name="docs")


def main() -> None:
    """Run the CLI (the console script's entry point)."""
    app(prog_name="mlplat", args=sys.argv[1:])
