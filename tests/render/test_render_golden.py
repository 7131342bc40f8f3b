"""Golden files: the rendered tree of two configs, compared file by file.

Regenerate only on request: ``MLPLAT_REGEN_GOLDEN=1 pytest tests/render/test_render_golden.py``
(never in CI), then review the diff like any code change.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mlplat.render import RenderSummary

GOLDEN = Path(__file__).parent / "golden"


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("variant", ["dev", "dev-exposed"])
def test_render_matches_golden(renders: dict[str, RenderSummary], variant: str) -> None:
    rendered = renders[variant].out_dir
    golden = GOLDEN / variant
    if os.environ.get("MLPLAT_REGEN_GOLDEN") == "1":
        if os.environ.get("CI") == "true":
            pytest.fail("MLPLAT_REGEN_GOLDEN must not be set in CI")
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(rendered, golden)
    assert golden.is_dir(), f"no golden files; run with MLPLAT_REGEN_GOLDEN=1 to create {golden}"
    actual, expected = _tree(rendered), _tree(golden)
    assert sorted(actual) == sorted(expected), "files added or removed"
    for name, text in expected.items():
        assert actual[name] == text, f"{name} differs from its golden file"
