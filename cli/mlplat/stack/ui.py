"""How the deploy core talks to the person running it: messages, confirmations, progress.

Everything goes to stderr, so ``--json`` leaves stdout for data. The core never decides
whether it may prompt: `TerminalUi` is built by the CLI with ``interactive`` (stdin is a
terminal) and the core asks `Ui.confirm` only after checking ``--yes``. Tests pass their own
`Ui` that records messages and answers questions.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import IO, Protocol

from mlplat.stack.progress import OnEvent, PlannedStep, Progress, display

__all__ = ["TerminalUi", "Ui", "plan_lines"]


class Ui(Protocol):
    """What the core needs from a front end."""

    def message(self, text: str) -> None:
        """Tell the user something (one or more lines)."""

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question; the default answer is no."""

    def progress(self, progress: Progress, title: str) -> AbstractContextManager[OnEvent]:
        """A display for ``progress``; yields the ``on_event`` callback."""

    def output(self, line: str) -> None:
        """A line of the Pulumi CLI's own output (shown only with ``--verbose``)."""


class TerminalUi:
    """The `Ui` of the CLI: stderr, ``rich`` on a terminal, plain lines elsewhere.

    Args:
        stream: Where messages and progress go (stderr).
        verbose: Show the Pulumi CLI's own output too.
    """

    def __init__(self, *, stream: IO[str] | None = None, verbose: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.verbose = verbose

    def message(self, text: str) -> None:
        """Write ``text`` and a newline."""
        self.stream.write(text + "\n")
        self.stream.flush()

    def confirm(self, question: str) -> bool:
        """Ask on the terminal (callers check interactivity and ``--yes`` first)."""
        import typer

        return bool(typer.confirm(question, default=False, err=True))

    @contextmanager
    def progress(self, progress: Progress, title: str) -> Iterator[OnEvent]:
        """Rich or plain progress on the stream."""
        with display(progress, self.stream, title) as on_event:
            yield on_event

    def output(self, line: str) -> None:
        """Echo one line of Pulumi's output with ``--verbose``."""
        if self.verbose:
            self.stream.write(f"  | {line}\n")


def plan_lines(planned: Sequence[PlannedStep], changes: dict[str, int]) -> list[str]:
    """A preview as a person reads it: counts per operation, then each risky change by name.

    Creates and updates are summarised by type; replacements and deletions are listed one by
    one, because they are the ones that lose data or cause downtime.
    """
    counts = {op: n for op, n in sorted(changes.items()) if op != "same" and n}
    if not counts:
        return ["No changes."]
    lines = ["Changes: " + ", ".join(f"{n} to {op}" for op, n in counts.items())]
    by_type: dict[tuple[str, str], int] = {}
    risky: list[PlannedStep] = []
    for step in planned:
        if step.op in ("delete", "replace", "delete-replaced", "create-replacement"):
            if step.op in ("delete", "replace"):
                risky.append(step)
            continue
        by_type[(step.op, step.type)] = by_type.get((step.op, step.type), 0) + 1
    for (op, type_), n in sorted(by_type.items()):
        lines.append(f"  {op:<8} {n:>3} x {type_}")
    for step in risky:
        lines.append(f"  {step.op:<8}       {step.type} {step.name}")
    return lines
