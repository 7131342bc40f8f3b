"""The in-process runner: a project's stages in order in this process, with ``--resume``.

Stages exchange only files and URIs (the artefacts the graph names), so a stage can run alone
(``--stage NAME``), in a later process, or in its own container (the Argo runner). The state of
the last runs is ``pipeline_state.json`` in the artefacts directory.

Each stage's record and the closing table give its seconds and the process's peak resident
memory when it ended (``peak_mb``: the high-water mark so far, so the stage that raised it is the
one whose number jumps), which is where a large table's time and memory go.
"""

from __future__ import annotations

__all__ = ["RunState", "first_to_run", "peak_mb", "run_pipeline"]

import hashlib
import json
import resource
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from mlplat_runtime.errors import PipelineError, StageFailed

from .graph import Pipeline, Settings, StageSpec

_STATE = "pipeline_state.json"


class RunState(Protocol):
    """What the runner reads of a project's run context."""

    @property
    def config(self) -> Settings:
        """The validated project config."""

    @property
    def artifacts_dir(self) -> Path:
        """Where stage outputs go."""


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB (``ru_maxrss``: KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _read(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def _config_hash(ctx: RunState) -> str:
    return hashlib.sha256(ctx.config.model_dump_json().encode()).hexdigest()


def _snapshot_hash(ctx: RunState, pipeline: Pipeline) -> str | None:
    """The hash of the snapshot ``ingest`` last pointed at, or ``None`` before the first ingest."""
    pointer = ctx.artifacts_dir / pipeline.artifacts[pipeline.snapshot]
    return str(_read(pointer)["data_hash"]) if pointer.exists() else None


def first_to_run(ctx: RunState, pipeline: Pipeline, state: dict[str, Any]) -> int:
    """Index of the first stage not yet run successfully with this config on this snapshot."""
    if state.get("config_hash") != _config_hash(ctx):
        return 0
    current = _snapshot_hash(ctx, pipeline)
    for index, stage in enumerate(pipeline.stages):
        record = state.get("stages", {}).get(stage.name, {})
        outputs = (ctx.artifacts_dir / pipeline.artifacts[o] for o in stage.outputs)
        if record.get("status") != "ok" or not all(p.exists() for p in outputs):
            return index
        if record.get("data_hash") != current:
            return index
    return len(pipeline.stages)


def run_pipeline(
    ctx: RunState,
    pipeline: Pipeline,
    *,
    only: str | None = None,
    resume: bool = False,
    echo: Callable[[str], None] = print,
) -> dict[str, float]:
    """Run the stages in order (or just ``only``); return seconds per stage that ran.

    With ``resume``, the first stage (``ingest``) always runs again (it is cheap and
    content-addressed), then stages that already succeeded with the same config on the same
    snapshot are skipped: fixing the source data and resuming reruns everything after it. A
    failing stage is recorded as failed, and its error propagates as ``StageFailed`` (naming the
    stage, with the original as ``cause``) after the timings are printed. A run overwrites only
    the records of the stages it ran, so a failed run keeps the previous run's for ``resume``.
    """
    stages = list(pipeline.stages)
    names = [s.name for s in stages]
    if only is not None and only not in names:
        raise PipelineError(f"unknown stage '{only}': choose one of {', '.join(names)}")
    state_path = ctx.artifacts_dir / _STATE
    state = _read(state_path) if state_path.exists() else {}
    if state.get("config_hash") != _config_hash(ctx):
        state = {"config_hash": _config_hash(ctx), "stages": {}}
    timings: dict[str, float] = {}
    todo: Sequence[StageSpec] = stages
    try:
        if only is not None:
            todo = [stages[names.index(only)]]
        elif resume:
            before = _snapshot_hash(ctx, pipeline)
            _run_stage(ctx, pipeline, stages[0], state, timings, echo)
            todo = _resumed(ctx, pipeline, state, before, echo)
        for stage in todo:
            _run_stage(ctx, pipeline, stage, state, timings, echo)
    finally:
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.write_text(
            json.dumps(state, indent=2, sort_keys=True, default=str) + "\n", "utf-8"
        )
        if timings:
            echo(_timing_table(timings, state["stages"]))
    return timings


def _resumed(
    ctx: RunState,
    pipeline: Pipeline,
    state: dict[str, Any],
    before: str | None,
    echo: Callable[[str], None],
) -> Sequence[StageSpec]:
    """The stages after a fresh first stage that a resumed run still has to run."""
    stages = pipeline.stages
    start = first_to_run(ctx, pipeline, state)
    current = _snapshot_hash(ctx, pipeline)
    if before is not None and before != current:
        echo(f"the snapshot changed ({before[:16]} -> {str(current)[:16]}): stages after it rerun")
    if start == len(stages):
        echo("nothing to resume: every stage succeeded with this config and snapshot")
    elif start > 1:
        echo(f"resuming at stage '{stages[start].name}'")
    return stages[max(start, 1) :]


def _run_stage(
    ctx: RunState,
    pipeline: Pipeline,
    stage: StageSpec,
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
        state["stages"][stage.name] = {
            "status": "failed",
            "error": str(error),
            "peak_mb": round(peak_mb()),
        }
        raise StageFailed(stage.name, error) from error
    timings[stage.name] = time.perf_counter() - started
    state["stages"][stage.name] = {
        "status": "ok",
        "data_hash": _snapshot_hash(ctx, pipeline),
        "seconds": round(timings[stage.name], 3),
        "peak_mb": round(peak_mb()),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "summary": summary,
    }
    shown = ", ".join(f"{k}={v}" for k, v in summary.items())
    echo(f"[{stage.name:>8}] {timings[stage.name]:6.2f}s  {shown}")


def _timing_table(timings: dict[str, float], records: dict[str, Any]) -> str:
    """Seconds and peak resident MB per stage that ran, and the total."""
    lines = ["", "stage       seconds   peak MB"]
    lines += [
        f"{name:<10} {seconds:8.2f} {records.get(name, {}).get('peak_mb', 0):9.0f}"
        for name, seconds in timings.items()
    ]
    lines.append(f"{'total':<10} {sum(timings.values()):8.2f} {peak_mb():9.0f}")
    return "\n".join(lines)
