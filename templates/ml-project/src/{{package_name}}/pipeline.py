"""The pipeline's in-process runner and its command line, over the one graph in ``graph.py``.

``graph.STAGES`` names each stage's inputs, outputs and project paths. The runner below executes
the stages in order in this process; a runner that gives every stage its own container compiles
the same graph into one step per stage, each running ``--stage NAME``, because stages exchange
only files and URIs.

Usage: ``python -m <package>.pipeline [--stage NAME] [--resume] [--save-reference] [--config PATH]
[--verbose] [--describe]``, or ``--runner argo [--out DIR] [--submit] [--image IMAGE]
[--argo-server URL]`` to compile the pipeline for Argo Workflows (and start a run there).
"""

from __future__ import annotations

__all__ = ["STAGES", "Stage", "describe", "main", "run_pipeline"]

import argparse
import hashlib
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import ProjectConfig, load_config, project_root
from .context import RunContext, read_json, write_json
from .errors import ConfigError, PipelineError, RunnerError, StageFailed
from .graph import ARTIFACTS, STAGES, Stage, producer

_STATE = "pipeline_state.json"


def describe(config: ProjectConfig) -> list[dict[str, Any]]:
    """The DAG as data, for other runners: each stage's name, inputs and outputs with paths.

    ``inputs``/``outputs`` are artefacts, relative to the artefacts directory; ``reads``/``writes``
    are project files and directories from the config (the snapshots, the reference profile),
    relative to the project root. A runner that gives every stage its own container runs
    ``python -m <package>.pipeline --stage NAME`` with all of them on shared storage;
    ``--describe`` prints this list as JSON.
    """
    return [
        {
            "name": stage.name,
            "inputs": {name: ARTIFACTS[name] for name in stage.inputs},
            "outputs": {name: ARTIFACTS[name] for name in stage.outputs},
            "reads": {key: _config_value(config, key) for key in stage.reads},
            "writes": {key: _config_value(config, key) for key in stage.writes},
            "after": sorted({producer(name) for name in stage.inputs}),
        }
        for stage in STAGES
    ]


def _config_value(config: ProjectConfig, key: str) -> str:
    section, name = key.split(".")
    return str(config.model_dump(by_alias=True)[section][name])


def _config_hash(ctx: RunContext) -> str:
    return hashlib.sha256(ctx.config.model_dump_json().encode()).hexdigest()


def _snapshot_hash(ctx: RunContext) -> str | None:
    """The hash of the snapshot ``ingest`` last pointed at, or ``None`` before the first ingest."""
    pointer = ctx.artifacts_dir / ARTIFACTS["snapshot"]
    return str(read_json(pointer)["data_hash"]) if pointer.exists() else None


def _first_to_run(ctx: RunContext, state: dict[str, Any]) -> int:
    """Index of the first stage not yet run successfully with this config on this snapshot."""
    if state.get("config_hash") != _config_hash(ctx):
        return 0
    current = _snapshot_hash(ctx)
    for index, stage in enumerate(STAGES):
        record = state.get("stages", {}).get(stage.name, {})
        outputs_exist = all((ctx.artifacts_dir / ARTIFACTS[o]).exists() for o in stage.outputs)
        if record.get("status") != "ok" or not outputs_exist or record.get("data_hash") != current:
            return index
    return len(STAGES)


def run_pipeline(
    ctx: RunContext,
    *,
    only: str | None = None,
    resume: bool = False,
    echo: Callable[[str], None] = print,
) -> dict[str, float]:
    """Run the stages in order (or just ``only``); return seconds per stage that ran.

    With ``resume``, ``ingest`` always runs again (it is cheap and content-addressed), then stages
    that already succeeded with the same config on the same snapshot are skipped: fixing the source
    data and resuming reruns everything after ``ingest``. A failing stage is recorded as failed,
    and its error propagates as ``StageFailed`` (naming the stage, with the original as ``cause``)
    after the timings are printed. A run overwrites only the records of the stages it ran, so a
    failed run keeps the previous run's records for ``resume``.
    """
    names = [s.name for s in STAGES]
    if only is not None and only not in names:
        raise PipelineError(f"unknown stage '{only}': choose one of {', '.join(names)}")
    state_path = ctx.artifacts_dir / _STATE
    state = read_json(state_path) if state_path.exists() else {}
    if state.get("config_hash") != _config_hash(ctx):
        state = {"config_hash": _config_hash(ctx), "stages": {}}
    timings: dict[str, float] = {}
    try:
        if only is not None:
            _run_stage(ctx, STAGES[names.index(only)], state, timings, echo)
        elif resume:
            before = _snapshot_hash(ctx)
            _run_stage(ctx, STAGES[0], state, timings, echo)
            for stage in _resumed(ctx, state, before, echo):
                _run_stage(ctx, stage, state, timings, echo)
        else:
            for stage in STAGES:
                _run_stage(ctx, stage, state, timings, echo)
    finally:
        write_json(state_path, state)
        if timings:
            echo(_timing_table(timings))
    return timings


def _resumed(
    ctx: RunContext, state: dict[str, Any], before: str | None, echo: Callable[[str], None]
) -> tuple[Stage, ...]:
    """The stages after a fresh ``ingest`` that a resumed run still has to run."""
    start = _first_to_run(ctx, state)
    current = _snapshot_hash(ctx)
    if before is not None and before != current:
        echo(f"the snapshot changed ({before[:16]} -> {str(current)[:16]}): stages after it rerun")
    if start == len(STAGES):
        echo("nothing to resume: every stage succeeded with this config and snapshot")
    elif start > 1:
        echo(f"resuming at stage '{STAGES[start].name}'")
    return STAGES[max(start, 1) :]


def _run_stage(
    ctx: RunContext,
    stage: Stage,
    state: dict[str, Any],
    timings: dict[str, float],
    echo: Callable[[str], None],
) -> None:
    """Run one stage; record its outcome and the snapshot it worked on in ``state``."""
    started = time.perf_counter()
    try:
        summary = stage.run(ctx)
    except Exception as error:
        timings[stage.name] = time.perf_counter() - started
        state["stages"][stage.name] = {"status": "failed", "error": str(error)}
        raise StageFailed(stage.name, error) from error
    timings[stage.name] = time.perf_counter() - started
    state["stages"][stage.name] = {
        "status": "ok",
        "data_hash": _snapshot_hash(ctx),
        "seconds": round(timings[stage.name], 3),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": summary,
    }
    shown = ", ".join(f"{k}={v}" for k, v in summary.items())
    echo(f"[{stage.name:>8}] {timings[stage.name]:6.2f}s  {shown}")


def _timing_table(timings: dict[str, float]) -> str:
    lines = ["", "stage       seconds"]
    lines += [f"{name:<10} {seconds:8.2f}" for name, seconds in timings.items()]
    lines.append(f"{'total':<10} {sum(timings.values()):8.2f}")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.pipeline",
        description="Run the training pipeline: " + " -> ".join(s.name for s in STAGES) + ".",
    )
    parser.add_argument("--stage", choices=[s.name for s in STAGES], help="run only this stage")
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
        "--argo-server",
        metavar="URL",
        help="the Argo server (default: $ARGO_SERVER, else http://localhost:2746)",
    )
    return parser


def _usage_problem(args: argparse.Namespace) -> str | None:
    """Flags that do not go together, named (argparse cannot say it per runner)."""
    local_only = [
        f
        for f, on in (
            ("--stage", args.stage),
            ("--resume", args.resume),
            ("--save-reference", args.save_reference),
        )
        if on
    ]
    argo_only = [
        f
        for f, on in (
            ("--out", args.out),
            ("--image", args.image),
            ("--submit", args.submit),
            ("--argo-server", args.argo_server),
        )
        if on
    ]
    if args.runner == "argo" and local_only:
        return f"{', '.join(local_only)} run stages in this process: drop them with --runner argo"
    if args.runner == "local" and argo_only:
        return f"{', '.join(argo_only)} need --runner argo"
    if args.runner == "argo" and not (args.out or args.submit or args.describe):
        return "--runner argo needs --out DIR (write the manifests), --submit (start a run) or both"
    return None


def _run_argo(config: ProjectConfig, args: argparse.Namespace) -> None:
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
    manifests = compile_pipeline(config, image=args.image)
    if args.out is not None:
        for path in write_manifests(manifests, args.out):
            print(f"wrote {path}")
    if args.submit:
        from .argo_server import server_from_env, submit

        server = server_from_env(args.argo_server, namespace=config.argo.namespace)
        name = submit(manifests.template, server)
        print(
            f"submitted workflow {name} to {server.url} (namespace {config.argo.namespace}); "
            f"follow it in the Argo UI at {server.url}/workflows/{config.argo.namespace}/{name}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 1 failure, 2 bad config)."""
    parser = _parser()
    args = parser.parse_args(argv)
    problem = _usage_problem(args)
    if problem is not None:
        parser.error(problem)
    try:
        config = load_config(args.config)
        if args.describe:
            print(json.dumps(describe(config), indent=2))
            return 0
        if args.runner == "argo":
            _run_argo(config, args)
            return 0
        ctx = RunContext(config=config, root=project_root(), save_reference=args.save_reference)
        run_pipeline(ctx, only=args.stage, resume=args.resume)
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


if __name__ == "__main__":
    sys.exit(main())
