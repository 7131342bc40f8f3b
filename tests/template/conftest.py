"""Helpers for the template tests: render templates/ml-project with Copier's public API."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "ml-project"

Render = Callable[..., Path]


def render_template(dst: Path, data: Mapping[str, str] | None = None) -> Path:
    """Render the template non-interactively into ``dst``, exactly as `mlplat new` would."""
    import copier

    copier.run_copy(
        str(TEMPLATE), str(dst), data=dict(data or {}), defaults=True, unsafe=False, quiet=True
    )
    return dst


@pytest.fixture
def render(tmp_path: Path) -> Render:
    """Render into a fresh directory under ``tmp_path``; returns the project directory."""
    counter = iter(range(1000))

    def _render(**data: str) -> Path:
        # The directory's name is the default project name: keep the template's own.
        return render_template(tmp_path / f"project-{next(counter)}" / "ml-project", data)

    return _render
