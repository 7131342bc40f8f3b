"""The generated Dockerfile passes checkov's Dockerfile checks and keeps the house rules:
multi-stage, a non-root user, and a HEALTHCHECK on the server's liveness endpoint."""

from __future__ import annotations

import pytest

from tests.template.conftest import Render
from tests.tools import checkov_failures, run_checkov


@pytest.mark.parametrize("python_version", ["3.11", "3.13"])
def test_dockerfile_passes_checkov(render: Render, python_version: str) -> None:
    project = render(python_version=python_version)
    reports = run_checkov("dockerfile", project / "Dockerfile")
    assert checkov_failures(reports) == []
    assert sum(r["summary"]["passed"] for r in reports) > 0
    assert f"ARG PYTHON_VERSION={python_version}" in (project / "Dockerfile").read_text()


def test_dockerfile_is_multi_stage_non_root_with_healthcheck(render: Render) -> None:
    text = (render() / "Dockerfile").read_text()
    assert text.count("\nFROM ") + text.startswith("FROM ") >= 2
    user_lines = [line for line in text.splitlines() if line.startswith("USER ")]
    assert user_lines and all(not line.split()[1].startswith(("root", "0")) for line in user_lines)
    assert "HEALTHCHECK" in text and "/v2/health/live" in text


def test_dockerfile_installs_the_lock_and_carries_what_stages_read(render: Render) -> None:
    text = (render() / "Dockerfile").read_text()
    # The runtime wheel the lock pins comes with the lock.
    assert "COPY pyproject.toml uv.lock ./\nCOPY wheels ./wheels\nRUN uv sync" in text
    installs = [line for line in text.splitlines() if line.startswith("RUN uv sync")]
    assert installs and all("--locked" in line and "--no-dev" in line for line in installs)
    assert "pip install ." not in text  # nothing resolved at build time
    # The Argo runner's steps run in this image at /app: the config and the drift reference.
    assert "WORKDIR /app" in text and "ML_PROJECT_ROOT=/app" in text
    assert "COPY data/reference ./data/reference" in text
    assert "ARG GIT_SHA" in text and "GIT_SHA=${GIT_SHA}" in text


def test_dockerignore_lets_the_reference_in_and_keeps_snapshots_out(render: Render) -> None:
    lines = (render() / ".dockerignore").read_text().splitlines()
    assert "data/*" in lines and "!data/reference" in lines and ".uv" in lines
