"""Offline synthesis of the platform: ``mlplat render``'s core.

`render_platform` runs the same program as ``mlplat up`` under Pulumi's mock runtime (no
Pulumi CLI, no network, no cluster) and writes what it would deploy: one YAML file per raw
Kubernetes object, under ``_cluster/`` for cluster-scoped objects and ``<namespace>/`` for the
rest (so ``kubectl apply -R -f DIR`` creates namespaces and CRDs first), plus ``charts.yaml``
listing each chart with repository, version, namespace and values.

Example:
    >>> summary = render_platform(Path("out"), config_path=None, profile="dev")
    >>> summary.kinds["Namespace"]
    8
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplat.errors import MlplatError, UsageError
from mlplat.render._summary import Footprint

__all__ = ["RenderSummary", "render_platform"]

_MANIFEST = ".mlplat-render.json"


@dataclass
class RenderSummary:
    """What a render produced.

    Attributes:
        out_dir: Where the files are.
        profile: The profile rendered.
        kinds: Objects per kind.
        charts: ``name@version`` of every chart.
        footprint: Requests of the rendered objects and the documented chart pods.
        files: Files written, relative to ``out_dir``.
        exports: The stack outputs the program exports (secrets redacted).
        seconds: Wall time of the render.
    """

    out_dir: Path
    profile: str
    kinds: dict[str, int]
    charts: list[str]
    footprint: Footprint
    files: list[str] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def object_count(self) -> int:
        """Number of raw objects written."""
        return sum(self.kinds.values())

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form, for ``--json``."""
        fp = self.footprint
        return {
            "out_dir": str(self.out_dir),
            "profile": self.profile,
            "objects": self.object_count,
            "kinds": self.kinds,
            "charts": self.charts,
            "exports": self.exports,
            # Secret files hold placeholders: never apply them with kubectl.
            "redacted_secrets": self.kinds.get("Secret", 0),
            "requests": {
                "cpu_millicores": fp.total_cpu,
                "memory_bytes": fp.total_memory,
                "objects": {"cpu_millicores": fp.objects_cpu, "memory_bytes": fp.objects_memory},
                "chart_pods": {
                    "cpu_millicores": fp.charts_cpu,
                    "memory_bytes": fp.charts_memory,
                    "pods": fp.chart_rows,
                },
                "jobs": {"cpu_millicores": fp.jobs_cpu, "memory_bytes": fp.jobs_memory},
            },
            "seconds": round(self.seconds, 3),
        }

    def text(self) -> str:
        """The human summary: objects per kind, charts, and requests by source."""
        fp = self.footprint
        lines = [
            f"Rendered {self.object_count} objects and {len(self.charts)} charts "
            f"({self.profile} profile) into {self.out_dir} in {self.seconds:.1f}s.",
            "",
        ]
        width = max((len(k) for k in self.kinds), default=4)
        lines += [f"  {kind:<{width}}  {count:>3}" for kind, count in self.kinds.items()]
        lines += ["", "Charts: " + (", ".join(self.charts) or "none")]
        if self.kinds.get("Secret"):
            lines += [
                "",
                f"The {self.kinds['Secret']} Secret files hold redacted placeholders: they are for "
                "review, not for `kubectl apply`; `mlplat up` generates the real values.",
            ]
        lines += ["", "Requests:"]
        for label, cpu, mem in (
            ("raw objects", fp.objects_cpu, fp.objects_memory),
            ("chart pods (documented table)", fp.charts_cpu, fp.charts_memory),
            ("total, steady state", fp.total_cpu, fp.total_memory),
            ("jobs (run to completion)", fp.jobs_cpu, fp.jobs_memory),
        ):
            lines.append(f"  {label:<30} {cpu / 1000:6.2f} CPU  {mem / 2**30:6.2f} GiB")
        keys = (
            "exposure",
            "mlflow_url",
            "argo_url",
            "models_url_template",
            "auth_username",
            "mlflow_port_forward",
            "argo_port_forward",
            "argo_token_command",
        )
        lines.append("")
        for key in keys:
            if self.exports.get(key):
                lines.append(f"{key}: {self.exports[key]}")
        return "\n".join(lines)


def render_platform(
    out_dir: Path,
    config_path: Path | None = None,
    profile: str | None = None,
    *,
    force: bool = False,
) -> RenderSummary:
    """Render the platform into ``out_dir``.

    Args:
        out_dir: Target directory; created if missing.
        config_path: A platform config YAML; ``None`` for profile defaults.
        profile: ``dev`` or ``prod``; overrides the file's ``profile``.
        force: Write into a non-empty directory. Files a previous render wrote are replaced;
            any other file is left alone.

    Returns:
        A `RenderSummary`.

    Raises:
        UsageError: Bad config, bad profile, or a non-empty ``out_dir`` without ``force``.
        MlplatError: The program failed under mocks.
    """
    started = time.perf_counter()
    config = _load(config_path, profile)
    previous = _check_out_dir(out_dir, force=force)

    from mlplat.render._mock import run_mocked
    from mlplat.render._objects import normalise, objects_and_charts
    from mlplat.render._summary import count_kinds, footprint
    from mlplat.render._write import write_tree
    from mlplat_platform import ConfigError, build_platform

    try:
        registrations, exports = run_mocked(lambda: build_platform(config, _mock_secrets()))
    except ConfigError as exc:
        raise UsageError(
            f"invalid platform config: {exc}", hint="Fix the key in the file given with --config."
        ) from exc
    except Exception as exc:  # the program is ours; anything else is a bug worth reporting
        raise MlplatError(
            f"the platform program failed under the mock runtime: {exc}",
            hint="Run again with --verbose for the traceback.",
        ) from exc
    objects, charts = objects_and_charts(registrations)
    files = write_tree(out_dir, objects, charts, previous=previous)
    (out_dir / _MANIFEST).write_text(
        json.dumps({"files": files}, indent=1) + "\n", encoding="utf-8"
    )
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


def _load(config_path: Path | None, profile: str | None) -> Any:
    from mlplat_platform import ConfigError, load_config_file

    try:
        return load_config_file(config_path, profile=profile)
    except ConfigError as exc:
        if exc.key == "<file>":
            raise UsageError(
                f"config file {config_path} {exc.problem}",
                hint="Pass a readable YAML file with --config.",
            ) from exc
        where = f" in {config_path}" if config_path else ""
        raise UsageError(
            f"invalid platform config{where}: {exc}",
            hint="See `mlplat render --help` and mlplat_platform/config.py for the keys.",
        ) from exc


def _check_out_dir(out_dir: Path, *, force: bool) -> list[str]:
    """Refuse a non-empty directory unless forced; return the previous render's files."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(
            f"--out {out_dir} exists and is not a directory",
            hint="Pass a directory path with --out.",
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
    from mlplat_platform.versions import ALL_CHARTS

    by_ref = {(p.chart, p.version): p.name for p in ALL_CHARTS}
    return [by_ref.get((c.chart, c.version), c.name) for c in charts]
