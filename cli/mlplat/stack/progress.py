"""Live progress from the Pulumi engine's events: a model, a rich display and plain lines.

`Progress` folds ``pulumi.automation.events.EngineEvent`` objects (what ``on_event``
receives) into what a person needs while a deploy runs: how many changes are done out of how
many, which operations are in flight and for how long, and which failed with what message.
`RichDisplay` draws that on a terminal with ``rich``; `PlainDisplay` writes one line per
finished step, for CI logs, pipes and ``NO_COLOR``. Both write to stderr, so ``--json`` keeps
stdout for data.

Secrets: the engine masks secret values in its diagnostics (``[secret]``); the displays show
only resource types, names, operations and diagnostic text, never inputs or outputs.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from pulumi.automation import EngineEvent

__all__ = [
    "Failure",
    "OnEvent",
    "PlainDisplay",
    "PlannedStep",
    "Progress",
    "RichDisplay",
    "display",
    "op_counts",
    "use_rich",
]

#: The ``on_event`` callback the Automation API's ``up``/``preview``/``destroy`` take.
OnEvent: TypeAlias = "Callable[[EngineEvent], None]"

# Ops that change nothing and are not worth counting.
_QUIET_OPS = {"same", "read"}
_PAST = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
    "replace": "replaced",
    "create-replacement": "created replacement",
    "delete-replaced": "deleted original",
    "import": "imported",
    "refresh": "refreshed",
    "discard": "discarded",
}
_PRESENT = {
    "create": "creating",
    "update": "updating",
    "delete": "deleting",
    "replace": "replacing",
    "create-replacement": "creating replacement",
    "delete-replaced": "deleting original",
    "import": "importing",
    "refresh": "refreshing",
}
_COLOR_TAGS = re.compile(r"<\{%[^%]*%\}>")


def clean(message: str) -> str:
    """A diagnostic without the engine's colour tags and trailing whitespace."""
    return _COLOR_TAGS.sub("", message).strip()


def op_counts(changes: Any) -> dict[str, int]:
    """An ``OpMap`` (``OpType`` or str keys) as ``{"create": 3, ...}``."""
    return {str(getattr(k, "value", k)): int(v) for k, v in (changes or {}).items()}


def resource_name(urn: str) -> str:
    """The logical name at the end of a URN (``urn:pulumi:s::p::t::name`` -> ``name``)."""
    return urn.rsplit("::", 1)[-1] if "::" in urn else urn


def resource_type(urn: str) -> str:
    """The type in a URN (``urn:pulumi:s::p::parent$t::name`` -> ``t``)."""
    parts = urn.split("::")
    return parts[-2].rsplit("$", 1)[-1] if len(parts) >= 4 else ""


@dataclass(frozen=True, kw_only=True)
class Failure:
    """A failed operation, or an error the engine reported without a resource.

    Attributes:
        type: Resource type, or ``""`` for a general error.
        name: Logical name, or ``""``.
        op: The operation that failed, or ``""`` when the engine named none.
        message: The engine's error text.
    """

    type: str
    name: str
    op: str
    message: str

    def text(self) -> str:
        """One line for the user."""
        if not self.type:
            return f"error: {self.message}"
        if not self.op:
            return f"{self.type} {self.name}: {self.message}"
        return f"{self.type} {self.name} failed to {self.op}: {self.message}"


@dataclass(frozen=True, kw_only=True)
class PlannedStep:
    """A change a preview announced."""

    op: str
    type: str
    name: str


@dataclass
class _InFlight:
    op: str
    type: str
    name: str
    started: float


@dataclass
class Progress:
    """The state of one engine operation, built from its event stream.

    Attributes:
        total: Changes expected (from a preview), or ``None`` when unknown.
        done: Changes finished.
        in_flight: Operations started and not finished, by URN.
        failures: Failed operations and general errors, in order.
        planned: Changes a preview announced (``planning`` events).
        changes: The summary event's counts per operation, once it arrived.
        maybe_corrupt: The summary said a resource may be in an invalid state.
    """

    total: int | None = None
    done: int = 0
    in_flight: dict[str, _InFlight] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    planned: list[PlannedStep] = field(default_factory=list)
    changes: dict[str, int] | None = None
    maybe_corrupt: bool = False
    clock: Callable[[], float] = time.monotonic
    _errors: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, event: Any) -> list[str]:
        """Fold one engine event in; return the lines a plain log should print for it."""
        with self._lock:
            return self._handle(event)

    def _handle(self, event: Any) -> list[str]:
        if event.diagnostic_event is not None:
            return self._diagnostic(event.diagnostic_event)
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            if meta.op.value in _QUIET_OPS:
                return []
            if event.resource_pre_event.planning:
                self.planned.append(
                    PlannedStep(op=meta.op.value, type=meta.type, name=resource_name(meta.urn))
                )
                return []
            self.in_flight[meta.urn] = _InFlight(
                op=meta.op.value, type=meta.type, name=resource_name(meta.urn), started=self.clock()
            )
            return []
        if event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            if meta.op.value in _QUIET_OPS or event.res_outputs_event.planning:
                return []
            step = self.in_flight.pop(meta.urn, None)
            self.done += 1
            elapsed = f" ({self.clock() - step.started:.0f}s)" if step else ""
            verb = _PAST.get(meta.op.value, meta.op.value)
            return [f"{self.count()} {verb} {meta.type} {resource_name(meta.urn)}{elapsed}"]
        if event.res_op_failed_event is not None:
            meta = event.res_op_failed_event.metadata
            self.in_flight.pop(meta.urn, None)
            failure = Failure(
                type=meta.type,
                name=resource_name(meta.urn),
                op=meta.op.value,
                message=self._errors.pop(meta.urn, "the provider reported an error"),
            )
            self.failures.append(failure)
            return [f"FAILED {failure.text()}"]
        if event.summary_event is not None:
            summary = event.summary_event
            self.changes = op_counts(summary.resource_changes)
            self.maybe_corrupt = bool(summary.maybe_corrupt)
            return self._unpaired_errors()
        # ``cancel_event`` ends every stream, cancelled or not (SDK events.py): not a signal.
        return []

    def _unpaired_errors(self) -> list[str]:
        """Errors on a resource whose operation never failed, as failures (at the summary).

        The engine reports some errors on a resource and then ends the update without a
        failed-operation event for it: a provider whose plugin cannot be loaded is one (seen
        on a real run). Without this the user would be told the update failed and not why.
        """
        lines: list[str] = []
        for urn, message in self._errors.items():
            failure = Failure(
                type=resource_type(urn), name=resource_name(urn), op="", message=message
            )
            self.failures.append(failure)
            lines.append(f"FAILED {failure.text()}")
        self._errors.clear()
        return lines

    def _diagnostic(self, diag: Any) -> list[str]:
        message = clean(diag.message)
        if not message or diag.ephemeral:
            return []
        if diag.severity == "error":
            if diag.urn and resource_name(diag.urn) != "" and "pulumi:pulumi:Stack" not in diag.urn:
                self._errors[diag.urn] = message
                return []
            self.failures.append(Failure(type="", name="", op="", message=message))
            return [f"error: {message}"]
        if diag.severity == "warning":
            where = f" ({resource_name(diag.urn)})" if diag.urn else ""
            return [f"warning{where}: {message}"]
        return []

    def count(self) -> str:
        """``[done/total]``, or ``[done]`` when the total is unknown."""
        if self.total:
            return f"[{self.done}/{self.total}]"
        return f"[{self.done}]"

    def running(self) -> list[tuple[str, float]]:
        """In-flight operations as ``("creating Type name", seconds)``, longest first."""
        with self._lock:
            now = self.clock()
            rows = [
                (f"{_PRESENT.get(s.op, s.op)} {s.type} {s.name}", now - s.started)
                for s in self.in_flight.values()
            ]
        return sorted(rows, key=lambda row: -row[1])


class PlainDisplay:
    """One line per finished step, failure and warning: for logs, pipes and ``NO_COLOR``."""

    def __init__(self, progress: Progress, stream: IO[str], title: str) -> None:
        self.progress = progress
        self.stream = stream
        self.title = title

    def __enter__(self) -> PlainDisplay:
        total = f" ({self.progress.total} changes)" if self.progress.total else ""
        self.stream.write(f"{self.title}{total}\n")
        self.stream.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.flush()

    def __call__(self, event: Any) -> None:
        """The ``on_event`` callback."""
        for line in self.progress.handle(event):
            self.stream.write(f"  {line}\n")
        self.stream.flush()


class RichDisplay:
    """A live panel on a terminal: a bar with done/total, the running operations, failures."""

    _MAX_ROWS = 8

    def __init__(self, progress: Progress, stream: IO[str], title: str) -> None:
        from rich.console import Console

        self.progress = progress
        self.title = title
        self.console = Console(file=stream, stderr=True)
        self._live: Any = None

    def __enter__(self) -> RichDisplay:
        from rich.live import Live

        self._live = Live(
            console=self.console,
            get_renderable=self._render,
            refresh_per_second=4,
            transient=True,
        )
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
        p = self.progress
        self.console.print(
            f"{self.title}: {p.done} change(s) done" + (f" of {p.total}" if p.total else "")
        )

    def __call__(self, event: Any) -> None:
        """The ``on_event`` callback: failures and warnings are printed above the panel."""
        for line in self.progress.handle(event):
            if line.startswith(("FAILED", "error:")):
                self.console.print(f"[red]{_escape(line)}[/red]")
            elif line.startswith("warning"):
                self.console.print(f"[yellow]{_escape(line)}[/yellow]")

    def _render(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        p = self.progress
        head = Text(f"{self.title} {p.count()}", style="bold")
        parts: list[Any] = [head]
        if p.total:
            parts.append(ProgressBar(total=p.total, completed=min(p.done, p.total), width=40))
        table = Table.grid(padding=(0, 2))
        rows = p.running()
        for text, seconds in rows[: self._MAX_ROWS]:
            table.add_row(Text(text), Text(f"{seconds:.0f}s", style="dim"))
        if len(rows) > self._MAX_ROWS:
            table.add_row(Text(f"... and {len(rows) - self._MAX_ROWS} more", style="dim"), "")
        parts.append(table)
        if p.failures:
            parts.append(Text(f"{len(p.failures)} failure(s)", style="red"))
        return Group(*parts)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def use_rich(stream: IO[str]) -> bool:
    """Rich only on a terminal, and never with ``NO_COLOR`` or ``TERM=dumb``."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@contextmanager
def display(progress: Progress, stream: IO[str], title: str) -> Iterator[OnEvent]:
    """The ``on_event`` callback for ``progress``, drawn the way ``stream`` allows."""
    shown: PlainDisplay | RichDisplay = (
        RichDisplay(progress, stream, title)
        if use_rich(stream)
        else PlainDisplay(progress, stream, title)
    )
    with shown:
        yield shown
