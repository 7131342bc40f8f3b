"""Render templates/ml-project with defaults and with every choice of every question."""

from __future__ import annotations

import json
import py_compile
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "ml-project"
Render = Callable[..., Path]

QUESTIONS = yaml.safe_load((TEMPLATE / "copier.yml").read_text())
# The dataset has to fit the problem type; every other question is independent.
DATASET_FOR = {"classification": "credit", "regression": "diabetes"}


def choice_values(question: str) -> list[str]:
    choices = QUESTIONS[question]["choices"]
    if isinstance(choices, dict):
        return [v["value"] if isinstance(v, dict) else v for v in choices.values()]
    return list(choices)


def every_choice() -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, spec in QUESTIONS.items()
        if not name.startswith("_") and "choices" in spec
        for value in choice_values(name)
    ]


def ruff(project: Path) -> subprocess.CompletedProcess[str]:
    """`make lint` of the generated project: ruff check and ruff format --check."""
    commands = [
        ["check", "--no-cache", "--output-format", "concise", "."],
        ["format", "--no-cache", "--check", "."],
    ]
    results = [
        subprocess.run(
            [sys.executable, "-m", "ruff", *args],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        for args in commands
    ]
    failed = [r for r in results if r.returncode != 0]
    return failed[0] if failed else results[0]


def test_template_needs_no_trust():
    assert "_tasks" not in QUESTIONS
    assert "_jinja_extensions" not in QUESTIONS
    assert QUESTIONS["_templates_suffix"] == ".jinja"
    assert QUESTIONS["_answers_file"] == ".copier-answers.yml"


def test_defaults_render_a_complete_project(render: Render):
    project = render()
    expected = [
        ".copier-answers.yml",
        ".gitignore",
        ".pre-commit-config.yaml",
        "LICENSE",
        "Makefile",
        "README.md",
        "config.toml",
        "data/reference/profile.json",
        "pyproject.toml",
        "src/ml_project/__init__.py",
        "src/ml_project/pipeline.py",
        "src/ml_project/contract.py",
        "src/ml_project/config.py",
        "src/ml_project/serving.py",
        "src/ml_project/features.py",
        "tests/conftest.py",
        "tests/stages/test_register.py",
    ]
    assert [p for p in expected if not (project / p).is_file()] == []
    for stage in ("ingest", "validate", "split", "features", "train", "evaluate", "register"):
        assert (project / "src/ml_project/stages" / f"{stage}.py").is_file()
    assert not list(project.rglob("*.jinja"))
    assert not (project / "copier.yml").exists()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["package_name"] == "ml_project"
    assert answers["problem_type"] == "classification"
    assert answers["dataset"] == "credit"


def test_generated_python_compiles_and_is_ruff_clean(render: Render):
    project = render()
    for path in project.rglob("*.py"):
        py_compile.compile(str(path), doraise=True)
    result = ruff(project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_and_makefile_state_true_commands(render: Render):
    project = render()
    readme = (project / "README.md").read_text()
    makefile = (project / "Makefile").read_text()
    for target in ("install", "test", "lint", "pipeline"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target
    assert "python -m ml_project.pipeline" in makefile
    assert "$(UV) sync --python $(PYTHON) --extra dev --extra argo" in makefile
    assert "$(BIN)/mypy" in makefile
    assert all(
        line.startswith("\t") for line in makefile.splitlines() if line.startswith((" ", "\t"))
    )


def test_gitignore_keeps_outputs_out(render: Render):
    ignored = (render() / ".gitignore").read_text().split()
    assert {".venv/", "mlflow.db", "mlartifacts/", "artifacts/", "data/snapshots/"} <= set(ignored)


def test_pre_commit_hooks_need_no_network(render: Render):
    config = yaml.safe_load((render() / ".pre-commit-config.yaml").read_text())
    assert {repo["repo"] for repo in config["repos"]} == {"local"}


@pytest.mark.parametrize(("question", "value"), every_choice())
def test_every_choice_renders(render: Render, question: str, value: str):
    data = {question: value}
    if question == "problem_type":
        data["dataset"] = DATASET_FOR[value]
    if question == "dataset":
        data["problem_type"] = next(p for p, d in DATASET_FOR.items() if d == value)
    project = render(**data)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers[question] == value
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    config = tomllib.loads((project / "config.toml").read_text())
    for path in project.rglob("*.py"):
        py_compile.compile(str(path), doraise=True)
    assert config["problem_type"] == answers["problem_type"]
    assert config["data"]["source"] == f"builtin:{answers['dataset']}"
    # The validation reference of the chosen sample data ships with the project.
    profile = json.loads((project / config["validate"]["reference_profile"]).read_text())
    feature = {"credit": "income_k", "diabetes": "bmi"}[answers["dataset"]]
    assert set(profile[feature]) == {"edges", "fractions"}
    python = answers["python_version"]
    assert pyproject["project"]["requires-python"] == f">={python}"
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + python.replace(".", "")
    license_text = (project / "LICENSE").read_text()
    expected_license = {
        "MIT": "MIT License",
        "Apache-2.0": "Apache License",
        "BSD-3-Clause": "BSD 3-Clause License",
        "Proprietary": "All rights reserved.",
    }[answers["license"]]
    assert expected_license in license_text
    spdx = pyproject["project"]["license"]
    assert spdx == (
        "LicenseRef-Proprietary" if answers["license"] == "Proprietary" else answers["license"]
    )


def test_free_text_answers_are_escaped(render: Render):
    project = render(
        project_name="Fraud Scores 2",
        description='Says "hi" \\ and <ok> & more',
        author_name='Ann "A" O\'Neil',
    )
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "fraud-scores-2"
    assert pyproject["project"]["description"] == 'Says "hi" \\ and <ok> & more'
    assert pyproject["project"]["authors"][0]["name"] == 'Ann "A" O\'Neil'
    assert (project / "src/fraud_scores_2/pipeline.py").is_file()
    assert ruff(project).returncode == 0


def test_regression_project_is_ruff_clean(render: Render):
    project = render(problem_type="regression", dataset="diabetes", license="Apache-2.0")
    result = ruff(project)
    assert result.returncode == 0, result.stdout + result.stderr
    contract = (project / "src/ml_project/contract.py").read_text()
    assert '"sex"' in contract and '"progression"' in contract
