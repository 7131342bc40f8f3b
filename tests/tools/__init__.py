"""Locate the offline validators the tests run (installed by .ci/run).

A missing validator skips its tests on a developer machine but fails them in CI
(``CI=true``), so a broken install step can never turn into a silently green run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, NoReturn

import pytest

TOOLS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TOOLS_DIR.parents[1]


def unavailable(message: str) -> NoReturn:
    """Skip the test on a developer machine; fail it in CI (``CI=true``)."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def require(found: str | Path | None, what: str, install: str) -> str:
    """Return the tool's path, or skip (locally) / fail (CI) with how to install it."""
    if found and Path(found).exists():
        return str(found)
    unavailable(f"{what} is not installed: {install}")


def actionlint() -> str:
    """The real actionlint, built from its Go module by ``python -m toolchain.build``."""
    from toolchain import build

    try:
        found: Path | None = build.binary("actionlint")
    except build.ToolchainError:
        found = None
    return require(found, "actionlint", "python -m toolchain.build actionlint (or .ci/run)")


def actionlint_findings(*files: Path) -> list[dict[str, Any]]:
    """actionlint's findings on ``files`` as dicts (``message``, ``kind``, ``filepath``...).

    shellcheck and pyflakes are switched off so the result does not depend on what else the
    machine has installed. Exit code 1 means findings; anything else but 0 is a crash.
    """
    result = subprocess.run(
        [actionlint(), "-no-color", "-shellcheck=", "-pyflakes=", "-format", "{{json .}}"]
        + [str(file) for file in files],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise AssertionError(f"actionlint failed ({result.returncode}): {result.stderr}")
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return findings


def schema_errors(schema: str, *files: Path) -> str:
    """check-jsonschema's complaints about ``files`` under a builtin ``schema``; "" when valid.

    ``schema`` is a builtin name such as ``vendor.github-workflows`` (SchemaStore's schemas,
    vendored in the package: no network).
    """
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr


def kubernetes_validate() -> str:
    """kubernetes-validate from the same environment as the running Python."""
    found = Path(sys.executable).with_name("kubernetes-validate")
    return require(found, "kubernetes-validate", "pip install -e '.[dev]'")


def checkov() -> str:
    """The checkov executable from its own virtual environment."""
    found = os.environ.get("MLPLAT_CHECKOV") or REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
    return require(
        found,
        "checkov",
        "python -m venv .venv-checkov && .venv-checkov/bin/pip install checkov (or run .ci/run)",
    )


def run_checkov(framework: str, *targets: Path) -> list[dict[str, Any]]:
    """Run checkov offline on directories and files; return its reports (one per framework).

    The JSON goes to a file, not stdout, so checkov's own log lines can never break the parse.
    """
    args = [checkov(), "--framework", framework, "--skip-download", "--compact", "-o", "json"]
    for target in targets:
        args += ["-d" if target.is_dir() else "-f", str(target)]
    with tempfile.TemporaryDirectory(prefix="checkov-") as out:
        proc = subprocess.run(
            [*args, "--output-file-path", out], capture_output=True, text=True, check=False
        )
        report = Path(out, "results_json.json")
        assert report.is_file(), f"checkov wrote no report:\n{proc.stdout}\n{proc.stderr}"
        data = json.loads(report.read_text())
    return data if isinstance(data, list) else [data]


def checkov_failures(reports: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(check id, file)`` of every failed check."""
    return [
        (c["check_id"], c["file_path"])
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
