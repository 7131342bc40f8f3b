"""Versions of mlplat and the tools it drives, for ``mlplat --version`` and bug reports.

Versions come from package metadata and ``pulumi version``: nothing heavy is imported.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import metadata

from mlplat import __version__

__all__ = ["tool_versions"]


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _pulumi_cli_version() -> str | None:
    executable = shutil.which("pulumi")
    if executable is None:
        return None
    try:
        result = subprocess.run(
            [executable, "version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unavailable (pulumi version failed)"
    return result.stdout.strip() or "unavailable"


def tool_versions() -> dict[str, str]:
    """Return ``{tool: version}`` for mlplat, Copier and, when on PATH, the Pulumi CLI."""
    versions = {"mlplat": __version__, "copier": _package_version("copier")}
    pulumi = _pulumi_cli_version()
    versions["pulumi CLI"] = pulumi if pulumi is not None else "not found on PATH"
    return versions
