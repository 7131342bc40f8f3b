"""Provenance facts: what the data is (content hash) and what produced it (code and packages)."""

from __future__ import annotations

__all__ = ["code_version", "content_hash", "package_versions"]

import hashlib
import os
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

_SHA_ENV = ("GIT_SHA", "GITHUB_SHA")  # set by image builds and by GitHub Actions
_PACKAGES = ("mlflow", "scikit-learn", "pandas", "numpy", "pyarrow", "pandera")


def content_hash(df: pd.DataFrame) -> str:
    """SHA-256 of the data itself: column names, dtypes and every value, in order.

    It does not depend on the file format or the time of writing, so re-ingesting unchanged data
    gives the same hash.
    """
    digest = hashlib.sha256()
    digest.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def code_version(root: Path) -> dict[str, str | bool | None]:
    """The git commit of ``root`` and whether the work tree has changes not in that commit.

    ``version`` is the commit SHA for a clean tree and ``"dirty"`` when any file differs from it,
    untracked files included (a new module that was never committed changes what runs). Outside
    a git work tree (a container image, an unpacked archive) the commit comes from ``$GIT_SHA``
    or ``$GITHUB_SHA`` if the build set one, else ``version`` is ``"unknown"``. ``source`` says
    where the answer came from.
    """

    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return result.stdout.strip()

    sha = git("rev-parse", "HEAD")
    if sha is None:
        for name in _SHA_ENV:
            if os.environ.get(name):
                value = os.environ[name].strip()
                return {"version": value, "git_sha": value, "dirty": None, "source": name}
        return {"version": "unknown", "git_sha": None, "dirty": None, "source": None}
    dirty = bool(git("status", "--porcelain", "--untracked-files=all"))
    return {"version": "dirty" if dirty else sha, "git_sha": sha, "dirty": dirty, "source": "git"}


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the data and the model."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
