"""Helpers shared by command modules: answers from flags, interactivity, output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

__all__ = ["collect_answers", "is_interactive", "verbose"]


def is_interactive() -> bool:
    """Tell whether mlplat may prompt: only when stdin is a terminal (DESIGN.md)."""
    return sys.stdin is not None and sys.stdin.isatty()


def collect_answers(config: Path | None, data: list[str] | None) -> dict[str, Any]:
    """Merge answers from ``--config FILE`` and repeated ``--data key=value`` (data wins)."""
    from mlplat.scaffold.answers import load_answers_file, merge_answers, parse_data

    from_file = load_answers_file(config) if config is not None else {}
    return merge_answers(from_file, parse_data(data or []))


def verbose(ctx: typer.Context) -> bool:
    """Tell whether the global ``--verbose`` flag is on for the running command."""
    return bool(ctx.find_root().meta.get("mlplat.verbose"))
