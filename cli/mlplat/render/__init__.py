"""Offline synthesis of the platform: ``mlplat render``'s core.

`render_platform` runs the same program as ``mlplat up`` under Pulumi's mock runtime (no
Pulumi CLI, no network, no cluster) and writes what it would deploy: one YAML file per raw
Kubernetes object, under ``_cluster/`` for cluster-scoped objects and ``<namespace>/`` for the
rest (so ``kubectl apply -R -f DIR`` creates namespaces and CRDs first), plus ``charts.yaml``
listing each chart with its source (upstream, or the config's chart mirror), repository,
version, namespace and values.

Example:
    >>> summary = render_platform(RenderOptions(out_dir=Path("out"), profile="dev"))
    >>> summary.kinds["Namespace"]
    8
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplat.errors import MlplatError, UsageError
from mlplat.render._summary import RenderSummary

__all__ = ["RenderOptions", "RenderSummary", "render_platform"]

_MANIFEST = ".mlplat-render.json"


@dataclass(frozen=True, kw_only=True)
class RenderOptions:
    """What ``mlplat render`` was asked to do.

    Attributes:
        out_dir: Target directory; created if missing, refused if not empty unless ``force``.
        config_path: A platform config YAML; None for the profile's defaults.
        profile: ``dev`` or ``prod``; overrides the file's ``profile``. None keeps the file's
            (or ``dev``).
        force: Write into a non-empty directory. Files a previous render wrote are replaced;
            any other file is left alone.
    """

    out_dir: Path
    config_path: Path | None = None
    profile: str | None = None
    force: bool = False


def render_platform(options: RenderOptions) -> RenderSummary:
    """Render the platform into ``options.out_dir``.

    Returns:
        A `RenderSummary`.

    Raises:
        UsageError: Bad config, bad profile, or an unusable ``out_dir``.
        MlplatError: The render could not be written.
    """
    from mlplat.platform_config import config_error, load_platform_config

    started = time.perf_counter()
    out_dir = options.out_dir
    config = load_platform_config(options.config_path, options.profile)
    previous = _check_out_dir(out_dir, force=options.force)

    from mlplat.render._mock import run_mocked
    from mlplat.render._objects import normalise, objects_and_charts
    from mlplat.render._summary import count_kinds, footprint
    from mlplat.render._write import write_tree
    from mlplat_platform import ConfigError, build_platform

    try:
        registrations, exports = run_mocked(lambda: build_platform(config, _mock_secrets()))
    except ConfigError as exc:
        raise config_error(exc, profile=options.profile) from exc
    objects, charts = objects_and_charts(registrations)
    try:
        files = write_tree(out_dir, objects, charts, previous=previous)
        (out_dir / _MANIFEST).write_text(
            json.dumps({"files": files}, indent=1) + "\n", encoding="utf-8"
        )
    except OSError as exc:
        raise MlplatError(
            f"cannot write the render into {out_dir}: {exc.strerror or exc}",
            hint="Check free space and permissions, or choose another --out.",
        ) from exc
    pins = _chart_names(charts)
    return RenderSummary(
        out_dir=out_dir,
        profile=config.profile,
        kinds=count_kinds(objects),
        charts=sorted(f"{c.name}@{c.version}" for c in charts),
        footprint=footprint(objects, pins, config.sizing.replicas),
        files=files,
        exports=_plain_exports(exports or {}, normalise),
        seconds=time.perf_counter() - started,
    )


def _mock_secrets() -> Any:
    """Stand-ins for external secrets, so any config renders; every value is redacted."""
    import pulumi

    from mlplat.render._mock import MOCK_SECRET
    from mlplat_platform import SECRET_NAMES, PlatformSecrets

    return PlatformSecrets(**{n: pulumi.Output.secret(MOCK_SECRET) for n in SECRET_NAMES})


def _plain_exports(exports: dict[str, Any], normalise: Any) -> dict[str, Any]:
    """Exports as plain data; outputs still unresolved here are secrets and stay redacted."""
    import pulumi

    from mlplat.render._objects import REDACTED

    return {
        k: REDACTED if isinstance(v, pulumi.Output) else normalise(v) for k, v in exports.items()
    }


def _check_out_dir(out_dir: Path, *, force: bool) -> list[str]:
    """Refuse an unusable or non-empty directory unless forced; return the previous files."""
    blocker = next((p for p in (out_dir, *out_dir.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        problem = (
            "exists and is not a directory"
            if blocker == out_dir
            else f"cannot be created: {blocker} is a file"
        )
        raise UsageError(
            f"--out {out_dir} {problem}", hint="Pass a new or empty directory with --out."
        )
    if not out_dir.exists() or not any(out_dir.iterdir()):
        return []
    if not force:
        raise UsageError(
            f"--out {out_dir} is not empty",
            hint="Choose an empty directory, or pass --force to overwrite a "
            "previous render (other files are left alone).",
        )
    manifest = out_dir / _MANIFEST
    if not manifest.is_file():
        return []
    try:
        return [str(f) for f in json.loads(manifest.read_text(encoding="utf-8"))["files"]]
    except (ValueError, KeyError, TypeError):
        return []


def _chart_names(charts: list[Any]) -> list[str]:
    """Each chart's pin name, found by its reference or, from a mirror, its archive's name."""
    from mlplat_platform.versions import ALL_CHARTS

    names = {(p.chart, p.version): p.name for p in ALL_CHARTS}
    names |= {(p.archive, p.version): p.name for p in ALL_CHARTS}
    return [
        names.get((c.chart, c.version)) or names.get((Path(c.chart).name, c.version)) or c.name
        for c in charts
    ]
