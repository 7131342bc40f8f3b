"""Locate the files mlplat ships: the bundled Copier template and the Pulumi program.

In a wheel they live under ``mlplat/_bundled/`` (hatch force-includes them); in a source
checkout or an editable install they are read from the repository, so both layouts work.
"""

from __future__ import annotations

from pathlib import Path

from mlplat.errors import MlplatError

__all__ = [
    "BUNDLED_TEMPLATE",
    "bundled_template_dir",
    "runtime_history_dir",
    "template_history_bundle",
]

BUNDLED_TEMPLATE = "ml-project"

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _PACKAGE_DIR.parent.parent


def _first_existing(*candidates: Path) -> Path | None:
    return next((path for path in candidates if path.exists()), None)


def bundled_template_dir(name: str = BUNDLED_TEMPLATE) -> Path:
    """Return the directory of a template shipped with mlplat.

    Raises:
        MlplatError: The installation is missing its templates (a broken install).
    """
    found = _first_existing(
        _PACKAGE_DIR / "_bundled" / "templates" / name,
        _REPO_ROOT / "templates" / name,
    )
    if found is None:
        raise MlplatError(
            f"mlplat's bundled template {name!r} is missing from this installation.",
            hint="Reinstall mlplat: pip install --force-reinstall mlplat",
        )
    return found


def template_history_bundle(name: str = BUNDLED_TEMPLATE) -> Path | None:
    """Return the git bundle of earlier released versions of a template, if shipped."""
    return _first_existing(
        _PACKAGE_DIR / "_bundled" / "template-history" / f"{name}.bundle",
        _REPO_ROOT / "templates" / "history" / f"{name}.bundle",
    )


def runtime_history_dir() -> Path | None:
    """Return the directory of released runtime wheels (``templates/history/runtime``), if shipped.

    Why: a project of an earlier release pins that release's ``mlplat-runtime`` wheel; with it
    here, a newer mlplat can still generate that release (``mlplat new --vcs-ref v0.3.0``) or
    repair a project whose ``wheels/`` lost it, offline, like the template history it sits beside.
    """
    return _first_existing(
        _PACKAGE_DIR / "_bundled" / "template-history" / "runtime",
        _REPO_ROOT / "templates" / "history" / "runtime",
    )
