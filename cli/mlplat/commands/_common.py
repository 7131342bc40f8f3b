"""Helpers shared by command modules: answers from flags, interactivity, verbosity."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

__all__ = [
    "VERBOSE_ENV",
    "collect_answers",
    "is_interactive",
    "resolve_verbose",
    "set_verbose",
    "verbose",
]

#: The environment variable that turns ``--verbose`` on, for CI and wrappers.
VERBOSE_ENV = "MLPLAT_VERBOSE"
_META_KEY = "mlplat.verbose"
_ON = {"1", "true", "yes", "on"}
_OFF = {"", "0", "false", "no", "off"}


def is_interactive() -> bool:
    """Tell whether mlplat may prompt: only when stdin is a terminal (DESIGN.md)."""
    return sys.stdin is not None and sys.stdin.isatty()


def collect_answers(config: Path | None, data: list[str] | None) -> dict[str, Any]:
    """Merge answers from ``--config FILE`` and repeated ``--data key=value`` (data wins)."""
    from mlplat.scaffold.answers import load_answers_file, merge_answers, parse_data

    from_file = load_answers_file(config) if config is not None else {}
    return merge_answers(from_file, parse_data(data or []))


def resolve_verbose(flag: bool) -> bool:
    """Resolve ``--verbose`` and ``MLPLAT_VERBOSE`` into one value, once per invocation.

    The flag wins; otherwise the variable decides. The root callback calls this and stores
    the result, which `verbose` reads: the flag and the variable cannot mean different
    things.

    Raises:
        UsageError: The variable is set to something that is neither on nor off.
    """
    from mlplat.errors import UsageError

    value = os.environ.get(VERBOSE_ENV, "").strip().lower()
    if value not in _ON | _OFF:
        raise UsageError(
            f"{VERBOSE_ENV}={os.environ[VERBOSE_ENV]!r} is neither on nor off.",
            hint=f"Set {VERBOSE_ENV}=1 (or 0), or unset it.",
        )
    return flag or value in _ON


def set_verbose(ctx: typer.Context, value: bool) -> None:
    """Record the resolved verbosity for the whole invocation."""
    ctx.find_root().meta[_META_KEY] = value


def verbose(ctx: typer.Context) -> bool:
    """Tell whether verbose output is on: the one reader of the flag and the variable.

    Commands use it to show tool output, the error boundary to show tracebacks.
    """
    return bool(ctx.find_root().meta.get(_META_KEY))
