"""mlplat's own GitHub Actions workflows pass actionlint and the workflow JSON schema, and
follow the house rules: actions pinned by full SHA with a version comment, minimal
permissions, a timeout on every job."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.tools import actionlint_script

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+#\s+v\d+(\.\d+)*\s*$")


def test_there_are_workflows() -> None:
    assert WORKFLOWS, "expected .github/workflows/*.yml"


def test_actionlint_is_clean() -> None:
    out = subprocess.run(
        [*actionlint_script(), *map(str, WORKFLOWS)], capture_output=True, text=True, check=True
    )
    findings = json.loads(out.stdout)
    assert findings == [], json.dumps(findings, indent=1)


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.no_such_property }}\n"
    )
    out = subprocess.run(
        [*actionlint_script(), str(broken)], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout), "actionlint found nothing in a broken workflow"


def test_workflow_schema() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, WORKFLOWS),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_house_rules(workflow: Path) -> None:
    text = workflow.read_text()
    for line in text.splitlines():
        if re.match(r"^\s*(-\s+)?uses:", line) and not line.strip().endswith(("./", "'")):
            assert PINNED.match(line), f"not pinned to a SHA with a version comment: {line}"
    loaded = yaml.safe_load(text)
    assert "permissions" in loaded, "top-level permissions must be set"
    for name, job in loaded["jobs"].items():
        assert "timeout-minutes" in job, f"job {name} has no timeout-minutes"
