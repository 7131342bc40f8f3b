"""The pipeline graph, declared once: each stage's inputs, outputs and project paths.

Everything that needs the shape of the pipeline derives from ``STAGES``: the in-process runner
and ``--describe`` (``pipeline.py``), the Argo runner (``argo.py``: one container step per stage,
artefacts passed along these edges), and every stage's input checks (``RunContext.require`` names
the stage that makes a missing input, ``require_same_snapshot`` the stage to rerun). A stage's code
is ``stages/<name>.py``'s ``run``, imported only when the stage runs: reading the graph imports
neither pandas nor MLflow.
"""

from __future__ import annotations

__all__ = ["ARTIFACTS", "STAGES", "Stage", "producer"]

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import RunContext

#: Where each artefact lives, relative to the artefacts directory (``artifacts/``).
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


@dataclass(frozen=True, kw_only=True)
class Stage:
    """One step of the pipeline.

    Attributes:
        name: Stage name, as given to ``--stage``; its code is ``stages/<name>.py``.
        inputs: Artefact names it reads (each produced by an earlier stage).
        outputs: Artefact names it writes.
        reads: Project paths it reads, as config keys (for example ``data.snapshot_dir``).
        writes: Project paths it writes, as config keys.
    """

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()

    @property
    def run(self) -> Callable[[RunContext], dict[str, Any]]:
        """The stage's function (``stages.<name>.run``); it returns a small summary to print."""
        module = importlib.import_module(f"{__package__}.stages.{self.name}")
        function: Callable[[RunContext], dict[str, Any]] = module.run
        return function


STAGES: tuple[Stage, ...] = (
    Stage(
        name="ingest",
        inputs=(),
        outputs=("snapshot",),
        reads=("data.source",),
        writes=("data.snapshot_dir",),
    ),
    Stage(
        name="validate",
        inputs=("snapshot",),
        outputs=("validation_report",),
        # --save-reference writes the reference profile instead of reading it.
        reads=("data.snapshot_dir", "validate.reference_profile"),
    ),
    Stage(
        name="split",
        inputs=("snapshot", "validation_report"),
        outputs=("train_set", "test_set"),
        reads=("data.snapshot_dir",),
    ),
    Stage(name="features", inputs=("train_set",), outputs=("transform",)),
    Stage(
        name="train",
        inputs=("snapshot", "train_set", "transform"),
        outputs=("train_run",),
        reads=("data.snapshot_dir",),
    ),
    Stage(name="evaluate", inputs=("snapshot", "train_run", "test_set"), outputs=("evaluation",)),
    Stage(
        name="register",
        inputs=("snapshot", "train_run", "test_set", "evaluation"),
        outputs=("registration", "model_card"),
        reads=("data.snapshot_dir",),
    ),
)


def producer(artifact: str) -> str:
    """The name of the stage that writes ``artifact``."""
    return next(stage.name for stage in STAGES if artifact in stage.outputs)
