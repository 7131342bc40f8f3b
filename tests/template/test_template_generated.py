"""For real: install generated projects, run their own tests and their pipeline (slow).

Needs network access to the package index for `make install` (pip), like a developer's first
`make install`; the generated project itself never downloads at run time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "ml-project"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("make") is None, reason="needs make"),
]

COMBINATIONS = {
    "defaults": {},
    "regression-apache": {
        "project_name": "Diabetes Progression",
        "problem_type": "regression",
        "dataset": "diabetes",
        "license": "Apache-2.0",
    },
}


def make(project: Path, target: str, timeout: int) -> subprocess.CompletedProcess[str]:
    prefixes = ("MLFLOW_", "ML_PROJECT_", "PYTEST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        ["make", target],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def git_status(project: Path) -> list[str]:
    result = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"{result.args}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )


@pytest.mark.parametrize("name", list(COMBINATIONS))
def test_generated_project_installs_tests_and_trains(tmp_path: Path, name: str):
    import copier

    project = tmp_path / name
    copier.run_copy(
        str(TEMPLATE),
        str(project),
        data=dict(COMBINATIONS[name]),
        defaults=True,
        unsafe=False,
        quiet=True,
    )
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init"],
        cwd=project,
        check=True,
    )
    assert_ok(make(project, "install", timeout=1200))
    assert_ok(make(project, "lint", timeout=120))
    assert_ok(make(project, "test", timeout=600))
    assert git_status(project) == [], "the tests must not write into the project"

    result = make(project, "pipeline", timeout=300)
    assert_ok(result)
    assert "total" in result.stdout
    registration = json.loads((project / "artifacts/register/registration.json").read_text())
    assert registration["promoted"] is True
    assert "champion" in registration["aliases"]
    assert (project / "artifacts/register/model_card.md").is_file()
    assert list((project / "data/snapshots").glob("*/provenance.json"))
    assert (project / "mlflow.db").is_file()
    # Everything the pipeline writes is git-ignored; the shipped reference profile is compared
    # with the data, never rewritten by a normal run.
    assert git_status(project) == []
