"""``python -m <package>.pipeline``: the pipeline's command line, over a project's declarations.

Usage: ``python -m <package>.pipeline [--stage NAME] [--resume] [--save-reference] [--config PATH]
[--verbose] [--describe]``, or ``--runner argo [--out DIR] [--submit [--monitor]] [--image IMAGE]
[--argo-server URL]`` to compile the pipeline for Argo Workflows (and start a run there).
Hera is imported only with ``--runner argo``: the local runner never pays for it.
"""

from __future__ import annotations

__all__ = ["Project", "main"]

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from mlplat_runtime.errors import ConfigError, PipelineError, RunnerError, StageFailed

from .graph import Pipeline, Settings, describe
from .runner import RunState, run_pipeline

C = TypeVar("C", bound=Settings)


@dataclass(frozen=True, kw_only=True)
class Project(Generic[C]):
    """The project's pieces the command line names.

    Attributes:
        pipeline: The graph (``graph.PIPELINE``).
        load_config: Reads and validates ``config.toml`` (or ``--config PATH``).
        context: The run context of one process, from the config and ``--save-reference``.
    """

    pipeline: Pipeline
    load_config: Callable[[Path | None], C]
    context: Callable[[C, bool], RunState]


def _parser(pipeline: Pipeline) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {pipeline.package}.pipeline",
        description="Run the training pipeline: "
        + " -> ".join(s.name for s in pipeline.stages)
        + ".",
    )
    stages = [s.name for s in pipeline.stages]
    parser.add_argument("--stage", choices=stages, help="run only this stage")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="ingest again, then skip stages that succeeded with this config on this snapshot",
    )
    parser.add_argument(
        "--save-reference",
        action="store_true",
        help="validate saves this snapshot's profile as the reference (commit it) instead of "
        "comparing with the saved one",
    )
    parser.add_argument("--config", type=Path, help="config file (default: ./config.toml)")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks on failure")
    parser.add_argument(
        "--describe", action="store_true", help="print the stages and their artefacts as JSON"
    )
    parser.add_argument(
        "--runner",
        choices=["local", "argo"],
        default="local",
        help="local: run the stages in this process (default); argo: compile the pipeline into "
        "an Argo WorkflowTemplate and CronWorkflow (with --out) and/or start a run (--submit)",
    )
    argo = parser.add_argument_group("--runner argo")
    argo.add_argument(
        "--out", type=Path, help="write workflowtemplate.yaml, cronworkflow.yaml here"
    )
    argo.add_argument("--image", help="the project's image (default: argo.image in config.toml)")
    argo.add_argument(
        "--submit",
        action="store_true",
        help="start one run on the Argo server (token in $ARGO_TOKEN, see the README)",
    )
    argo.add_argument(
        "--monitor",
        action="store_true",
        help="with --submit: start one run of the monitor instead (make monitor on the "
        "platform; it submits the pipeline on the production rows when it decides retrain)",
    )
    argo.add_argument(
        "--argo-server",
        metavar="URL",
        help="the Argo server (default: $ARGO_SERVER, else http://localhost:2746)",
    )
    return parser


def _usage_problem(args: argparse.Namespace) -> str | None:
    """Flags that do not go together, named (argparse cannot say it per runner)."""
    local = (("--stage", args.stage), ("--resume", args.resume))
    local_only = [f for f, on in (*local, ("--save-reference", args.save_reference)) if on]
    argo_only = [
        f
        for f, on in (
            ("--out", args.out),
            ("--image", args.image),
            ("--submit", args.submit),
            ("--monitor", args.monitor),
            ("--argo-server", args.argo_server),
        )
        if on
    ]
    if args.runner == "argo" and local_only:
        return f"{', '.join(local_only)} run stages in this process: drop them with --runner argo"
    if args.runner == "local" and argo_only:
        return f"{', '.join(argo_only)} need --runner argo"
    if args.monitor and not args.submit:
        return "--monitor picks what --submit starts: add --submit"
    if args.runner == "argo" and not (args.out or args.submit or args.describe):
        return "--runner argo needs --out DIR (write the manifests), --submit (start a run) or both"
    return None


def _run_argo(pipeline: Pipeline, config: Settings, args: argparse.Namespace) -> None:
    """Compile the graph for Argo; write the manifests and/or submit a run."""
    try:
        from .argo import compile_pipeline, write_manifests
    except ImportError as error:
        if not str(error.name).startswith(("hera", "requests", "yaml")):
            raise
        raise RunnerError(
            f"--runner argo needs Hera ({error.name} is missing): make install installs it, "
            "or pip install -e '.[argo]'"
        ) from None
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise RunnerError(f"--out {args.out} is a file: give a directory")
    manifests = compile_pipeline(pipeline, config, image=args.image)
    if args.out is not None:
        for path in write_manifests(manifests, args.out, package=pipeline.package):
            print(f"wrote {path}")
    if args.submit:
        from .argo_server import server_from_env, submit

        namespace = config.argo.namespace
        server = server_from_env(args.argo_server, namespace=namespace)
        run = manifests.monitor if args.monitor else manifests.template
        if run is None:
            raise RunnerError("this project's pipeline compiles no monitor to --submit")
        name = submit(run, server)
        print(
            f"submitted workflow {name} to {server.url} (namespace {namespace}); "
            f"follow it in the Argo UI at {server.url}/workflows/{namespace}/{name}"
        )


def main(project: Project[C], argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 1 failure, 2 bad config)."""
    parser = _parser(project.pipeline)
    args = parser.parse_args(argv)
    problem = _usage_problem(args)
    if problem is not None:
        parser.error(problem)
    try:
        config = project.load_config(args.config)
        if args.describe:
            print(json.dumps(describe(project.pipeline, config), indent=2))
            return 0
        if args.runner == "argo":
            _run_argo(project.pipeline, config, args)
            return 0
        ctx = project.context(config, args.save_reference)
        run_pipeline(ctx, project.pipeline, only=args.stage, resume=args.resume)
    except Exception as error:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {_message(error, verbose=args.verbose)}", file=sys.stderr)
        return 2 if isinstance(error, ConfigError) else 1
    return 0


_VERBOSE_HINT = "Rerun with --verbose (make pipeline VERBOSE=1) for the traceback."


def _message(error: Exception, *, verbose: bool) -> str:
    """One message per failure: what happened and what to do.

    The traceback hint appears only for errors the project did not anticipate, and never when
    ``--verbose`` already printed the traceback above the message.
    """
    hint = "" if verbose else f"\n{_VERBOSE_HINT}"
    if isinstance(error, StageFailed):
        return str(error) + ("" if error.anticipated else hint)
    if isinstance(error, ConfigError | RunnerError):
        return str(error)
    if isinstance(error, PipelineError):
        return f"{error}\nFix the cause, then rerun with --resume (make pipeline RESUME=1)."
    return f"{type(error).__name__}: {error}\nReport it if the cause is not yours.{hint}"
