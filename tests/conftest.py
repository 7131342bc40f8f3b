"""Shared fixtures: an isolated mlplat home, git identity, throwaway templates."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give every test its own mlplat data dir and a git identity, like a fresh machine."""
    home = tmp_path_factory.mktemp("mlplat-home")
    monkeypatch.setenv("MLPLAT_HOME", str(home))
    for var in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        monkeypatch.setenv(var, "Test User")
    for var in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(var, "test@example.com")
    monkeypatch.delenv("MLPLAT_VERBOSE", raising=False)
    monkeypatch.delenv("MLPLAT_CHART_MIRROR", raising=False)  # renders must not depend on it
    return home


def run_git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


WriteTemplate = Callable[[Path, Mapping[str, str]], Path]


def write_files(root: Path, files: Mapping[str, str]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))
    return root


SMALL_COPIER_YML = """\
    _answers_file: .copier-answers.yml
    _templates_suffix: .jinja
    name:
      type: str
      default: demo
      validator: "{% if not name.isidentifier() %}must be a Python identifier{% endif %}"
    flavour:
      type: str
      default: plain
      choices: [plain, fancy]
    """

ANSWERS_JINJA = "{{ _copier_answers|to_nice_yaml -}}\n"


@pytest.fixture
def small_template(tmp_path: Path) -> Path:
    """A tiny plain-directory template with a validator and a choice."""
    return write_files(
        tmp_path / "tpl",
        {
            "copier.yml": SMALL_COPIER_YML,
            "{{_copier_conf.answers_file}}.jinja": ANSWERS_JINJA,
            "README.md.jinja": "# {{ name }} ({{ flavour }})\n",
        },
    )
