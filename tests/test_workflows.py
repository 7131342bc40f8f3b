"""mlplat's own GitHub Actions workflows pass actionlint and the workflow JSON schema, and
follow the house rules: actions pinned by full SHA with a version comment, minimal
permissions, a timeout on every job."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.tools import actionlint_findings, checkov_failures, run_checkov, schema_errors

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+#\s+v\d+(\.\d+)*\s*$")


def test_there_are_workflows() -> None:
    assert WORKFLOWS, "expected .github/workflows/*.yml"


def test_actionlint_is_clean() -> None:
    findings = actionlint_findings(*WORKFLOWS)
    assert findings == [], json.dumps(findings, indent=1)


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ github.no_such_property }}\n"
    )
    findings = actionlint_findings(broken)
    assert [f["kind"] for f in findings] == ["expression"], findings


def test_workflow_schema() -> None:
    assert schema_errors("vendor.github-workflows", *WORKFLOWS) == ""


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


ACTION = REPO_ROOT / "action.yml"


def _run_blocks(document: object) -> list[str]:
    """Every ``run:`` script in a workflow or action, however deeply nested."""
    found: list[str] = []
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "run" and isinstance(value, str):
                found.append(value)
            else:
                found += _run_blocks(value)
    elif isinstance(document, list):
        for item in document:
            found += _run_blocks(item)
    return found


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_no_expression_is_interpolated_into_a_script(path: Path) -> None:
    """Inputs and event data reach scripts through env:, never as ${{ }} inside run:."""
    scripts = _run_blocks(yaml.safe_load(path.read_text()))
    assert scripts, f"{path.name} has no run: steps"
    for script in scripts:
        assert "${{" not in script, f"expression interpolated into a run: line:\n{script}"


def test_action_schema_and_pins() -> None:
    assert schema_errors("vendor.github-actions", ACTION) == ""
    for line in ACTION.read_text().splitlines():
        if re.match(r"^\s*(-\s+)?uses:", line):
            assert PINNED.match(line), f"not pinned to a SHA with a version comment: {line}"
    action = yaml.safe_load(ACTION.read_text())
    assert set(action["inputs"]) >= {
        "command",
        "stack",
        "backend-url",
        "profile",
        "config",
        "working-directory",
        "mlplat-version",
    }
    assert not any("passphrase" in name or "token" in name for name in action["inputs"]), (
        "credentials must come through the environment, not inputs"
    )


def test_checkov_github_actions_checks_pass() -> None:

    reports = run_checkov("github_actions", REPO_ROOT / ".github", ACTION)
    assert checkov_failures(reports) == []
    summary = [r["summary"] for r in reports]
    assert all(s["parsing_errors"] == 0 for s in summary), summary
    assert sum(s["passed"] for s in summary) > 0, "checkov ran no github_actions check"


@pytest.mark.parametrize(
    "script", sorted((REPO_ROOT / ".github" / "workflows" / "e2e").glob("*.py")), ids=str
)
def test_e2e_helpers_compile(script: Path) -> None:
    compile(script.read_text(), str(script), "exec")


def test_checkov_catches_a_write_all_workflow(tmp_path: Path) -> None:

    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(
        "on: push\npermissions: write-all\njobs:\n  a:\n    runs-on: ubuntu-24.04\n"
        "    steps:\n      - run: echo hi\n"
    )
    failed = {
        check for check, _ in checkov_failures(run_checkov("github_actions", tmp_path / ".github"))
    }
    assert "CKV2_GHA_1" in failed, failed


def test_ci_runs_every_table_of_the_any_table_test() -> None:
    """Each table of tests/template/tables.py has its own runner in ci.yml's ``tables`` job.

    The any-table test is opt-in (``MLPLAT_TABLES``) because the five projects would add about
    16 minutes to the test job; this keeps a table added there from silently never running in CI.
    """
    from tests.template.tables import TABLES

    ci = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    job = ci["jobs"]["tables"]
    assert job["strategy"]["matrix"]["table"] == list(TABLES)
    assert job["strategy"]["fail-fast"] is False
    steps = [s for s in job["steps"] if "test_any_table.py" in s.get("run", "")]
    assert len(steps) == 1 and steps[0]["env"]["MLPLAT_TABLES"] == "${{ matrix.table }}"
