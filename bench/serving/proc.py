"""Processes and HTTP probes shared by `run.py` and `peers.py`: a server started around a run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


def sh(cmd: list[str], **kw: Any) -> str:
    """Run `cmd`, echoing it; its stdout (raises on a non-zero exit, with stderr)."""
    print("$", " ".join(str(c) for c in cmd), flush=True)
    done = subprocess.run(cmd, text=True, capture_output=True, **kw)
    if done.returncode:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return str(done.stdout)


def get(url: str) -> tuple[int, bytes]:
    """GET `url`: (status, body), status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def answers(url: str, body: str) -> bool:
    """A POST of `body` to `url` answers 200."""
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


class Server:
    """A server process with a log file, started and stopped around one benchmark."""

    def __init__(
        self,
        name: str,
        cmd: list[str],
        ready: Callable[[], bool],
        *,
        cwd: Path,
        env: dict[str, str],
        log: Path,
    ) -> None:
        self.name, self.cmd, self.ready, self.cwd, self.env, self.log = (
            name,
            cmd,
            ready,
            cwd,
            env,
            log,
        )

    def __enter__(self) -> Server:
        print(f"== {self.name}: {' '.join(self.cmd)}", flush=True)
        self.handle = self.log.open("w")
        # Own process group (killed as one) but the same session: a new session would get its own
        # scheduler autogroup on Linux and be given half the CPU against wrk, skewing every result.
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=self.cwd,
            env=self.env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        deadline = time.monotonic() + 300
        while not self.ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} did not become ready; {self.log}:\n{tail}")
            time.sleep(0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.handle.close()


__all__ = ["HOST", "Server", "answers", "get", "sh"]
