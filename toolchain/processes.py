"""Start the control plane's processes in their own process groups, and stop them for sure.

Each component runs as the leader of a new session, so stopping it signals the whole group
(anything it forked goes too). A recorded process is identified by its pid *and* its start
time from ``/proc``, so a stale state file can never make ``down`` signal an unrelated process
that reused the pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Running", "free_port", "is_alive", "spawn", "stop"]


@dataclass(frozen=True, kw_only=True)
class Running:
    """A started component: enough to find it again from another process."""

    name: str
    pid: int
    started: str
    log: str
    argv: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """For the cluster's state file."""
        return {
            "name": self.name,
            "pid": self.pid,
            "started": self.started,
            "log": self.log,
            "argv": list(self.argv),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Running:
        """The inverse of :meth:`as_dict`."""
        argv = data.get("argv", [])
        return cls(
            name=str(data["name"]),
            pid=int(str(data["pid"])),
            started=str(data["started"]),
            log=str(data["log"]),
            argv=tuple(str(arg) for arg in argv) if isinstance(argv, list) else (),
        )


def _start_time(pid: int) -> str:
    """Field 22 of /proc/PID/stat (clock ticks since boot); "" when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def is_alive(process: Running) -> bool:
    """Whether this very process (same pid and start time) still runs."""
    _reap(process.pid)
    return _start_time(process.pid) == process.started and not _is_zombie(process.pid)


def _reap(pid: int) -> None:
    """Collect the exit status if the process is our child (the fixture case)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(
    name: str, argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None
) -> Running:
    """Start ``argv`` detached in its own session with stdout and stderr to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
        )
    return Running(
        name=name,
        pid=process.pid,
        started=_start_time(process.pid),
        log=str(log),
        argv=tuple(argv),
    )


def stop(process: Running, *, timeout: float = 15.0) -> None:
    """SIGTERM the process group, wait, then SIGKILL what is left; returns when it is gone."""
    if not is_alive(process):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(process):
            break
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while is_alive(process) and time.monotonic() < deadline:
        time.sleep(0.05)
    if is_alive(process):
        raise RuntimeError(f"{process.name} (pid {process.pid}) did not stop")
