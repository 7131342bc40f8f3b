"""Where a project lives, for the runtime's commands: its root and its config file's variable.

Why: ``make contract`` and model loading (the local MLflow store) run inside a project directory
or in its image at ``$ML_PROJECT_ROOT``; the project's own config module reads the same names.
"""

from __future__ import annotations

__all__ = ["CONFIG_ENV", "ROOT_ENV", "project_root", "write_json"]

import json
import os
from pathlib import Path
from typing import Any

CONFIG_ENV = "ML_PROJECT_CONFIG"
ROOT_ENV = "ML_PROJECT_ROOT"


def project_root() -> Path:
    """The project directory: ``$ML_PROJECT_ROOT`` or the working directory."""
    return Path(os.environ.get(ROOT_ENV) or Path.cwd()).resolve()


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented, key-sorted JSON (stable diffs, readable by people)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", "utf-8")
