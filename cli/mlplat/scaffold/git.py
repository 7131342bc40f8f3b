"""A thin, typed wrapper over the git command line.

mlplat shells out to git (as Copier does) instead of binding a library: git is already a
prerequisite of Copier's update, and its CLI output is stable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlplat.errors import MlplatError

__all__ = ["GitError", "commit_all", "git", "git_available", "is_dirty", "is_work_tree"]


class GitError(MlplatError):
    """A git command failed."""


def git_available() -> bool:
    """Tell whether a git executable is on PATH."""
    return shutil.which("git") is not None


def git(
    *args: str,
    cwd: Path | None = None,
    git_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    input_text: str | None = None,
) -> str:
    """Run git and return its stdout, stripped.

    Raises:
        GitError: git is missing, or the command failed while ``check`` is true.
    """
    if not git_available():
        raise GitError("git is not installed or not on PATH.", hint="Install git, then retry.")
    command: list[str] = ["git"]
    if git_dir is not None:
        command.append(f"--git-dir={git_dir}")
    command.extend(args)
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(
        command,
        cwd=cwd,
        env=full_env,
        input=input_text,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise GitError(
            f"git {' '.join(args[:2])} failed: {detail[-1] if detail else result.returncode}"
        )
    return result.stdout.strip()


def is_work_tree(path: Path) -> bool:
    """Tell whether ``path`` is the top level of a git work tree."""
    if not (path / ".git").exists():
        return False
    top = git("rev-parse", "--show-toplevel", cwd=path, check=False)
    return bool(top) and Path(top).resolve() == path.resolve()


def is_dirty(path: Path) -> bool:
    """Tell whether a work tree has uncommitted changes or untracked files."""
    return bool(git("status", "--porcelain", cwd=path))


def commit_all(path: Path, message: str, *, identity: Sequence[str] | None = None) -> None:
    """Stage everything in ``path`` and commit it.

    Args:
        path: The work tree.
        message: Commit message.
        identity: ``(name, email)`` to use when git has no user identity configured, so a
            first commit works on a fresh machine or CI runner.
    """
    git("add", "-A", cwd=path)
    env: dict[str, str] = {}
    if identity is not None and not git("config", "user.email", cwd=path, check=False):
        name, email = identity
        env = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
    git("commit", "--quiet", "--no-verify", "--allow-empty", "-m", message, cwd=path, env=env)
