"""Where MLflow lives: a SQLite file in the project by default, the platform's server when asked.

``$MLFLOW_TRACKING_URI`` wins when it is set (the platform sets it); otherwise runs, models and the
registry go to ``mlflow.db`` in the project root, and artefacts to ``mlartifacts/`` beside it.
MLflow is imported lazily: it is the slowest import in the project. Its INFO messages (database
migrations on a new store, for example) are kept out of the pipeline's output: MLflow logs at
WARNING unless ``$MLFLOW_LOGGING_LEVEL`` asks for more.
"""

from __future__ import annotations

__all__ = ["configure", "ensure_experiment", "local_artifact_root", "tracking_uri"]

import logging
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from .paths import project_root

if TYPE_CHECKING:
    from mlflow import MlflowClient

TRACKING_ENV = "MLFLOW_TRACKING_URI"
LOGGING_ENV = "MLFLOW_LOGGING_LEVEL"


def tracking_uri() -> str:
    """The tracking URI: ``$MLFLOW_TRACKING_URI`` if set, else ``sqlite:///<root>/mlflow.db``."""
    return os.environ.get(TRACKING_ENV) or _local_uri()


def _local_uri() -> str:
    return f"sqlite:///{project_root() / 'mlflow.db'}"


def configure(uri: str | None = None) -> ModuleType:
    """Import MLflow pointed at ``uri`` (default :func:`tracking_uri`).

    Usage telemetry is already off: the package's ``__init__`` sees to it before MLflow loads.
    MLflow's own logger is set to ``$MLFLOW_LOGGING_LEVEL`` (default WARNING) here, because MLflow
    may have been imported, and have configured itself, before this call.
    """
    level = os.environ.setdefault(LOGGING_ENV, "WARNING").upper()
    import mlflow

    logging.getLogger("mlflow").setLevel(level)
    # uv's environments have no pip, so MLflow warns on every log_model that it cannot pin pip's
    # version in the model's conda.yaml; the requirements it records are complete without it.
    asked = _level(level)
    environment = logging.ERROR if asked >= logging.WARNING else asked
    logging.getLogger("mlflow.utils.environment").setLevel(environment)

    mlflow.set_tracking_uri(uri or tracking_uri())
    return mlflow


def _level(name: str) -> int:
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.WARNING


def local_artifact_root() -> Path:
    """Artefact directory used with the default local store (``mlartifacts/`` in the root)."""
    return project_root() / "mlartifacts"


def ensure_experiment(client: MlflowClient, name: str, *, root: Path | None = None) -> str:
    """Return the id of experiment ``name``, creating it on first use.

    With the local SQLite store the experiment's artefacts go to ``mlartifacts/`` in the project,
    not to a directory that depends on where the command was started.
    """
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    # MLflow copies the URI into $MLFLOW_TRACKING_URI itself, so compare values, not presence.
    root = root or project_root()
    local = client.tracking_uri == f"sqlite:///{root / 'mlflow.db'}"
    location = (root / "mlartifacts").as_uri() if local else None
    return str(client.create_experiment(name, artifact_location=location))
