"""The pipeline graph, declared once: each stage's inputs, outputs and project paths.

Everything that needs the shape of the pipeline derives from ``STAGES`` (as ``PIPELINE``): the
runtime's in-process runner and ``--describe`` (``pipeline.py``), its Argo runner (``argo.py``:
one container step per stage, artefacts passed along these edges), and every stage's input checks
(``RunContext.require`` names the stage that makes a missing input, ``require_same_snapshot`` the
stage to rerun). A stage's code is ``stages/<name>.py``'s ``run``, imported only when the stage
runs: reading the graph imports neither pandas nor MLflow.

A feature source (``plugin.py``) adds its stages after these and its artefacts to ``ARTIFACTS``.
"""

from __future__ import annotations

__all__ = ["ARTIFACTS", "PIPELINE", "STAGES", "Stage", "producer"]

from mlplat_runtime.pipeline.graph import Pipeline

from .plugin import Stage, feature_source

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
    **feature_source().artifacts,
}

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
    *feature_source().stages,
)


#: The graph as the runtime's runners (in-process, Argo) read it.
PIPELINE = Pipeline(
    package=str(__package__),
    stages=STAGES,
    artifacts=ARTIFACTS,
    step_env=feature_source().step_env,
)
producer = PIPELINE.producer
