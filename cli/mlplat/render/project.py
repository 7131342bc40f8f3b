"""``mlplat render --project DIR``: a generated project's deployment, offline.

Runs the same program as ``mlplat deploy`` (`mlplat_platform.deployment.build_deployment`)
under the same mock runtime as the platform render (`mlplat.render._mock`) and writes each
object as YAML (``<namespace>/<kind>-<name>.yaml``), so the InferenceService and its
ServingRuntime can be reviewed, policy-checked or diffed without a cluster. The platform
values a deploy reads from the platform stack take their defaults here: the in-cluster MLflow
URL, namespace ``mlplat-models`` and its service account.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplat.errors import MlplatError, UsageError

__all__ = ["ProjectRender", "render_project"]

_MANIFEST = ".mlplat-render.json"


@dataclass
class ProjectRender:
    """What a project render wrote.

    Attributes:
        out_dir: Where the files are.
        project: The project's root.
        kinds: Objects per kind.
        files: Files written, relative to ``out_dir``.
        exports: The deployment's outputs.
        seconds: Wall time.
    """

    out_dir: Path
    project: Path
    kinds: dict[str, int]
    files: list[str] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Machine-readable form for ``--json``."""
        return {
            "out_dir": str(self.out_dir),
            "project": str(self.project),
            "kinds": self.kinds,
            "files": self.files,
            "exports": self.exports,
            "seconds": round(self.seconds, 3),
        }

    def text(self) -> str:
        """The human summary."""
        lines = [
            f"Rendered the deployment of {self.project} into {self.out_dir} "
            f"in {self.seconds:.1f}s:",
            *[f"  {path}" for path in self.files],
        ]
        if self.exports.get("port_forward"):
            lines += ["", f"After `mlplat deploy`: {self.exports['port_forward']}"]
        return "\n".join(lines)


def render_project(
    project_dir: Path,
    out_dir: Path,
    *,
    image: str | None = None,
    canary: int | None = None,
    force: bool = False,
) -> ProjectRender:
    """Render the project's deployment into ``out_dir``.

    Args:
        project_dir: A directory inside the generated project.
        out_dir: Target directory (must be empty unless ``force``).
        image: Server image; default ``<package>:<version>``.
        canary: Render a canary with this traffic share next to the stable predictor.
        force: Replace a previous render's files.

    Raises:
        UsageError: Not a generated project, bad flag values, or a non-empty ``out_dir``.
    """
    from mlplat.render import _check_out_dir
    from mlplat.render._mock import run_mocked
    from mlplat.render._objects import normalise, objects_and_charts
    from mlplat.render._summary import count_kinds
    from mlplat.render._write import _path, dump_yaml
    from mlplat.stack.project import find_project
    from mlplat_platform.deployment import Canary, ModelDeploymentArgs, build_deployment

    started = time.perf_counter()
    project = find_project(project_dir)
    previous = _check_out_dir(out_dir, force=force)
    try:
        args = ModelDeploymentArgs(
            name=project.service_name,
            image=image or project.default_image,
            model_name=project.model_name,
            canary=Canary(percent=canary) if canary is not None else None,
        )
    except ValueError as exc:
        raise UsageError(f"cannot render {project.package}: {exc}") from None
    try:
        registrations, exports = run_mocked(
            lambda: build_deployment(args, kube_context=None), project=project.pulumi_project
        )
    except Exception as exc:  # the program is ours; anything else is a bug worth reporting
        raise MlplatError(
            f"the deployment program failed under the mock runtime: {exc}",
            hint="Run again with --verbose for the traceback.",
        ) from exc
    objects, _ = objects_and_charts(registrations)
    written = {_path(obj): dump_yaml(obj) for obj in objects}
    root = out_dir.resolve()
    for rel in previous:
        stale = (root / rel).resolve()
        if rel not in written and stale.is_relative_to(root) and stale.is_file():
            stale.unlink()
    for rel, text in written.items():
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            f"# Rendered by `mlplat render --project`; deploy with `mlplat deploy`.\n{text}",
            encoding="utf-8",
        )
    files = sorted(written)
    (out_dir / _MANIFEST).write_text(json.dumps({"files": files}, indent=1) + "\n", "utf-8")
    return ProjectRender(
        out_dir=out_dir,
        project=project.root,
        kinds=count_kinds(objects),
        files=files,
        exports={k: normalise(v) for k, v in (exports or {}).items()},
        seconds=time.perf_counter() - started,
    )
