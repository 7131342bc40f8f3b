"""Ctrl-C during a deploy: let the Pulumi engine cancel cleanly instead of dying mid-operation.

On a terminal, Ctrl-C reaches the whole foreground process group, so the Pulumi CLI gets its
own SIGINT and starts a graceful cancellation: it finishes the operations in flight, saves the
state and exits (exit code 8, "cancelled"). The inline program is served from *this* process,
so mlplat must stay alive until then: the first SIGINT only records that a cancel is under
way; a second one stops mlplat at once (the engine is stopped too, and the stack can be left
with pending operations and a lock, which the next ``mlplat up`` reports).

When the signal reaches only mlplat (``kill -INT``, a CI runner), the Pulumi CLI did not see it;
`graceful_interrupts` then forwards one SIGINT to mlplat's child processes (Linux ``/proc``).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

__all__ = ["Interrupts", "graceful_interrupts"]


@dataclass
class Interrupts:
    """What happened to SIGINT while a deploy ran.

    Attributes:
        cancelling: A first Ctrl-C arrived: the engine is finishing in-flight operations.
    """

    cancelling: bool = False


def _from_terminal() -> bool:
    """Whether this process is in the terminal's foreground group (Ctrl-C hit the child too)."""
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


def _children() -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        try:
            pids += [int(p) for p in task.read_text().split()]
        except (OSError, ValueError):
            continue
    return pids


def _forward_to_children() -> None:
    for pid in _children():
        try:
            os.kill(pid, signal.SIGINT)
        except OSError:
            continue


@contextmanager
def graceful_interrupts(notify: Callable[[str], None]) -> Iterator[Interrupts]:
    """Handle SIGINT as "cancel cleanly" for the duration of the block.

    Args:
        notify: Prints a message to the user (stderr).

    Yields:
        The `Interrupts` record; ``cancelling`` is set after the first Ctrl-C.
    """
    state = Interrupts()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: FrameType | None) -> None:
        if state.cancelling:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        state.cancelling = True
        if not _from_terminal():
            _forward_to_children()
        notify(
            "Cancelling: Pulumi finishes the operations in flight and saves the stack's state. "
            "Press Ctrl-C again to stop at once (that can leave pending operations)."
        )

    signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)
