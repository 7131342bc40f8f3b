"""The `feature_store` question: `none` leaves no trace of Feast in the project, `feast` adds it.

Fast: rendering only. `test_template_generated.py` installs a `feature_store=feast` project and
runs its own lint, tests and pipeline for real.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

Render = Callable[..., Path]

FEAST_FILES = {
    "feature_store.yaml",
    "feature_store.platform.yaml",
    "src/ml_project/feast_config.py",
    "src/ml_project/feature_repo.py",
    "src/ml_project/feature_source.py",
    "src/ml_project/feature_store.py",
    "src/ml_project/history.py",
    "src/ml_project/stages/materialize.py",
    "tests/test_feature_store.py",
    "tests/serving/test_online_features.py",
}


def files(project: Path) -> set[str]:
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}


def test_none_is_the_default_and_leaves_no_trace_of_feast(render: Render) -> None:
    project = render()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["feature_store"] == "none"
    assert not FEAST_FILES & files(project)
    mentions = [
        path
        for path in sorted(files(project))
        if "feast" in (project / path).read_text(errors="replace").lower()
        or "feature_store" in (project / path).read_text(errors="replace")
    ]
    # The answers file records the choice; nothing else knows the feature store exists.
    assert mentions == [".copier-answers.yml"]


@pytest.mark.parametrize("data", [{}, {"problem_type": "regression", "dataset": "diabetes"}])
def test_feast_adds_the_store_its_configs_its_stage_and_its_tests(
    render: Render, data: dict[str, str]
) -> None:
    project = render(feature_store="feast", **data)
    assert FEAST_FILES <= files(project)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    deps = pyproject["project"]["dependencies"]
    assert "feast[grpcio]==0.67.0" in deps and "pandas>=2.1,<3" in deps
    assert "pandas-stubs>=2.2,<3" in pyproject["project"]["optional-dependencies"]["dev"]
    config = tomllib.loads((project / "config.toml").read_text())
    store = config["feature_store"]
    assert store["target"] == "local" and store["feature_rows"] == "derive"
    assert store["platform"]["offline_uri"] == "s3://mlplat/feast/ml_project"
    local = yaml.safe_load((project / "feature_store.yaml").read_text())
    assert local["registry"]["registry_type"] == "file"
    assert local["online_store"]["type"] == "sqlite"
    assert local["offline_store"]["type"] == "file"
    platform = yaml.safe_load((project / "feature_store.platform.yaml").read_text())
    # The platform's outputs (platform/mlplat_platform/featurestore.py): project, ports.
    assert platform["project"] == "mlplat"
    assert platform["registry"] == {
        "registry_type": "remote",
        "path": "feast.mlplat-features.svc.cluster.local:6570",
    }
    assert platform["online_store"] == {
        "type": "remote",
        "path": "http://feast.mlplat-features.svc.cluster.local:6566",
    }
    makefile = (project / "Makefile").read_text()
    assert "\nmaterialize:  ## " in makefile and "--stage materialize" in makefile
    assert "data/feature_store/" in (project / ".gitignore").read_text()
    assert (
        "COPY feature_store.yaml feature_store.platform.yaml ./"
        in (project / "Dockerfile").read_text()
    )
    readme = (project / "README.md").read_text()
    assert "## The feature store (Feast)" in readme and "make materialize" in readme
    key = "applicant_id" if not data else "patient_id"
    assert f'"name": "{key}", "datatype": "BYTES"' in readme


def test_feast_project_is_ruff_clean(render: Render) -> None:
    project = render(feature_store="feast")
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_package_named_feast_is_refused(render: Render) -> None:
    # Copier raises the validator's message as a ValueError (copier/_user_data.py, 9.x).
    with pytest.raises(ValueError, match="would hide the feast library"):
        render(feature_store="feast", package_name="feast")
