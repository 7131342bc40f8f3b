"""The generated project ``mlplat deploy`` and ``mlplat render --project`` act on.

A project made by ``mlplat new`` is recognised by its ``.copier-answers.yml`` next to
``pyproject.toml`` and ``config.toml``, searched from the given directory upwards (so the
commands work from any subdirectory). The names deploying needs are read from where the
project itself keeps them: the package from the answers file, the registered model from
``config.toml``'s ``[registry] model_name`` (what the project's register stage uses), the
version from ``pyproject.toml``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplat.errors import UsageError

__all__ = ["Project", "find_project"]

_MARKERS = (".copier-answers.yml", "pyproject.toml", "config.toml")


@dataclass(frozen=True, kw_only=True)
class Project:
    """A generated project.

    Attributes:
        root: Its directory.
        package: The Python package (``python -m <package>.serving`` is the server).
        model_name: The registered model's name in MLflow.
        version: The project's version (the default image tag).
    """

    root: Path
    package: str
    model_name: str
    version: str

    @property
    def service_name(self) -> str:
        """The InferenceService name: the package as a DNS label (KServe allows 45 chars)."""
        label = re.sub(r"[^a-z0-9-]+", "-", self.package.lower()).strip("-")[:45].strip("-")
        return label if label and label[0].isalpha() else f"m-{label}"[:45]

    @property
    def pulumi_project(self) -> str:
        """The Pulumi project of its deployment: one per project, separate from the platform's."""
        return f"mlplat-model-{self.service_name}"

    @property
    def default_image(self) -> str:
        """``<package>:<version>``, what ``docker build -t <package>:<version> .`` produces."""
        return f"{self.package}:{self.version}"


def find_project(start: Path) -> Project:
    """The project containing ``start``.

    Raises:
        UsageError: No generated project here or above, or one of its files lacks a name.
    """
    start = start.resolve()
    root = next(
        (d for d in (start, *start.parents) if all((d / m).is_file() for m in _MARKERS)), None
    )
    if root is None:
        raise UsageError(
            f"{start} is not inside a project made by `mlplat new` (no .copier-answers.yml "
            "with pyproject.toml and config.toml here or above)",
            hint="Run it in the project's directory, or pass --project DIR.",
        )
    answers = _yaml(root / ".copier-answers.yml")
    package = answers.get("package_name")
    if not isinstance(package, str) or not package.isidentifier():
        raise UsageError(
            f"{root / '.copier-answers.yml'} has no valid package_name",
            hint="Restore the answers file `mlplat new` wrote (see `git log` of it).",
        )
    config = _toml(root / "config.toml")
    model = (config.get("registry") or {}).get("model_name")
    if not isinstance(model, str) or not model:
        raise UsageError(
            f"{root / 'config.toml'} has no [registry] model_name",
            hint='Add `model_name = "..."` under [registry]: it names the model in MLflow.',
        )
    version = str((_toml(root / "pyproject.toml").get("project") or {}).get("version") or "latest")
    return Project(root=root, package=package, model_name=model, version=version)


def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"{path} cannot be read: {exc}", hint="Fix or restore it.") from None
    return data if isinstance(data, dict) else {}


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path} cannot be read: {exc}", hint="Fix or restore it.") from None
