"""A toy project for the pipeline runners: two stages over a text file, a pydantic config."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mlplat_runtime.errors import ConfigError
from mlplat_runtime.pipeline.cli import Project
from mlplat_runtime.pipeline.graph import Pipeline


class Argo(BaseModel):
    image: str = "toy:latest"
    namespace: str = "mlplat-pipelines"
    service_account: str = "argo-workflow"
    monitor_service_account: str = "argo-monitor"
    mlflow_tracking_uri: str = "http://mlflow:5000"
    schedules: tuple[str, ...] = ("0 3 * * 1",)
    monitor_schedules: tuple[str, ...] = ("0 6 * * *",)
    timezone: str = "UTC"
    cpu: str = "1"
    memory: str = "2Gi"
    timeout_minutes: int = 120


class Data(BaseModel):
    source: str = "source.txt"
    snapshot_dir: str = "data/snapshots"


class Config(BaseModel):
    seed: int = 1
    data: Data = Data()
    argo: Argo = Argo()


@dataclass
class Ctx:
    config: Config
    root: Path
    artifacts_dir: Path = field(default=Path())
    calls: list[str] = field(default_factory=list)
    fail: str | None = None

    def __post_init__(self) -> None:
        if self.artifacts_dir == Path():
            self.artifacts_dir = self.root / "artifacts"


def _ingest(ctx: Ctx) -> dict[str, Any]:
    text = (ctx.root / ctx.config.data.source).read_text()
    digest = hashlib.sha256(text.encode()).hexdigest()
    snapshots = ctx.root / ctx.config.data.snapshot_dir
    snapshots.mkdir(parents=True, exist_ok=True)
    (snapshots / f"{digest}.txt").write_text(text)
    pointer = ctx.artifacts_dir / ARTIFACTS["snapshot"]
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_text(json.dumps({"data_hash": digest, "path": f"{digest}.txt"}))
    return {"rows": len(text.splitlines())}


def _double(ctx: Ctx) -> dict[str, Any]:
    pointer = json.loads((ctx.artifacts_dir / ARTIFACTS["snapshot"]).read_text())
    text = (ctx.root / ctx.config.data.snapshot_dir / pointer["path"]).read_text()
    numbers = [2 * int(line) for line in text.splitlines()]
    out = ctx.artifacts_dir / ARTIFACTS["doubled"]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(numbers))
    return {"sum": sum(numbers)}


def _total(ctx: Ctx) -> dict[str, Any]:
    numbers = json.loads((ctx.artifacts_dir / ARTIFACTS["doubled"]).read_text())
    (ctx.artifacts_dir / ARTIFACTS["total"]).write_text(str(sum(numbers)))
    return {}


@dataclass(frozen=True, kw_only=True)
class Stage:
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    function: Callable[[Ctx], dict[str, Any]] = _total

    @property
    def run(self) -> Callable[[Ctx], dict[str, Any]]:
        def run(ctx: Ctx) -> dict[str, Any]:
            ctx.calls.append(self.name)
            if ctx.fail == self.name:
                raise ValueError(f"{self.name} broke")
            return self.function(ctx)

        return run


ARTIFACTS = {"snapshot": "ingest/snapshot.json", "doubled": "double/doubled.json", "total": "t"}
STAGES = (
    Stage(
        name="ingest",
        inputs=(),
        outputs=("snapshot",),
        reads=("data.source",),
        writes=("data.snapshot_dir",),
        function=_ingest,
    ),
    Stage(
        name="double",
        inputs=("snapshot",),
        outputs=("doubled",),
        reads=("data.snapshot_dir",),
        function=_double,
    ),
    Stage(name="total", inputs=("doubled",), outputs=("total",)),
)
PIPELINE = Pipeline(package="toy", stages=STAGES, artifacts=ARTIFACTS)


def project(root: Path, config: Config | None = None) -> Project[Config]:
    """The toy's command line, rooted at ``root``; a config file named ``bad`` is refused."""

    def load(path: Path | None) -> Config:
        if path is not None and path.name == "bad":
            raise ConfigError(f"{path}: seed must be an integer")
        return config or Config()

    return Project(
        pipeline=PIPELINE, load_config=load, context=lambda c, _save: Ctx(config=c, root=root)
    )
