"""What a stage gets: the config, the project root, and artefact paths by name.

Stages exchange artefacts only through the files ``graph.ARTIFACTS`` names (and MLflow URIs written
into them), never through in-process state, so each stage can run alone, in a later process, or in
its own container. Which stage makes an input comes from the graph, never from the caller.
"""

from __future__ import annotations

__all__ = ["ARTIFACTS", "RunContext", "read_json", "require_same_snapshot", "write_json"]

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import ProjectConfig
from .errors import PipelineError
from .graph import ARTIFACTS, producer

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass
class RunContext:
    """Shared, read-mostly state of one pipeline process.

    Attributes:
        config: The validated project config.
        root: The project root; relative paths in the config resolve against it.
        artifacts_dir: Where stage outputs go (``artifacts/`` in the root by default).
        save_reference: ``validate`` saves this snapshot's profile as the reference instead of
            comparing with the saved one (``--save-reference``: a deliberate new baseline).
    """

    config: ProjectConfig
    root: Path
    artifacts_dir: Path = field(default=Path())
    save_reference: bool = False
    _tracking_uri: str | None = field(default=None, repr=False)
    _client: MlflowClient | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.artifacts_dir == Path():
            self.artifacts_dir = self.root / "artifacts"

    def path(self, name: str) -> Path:
        """The path of artefact ``name``; its directory is created on demand."""
        path = self.artifacts_dir / ARTIFACTS[name]
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def resolve(self, path: str) -> Path:
        """A path recorded in an artefact: relative ones are relative to the project root.

        Artefacts record project files relative to the root, so the project (or a container
        mounting it elsewhere) can move without breaking them.
        """
        return self.root / path

    def relative(self, path: Path) -> str:
        """``path`` as recorded in artefacts: relative to the root when it lies inside it."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def require(self, name: str) -> Path:
        """The path of input ``name``, which must exist; else say which stage makes it."""
        path = self.artifacts_dir / ARTIFACTS[name]
        if not path.exists():
            raise PipelineError(
                f"input '{name}' ({path}) is missing: run the '{producer(name)}' stage first "
                f"(or the whole pipeline)"
            )
        return path

    @property
    def tracking_uri(self) -> str:
        """This run's MLflow store, fixed when the context is made (see ``tracking.py``)."""
        if self._tracking_uri is None:
            from mlplat_runtime.tracking import tracking_uri

            self._tracking_uri = tracking_uri()
        return self._tracking_uri

    @property
    def client(self) -> MlflowClient:
        """One MLflow client per context; also points MLflow's global API at the same store."""
        from mlplat_runtime.tracking import configure

        mlflow = configure(self.tracking_uri)
        if self._client is None:
            self._client = mlflow.MlflowClient(tracking_uri=self.tracking_uri)
        return self._client


def require_same_snapshot(data_hash: str, inputs: dict[str, str | None]) -> None:
    """Every input must come from the snapshot ``data_hash``; else say which stage to rerun.

    The stage to rerun is the input's producer in the graph: rerunning it and the stages after it
    remakes the input from the current snapshot (and if the producer's own inputs are stale too,
    it names their producer in turn).

    Args:
        data_hash: The hash of the snapshot this stage works on.
        inputs: ``{input name: snapshot hash it records}``, in the order to check them.

    Raises:
        PipelineError: An input was made from another snapshot (for example an old validation
            report after the data changed), naming the stage to rerun.
    """
    for name, found in inputs.items():
        if found != data_hash:
            raise PipelineError(
                f"input '{name}' comes from snapshot {str(found)[:16]}, not from the current "
                f"snapshot {data_hash[:16]}: rerun '{producer(name)}' and the stages after it "
                "(make pipeline RESUME=1)"
            )


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented, key-sorted JSON (stable diffs, readable by people)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", "utf-8")


def read_json(path: Path) -> Any:
    """Read a JSON artefact."""
    return json.loads(path.read_text("utf-8"))
