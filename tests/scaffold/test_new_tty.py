"""``mlplat new`` at a real terminal: Ctrl-C, SIGINT and Ctrl-D at a prompt, and the defaults.

Each test runs mlplat in a pseudo-terminal (the standard library's ``pty``), so Copier's
questionary prompts run exactly as for a user, and keys are typed as bytes.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")
_PROMPT = "🎤".encode()


@dataclass
class Session:
    """A finished terminal session: exit code and what the terminal showed."""

    exit_code: int
    raw: bytes

    @property
    def text(self) -> str:
        return _ANSI.sub("", self.raw.decode(errors="replace"))

    def after_prompts(self) -> list[str]:
        """Lines printed after the last prompt was torn down: mlplat's own message.

        prompt_toolkit switches bracketed paste off (``ESC [?2004l``) as a prompt ends.
        """
        tail = self.raw.rsplit(b"\x1b[?2004l", 1)[-1]
        return [line for line in _ANSI.sub("", tail.decode()).splitlines() if line.strip()]


def _run(args: list[str], cwd: Path, on_prompt: Callable[[int, int, int], bool]) -> Session:
    """Run mlplat in a pty; call ``on_prompt(n, pid, fd)`` as the n-th prompt appears.

    ``on_prompt`` returns False once it has sent its last key.
    """
    env = {**os.environ, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", "COLUMNS": "100"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: become mlplat
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, "-m", "mlplat", *args], env)
    raw, seen, active, deadline = b"", 0, True, time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            raw += chunk
        if active and raw.count(_PROMPT) > seen:
            seen = raw.count(_PROMPT)
            time.sleep(0.3)  # let prompt_toolkit finish drawing and start reading keys
            active = on_prompt(seen, pid, fd)
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return Session(exit_code=os.waitstatus_to_exitcode(status), raw=raw)


def _send_at_first_prompt(key: bytes | None) -> Callable[[int, int, int], bool]:
    def act(n: int, pid: int, fd: int) -> bool:
        if key is None:
            os.kill(pid, signal.SIGINT)
        else:
            os.write(fd, key)
        return False

    return act


@pytest.mark.parametrize(("key", "how"), [(b"\x03", "Ctrl-C"), (None, "SIGINT")])
def test_interrupt_at_the_first_prompt_exits_130_and_creates_nothing(
    tmp_path: Path, key: bytes | None, how: str
) -> None:
    session = _run(["new", "demo"], tmp_path, _send_at_first_prompt(key))
    assert session.exit_code == 130, session.text
    assert session.after_prompts() == ["Interrupted; nothing was created."]
    assert "AnswersMap" not in session.text and "Traceback" not in session.text
    assert list(tmp_path.iterdir()) == []


def test_end_of_input_at_a_prompt_exits_2_and_creates_nothing(tmp_path: Path) -> None:
    # Ctrl-U clears the pre-filled default; Ctrl-D on an empty line is end of input.
    session = _run(["new", "demo"], tmp_path, _send_at_first_prompt(b"\x15\x04"))
    assert session.exit_code == 2, session.text
    assert session.after_prompts() == [
        "Error: A prompt got end of input (Ctrl-D) instead of an answer; nothing was written.",
        "Answer the questions, or pass --defaults and/or --data key=value.",
    ]
    assert list(tmp_path.iterdir()) == []


def test_enter_at_every_prompt_takes_the_defaults_named_after_dest(tmp_path: Path) -> None:
    def enter(n: int, pid: int, fd: int) -> bool:
        os.write(fd, b"\r")
        return True

    session = _run(["new", "my.proj", "--no-git"], tmp_path, enter)
    assert session.exit_code == 0, session.text
    first_prompt = session.text.split("Project name", 1)[1].split("\n", 2)[1]
    assert "my-proj" in first_prompt, "the interactive default is DEST's name"
    answers = (tmp_path / "my.proj" / ".copier-answers.yml").read_text(encoding="utf-8")
    assert "project_name: my-proj" in answers and "package_name: my_proj" in answers
