"""The runtime wheel a generated project installs: found or built here, placed in ``wheels/``.

Why a wheel in the project: a project depends on ``mlplat-runtime`` (the model server, the
compile step, the contract engine), released in lockstep with mlplat. The template names it as
a path source (``[tool.uv.sources] mlplat-runtime = { path = "wheels/<wheel>" }``), so ``uv
lock`` records the wheel's hash, ``make install`` needs no index for it (offline from a checkout
of mlplat), the Docker build copies it with the lock, and ``uv sync --locked`` stays
reproducible. Once the runtime is on an index, deleting that source line resolves the same pin
from the index.

Where the wheel comes from: mlplat's own wheel carries it (built by ``hatch_build.py`` from
``runtime/``); a source checkout (editable install) builds it from ``runtime/`` with hatchling,
which writes reproducible wheels (fixed timestamps), so both give the same bytes and the same
hash in ``uv.lock``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from mlplat import __version__
from mlplat.errors import MlplatError
from mlplat.resources import runtime_history_dir
from mlplat.settings import Settings

__all__ = [
    "RUNTIME_DISTRIBUTION",
    "RuntimeWheel",
    "place_runtime_wheel",
    "required_wheel",
    "runtime_wheel",
    "wheel_name",
]

RUNTIME_DISTRIBUTION = "mlplat-runtime"
_WHEEL = re.compile(r"^wheels/mlplat_runtime-(?P<version>[^-]+)-py3-none-any\.whl$")
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_SOURCE = _PACKAGE_DIR.parent.parent / "runtime"
_BUNDLED = _PACKAGE_DIR / "_bundled" / "runtime"


def wheel_name(version: str) -> str:
    """The file name of the runtime's wheel of ``version`` (pure Python, any platform)."""
    return f"mlplat_runtime-{version}-py3-none-any.whl"


@dataclass(frozen=True, kw_only=True)
class RuntimeWheel:
    """What a project needs and what was placed.

    Attributes:
        path: The wheel's path relative to the project (``wheels/<name>``).
        version: The runtime version the project pins.
        removed: Older runtime wheels taken out of ``wheels/`` (relative paths).
    """

    path: Path
    version: str
    removed: tuple[Path, ...] = ()


def required_wheel(project: Path) -> tuple[Path, str] | None:
    """The runtime wheel ``project``'s pyproject.toml names as a path source, if any.

    A project of a template release before the runtime existed (0.2.x) names none.
    """
    pyproject = project / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None  # the project's own tools report a broken pyproject.toml
    source = data.get("tool", {}).get("uv", {}).get("sources", {}).get(RUNTIME_DISTRIBUTION, {})
    path = source.get("path") if isinstance(source, dict) else None
    match = _WHEEL.match(path) if isinstance(path, str) else None
    if match is None:
        return None
    return Path(match.string), match["version"]


def runtime_wheel(settings: Settings, version: str = __version__) -> Path:
    """The runtime wheel of ``version``, from this checkout, mlplat's wheel, or the history.

    This version's comes from the checkout's build or the copy mlplat's wheel carries; an
    earlier release's from the shipped history (``templates/history/runtime``).

    Raises:
        MlplatError: This mlplat has no runtime wheel of ``version`` and cannot build one.
    """
    if (_SOURCE / "pyproject.toml").is_file() and version == __version__:
        return _build_from_checkout(settings)
    bundled = _BUNDLED / wheel_name(version)
    if bundled.is_file():
        return bundled
    history = runtime_history_dir()
    if history is not None and (history / wheel_name(version)).is_file():
        return history / wheel_name(version)
    raise MlplatError(
        f"The project needs {RUNTIME_DISTRIBUTION} {version}, which this mlplat "
        f"({__version__}) does not carry.",
        hint=f"Put {wheel_name(version)} into the project's wheels/ directory (pip download "
        f"'{RUNTIME_DISTRIBUTION}=={version}' --no-deps -d wheels), or use mlplat {version}.",
    )


def _build_from_checkout(settings: Settings) -> Path:
    """Build ``runtime/`` once per content: the cache is keyed by the hash of its sources."""
    digest = hashlib.sha256()
    for path in sorted(_SOURCE.rglob("*")):
        relative = path.relative_to(_SOURCE)
        if path.is_file() and not {"__pycache__", "tests", ".pytest_cache"} & set(relative.parts):
            digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    out = settings.data_dir / "runtime-wheels" / digest.hexdigest()[:16]
    wheel = out / wheel_name(__version__)
    if wheel.is_file():
        return wheel
    try:
        from hatchling.builders.wheel import WheelBuilder
    except ImportError:
        raise MlplatError(
            "mlplat runs from a source checkout and needs hatchling to build the runtime wheel.",
            hint="pip install -e '.[dev]' (it has hatchling), or install mlplat from its wheel.",
        ) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        built = [Path(p) for p in WheelBuilder(str(_SOURCE)).build(directory=tmp)]
        staged = Path(tmp) / "done"
        staged.mkdir()
        shutil.move(built[0], staged / wheel.name)
        try:
            staged.rename(out)
        except OSError:  # a concurrent build got there first; its wheel is the same bytes
            pass
    return wheel


def place_runtime_wheel(project: Path, settings: Settings) -> RuntimeWheel | None:
    """Put the runtime wheel ``project`` names into its ``wheels/``; drop older runtime wheels.

    Returns None for a project that names no runtime wheel (nothing is touched).

    Raises:
        MlplatError: The named version is not one this mlplat can provide.
    """
    required = required_wheel(project)
    if required is None:
        return None
    relative, version = required
    target = project / relative
    if not target.is_file():
        source = runtime_wheel(settings, version)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    removed = tuple(
        old.relative_to(project)
        for old in sorted(target.parent.glob("mlplat_runtime-*.whl"))
        if old != target
    )
    for old in removed:
        (project / old).unlink()
    return RuntimeWheel(path=relative, version=version, removed=removed)
