"""Hatch build hook: mlplat's wheel carries the runtime's wheel (``runtime/``), built here.

Why: a generated project depends on ``mlplat-runtime`` of the same version, and must install
offline from what ``pip install mlplat`` (or ``pip install .`` in a checkout) put on the machine;
``mlplat new`` copies this wheel into the project's ``wheels/``. Hatchling builds it reproducibly
(fixed timestamps), so the bundled wheel and one built from the same sources are the same bytes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.builders.wheel import WheelBuilder


class RuntimeWheelHook(BuildHookInterface):  # type: ignore[type-arg]
    """Build ``runtime/`` into a wheel and force-include it as ``mlplat/_bundled/runtime/``."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Runs before mlplat's wheel is built (standard and editable alike)."""
        if self.target_name != "wheel":
            return
        out = Path(tempfile.mkdtemp(prefix="mlplat-runtime-wheel-"))
        (built,) = WheelBuilder(str(Path(self.root) / "runtime")).build(directory=str(out))
        name = Path(built).name
        build_data["force_include"][built] = f"mlplat/_bundled/runtime/{name}"
