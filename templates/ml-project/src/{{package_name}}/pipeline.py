"""``python -m <package>.pipeline``: the runtime's pipeline runner over this project's graph.

The stages, their artefacts and the config are this project's (``graph.py``, ``config.py``); the
runner (stage order, ``--resume``, ``--stage``, ``--describe``, ``--runner argo``) is
``mlplat_runtime.pipeline``. ``--help`` lists the flags.
"""

from __future__ import annotations

__all__ = ["STAGES", "Stage", "describe", "main", "run_pipeline"]

import sys
from collections.abc import Callable, Sequence
from typing import Any

from mlplat_runtime.pipeline import cli, graph, runner

from .config import ProjectConfig, load_config, project_root
from .context import RunContext
from .graph import PIPELINE, STAGES, Stage


def describe(config: ProjectConfig) -> list[dict[str, Any]]:
    """The DAG as data: each stage's name, inputs, outputs and project paths (``--describe``)."""
    return graph.describe(PIPELINE, config)


def run_pipeline(
    ctx: RunContext,
    *,
    only: str | None = None,
    resume: bool = False,
    echo: Callable[[str], None] = print,
) -> dict[str, float]:
    """Run the stages in order (or just ``only``); return seconds per stage that ran."""
    return runner.run_pipeline(ctx, PIPELINE, only=only, resume=resume, echo=echo)


def _context(config: ProjectConfig, save_reference: bool) -> RunContext:
    return RunContext(config=config, root=project_root(), save_reference=save_reference)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 ok, 1 failure, 2 bad config)."""
    return cli.main(cli.Project(pipeline=PIPELINE, load_config=load_config, context=_context), argv)


if __name__ == "__main__":
    sys.exit(main())
