"""Fixtures for the platform's mock-runtime tests (helpers live in platform_helpers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from platform_helpers import Run, shared_chart_mirror

from mlplat.render._mock import run_mocked


@pytest.fixture
def run() -> Callable[[Callable[[], Any]], Run]:
    def _run(program: Callable[[], Any]) -> Run:
        return Run(*run_mocked(program))

    return _run


@pytest.fixture
def chart_mirror() -> Path:
    """The shared directory of the seven pinned chart archives; skips where it is absent."""
    found = shared_chart_mirror()
    if found is None:
        pytest.skip("no chart mirror (../shared/charts); set MLPLAT_TEST_CHART_MIRROR")
    return found


@pytest.fixture(autouse=True)
def _reset_pulumi_runtime() -> Iterator[None]:
    """Tests that call set_mocks must not leave mocks behind for the rest of the session."""
    yield
    from pulumi.runtime import settings

    settings.reset_options()
