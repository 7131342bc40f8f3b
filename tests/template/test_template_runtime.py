"""The project holds what its owner changes; the runtime is the mlplat-runtime package.

Fast: rendering only. A default project is under 3,550 lines of src/ with no import cycle; the
model server, compile step and contract engine are imported, not carried; the Feast project's
server differs from the default one only by the feature source it names.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.template.conftest import Render
from tests.template.imports import source_shape

RUNTIME_MODULES = ("compiled.py", "_onnx_converters.py", "infer.py", "rules.py", "profile.py")


def package(project: Path) -> Path:
    return project / "src" / "ml_project"


@pytest.mark.parametrize("data", [{}, {"feature_store": "feast"}])
def test_the_project_is_small_and_acyclic(render: Render, data: dict[str, str]) -> None:
    shape = source_shape(package(render(**data)))
    assert shape.cycles == ()
    if not data:
        # 3,000 before continued evaluation added its wiring (make feedback, make monitor, the
        # monitor's CronWorkflow, the HTML card): about 670 lines, the machinery in the runtime.
        assert shape.lines < 3550, shape


def test_the_runtime_is_imported_not_carried(render: Render) -> None:
    src = package(render())
    assert not (src / "serving").exists()
    assert not [name for name in RUNTIME_MODULES if (src / name).exists()]
    entry = (src / "serving.py").read_text()
    assert "from mlplat_runtime.serving.cli import ServingProject, main" in entry
    assert len(entry.splitlines()) < 40


def test_the_feast_server_differs_only_by_its_feature_source(render: Render) -> None:
    plain = (package(render()) / "serving.py").read_text().splitlines()
    feast = (package(render(feature_store="feast")) / "serving.py").read_text().splitlines()
    changed = [
        line
        for line in difflib.unified_diff(plain, feast, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        "+from .feature_store import online_source",
        "+    feature_source=online_source,",
    ]
