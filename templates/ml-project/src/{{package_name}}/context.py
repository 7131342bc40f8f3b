"""What a stage gets: the config, the project root, and artefact paths by name.

Stages exchange artefacts only through files named here (and MLflow URIs written into them), never
through in-process state, so each stage can run alone, in a later process, or in its own container.
"""

from __future__ import annotations

__all__ = ["ARTIFACTS", "RunContext", "read_json", "write_json"]

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import ProjectConfig
from .errors import PipelineError

if TYPE_CHECKING:
    from mlflow import MlflowClient

ARTIFACTS: dict[str, str] = {
    "snapshot": "ingest/snapshot.json",
    "validation_report": "validate/report.json",
    "train_set": "split/train.parquet",
    "test_set": "split/test.parquet",
    "transform": "features/transform.joblib",
    "train_run": "train/run.json",
    "evaluation": "evaluate/report.json",
    "registration": "register/registration.json",
    "model_card": "register/model_card.md",
}


@dataclass
class RunContext:
    """Shared, read-mostly state of one pipeline process.

    Attributes:
        config: The validated project config.
        root: The project root; relative paths in the config resolve against it.
        artifacts_dir: Where stage outputs go (``artifacts/`` in the root by default).
    """

    config: ProjectConfig
    root: Path
    artifacts_dir: Path = field(default=Path())

    def __post_init__(self) -> None:
        if self.artifacts_dir == Path():
            self.artifacts_dir = self.root / "artifacts"

    def path(self, name: str) -> Path:
        """The path of artefact ``name``; its directory is created on demand."""
        path = self.artifacts_dir / ARTIFACTS[name]
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def require(self, name: str, *, producer: str) -> Path:
        """The path of input ``name``, which must exist; else say which stage makes it."""
        path = self.artifacts_dir / ARTIFACTS[name]
        if not path.exists():
            raise PipelineError(
                f"input '{name}' ({path}) is missing: run the '{producer}' stage first "
                f"(or the whole pipeline)"
            )
        return path

    @cached_property
    def client(self) -> MlflowClient:
        """One MLflow client per process, pointed at :func:`tracking.tracking_uri`."""
        import mlflow

        from .tracking import tracking_uri

        mlflow.set_tracking_uri(tracking_uri())
        return mlflow.MlflowClient()


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented, key-sorted JSON (stable diffs, readable by people)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", "utf-8")


def read_json(path: Path) -> Any:
    """Read a JSON artefact."""
    return json.loads(path.read_text("utf-8"))
