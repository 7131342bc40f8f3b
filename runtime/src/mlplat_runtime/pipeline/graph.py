"""A project's pipeline as the runners see it: its stages, its artefacts and its settings.

The project declares its graph (``graph.py``: stages with inputs, outputs and project paths) and
its config; the runners here (in-process, Argo) read them only through these small protocols, so
they carry no project code and the project no runner code. Importing this module imports neither
pandas, MLflow nor Hera.
"""

from __future__ import annotations

__all__ = ["ArgoSettings", "Pipeline", "Settings", "StageSpec", "config_value", "describe"]

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class StageSpec(Protocol):
    """One stage of a project's graph (the project's ``Stage``)."""

    @property
    def name(self) -> str:
        """Stage name, as given to ``--stage``."""

    @property
    def inputs(self) -> tuple[str, ...]:
        """Artefact names it reads."""

    @property
    def outputs(self) -> tuple[str, ...]:
        """Artefact names it writes."""

    @property
    def reads(self) -> tuple[str, ...]:
        """Project paths it reads, as config keys (``data.snapshot_dir``)."""

    @property
    def writes(self) -> tuple[str, ...]:
        """Project paths it writes, as config keys."""

    @property
    def run(self) -> Callable[[Any], dict[str, Any]]:
        """The stage's function: takes the run context, returns a small summary to print."""


class ArgoSettings(Protocol):
    """The ``[argo]`` section of a project's config, as the Argo compilers read it."""

    @property
    def image(self) -> str:
        """The project's image."""

    @property
    def namespace(self) -> str:
        """The workflow namespace."""

    @property
    def service_account(self) -> str:
        """The workflows' service account."""

    @property
    def monitor_service_account(self) -> str:
        """The monitor CronWorkflow's service account: it may create workflows."""

    @property
    def mlflow_tracking_uri(self) -> str:
        """MLflow as the pods reach it."""

    @property
    def schedules(self) -> tuple[str, ...]:
        """Cron schedules of the retraining."""

    @property
    def monitor_schedules(self) -> tuple[str, ...]:
        """Cron schedules of the monitor."""

    @property
    def timezone(self) -> str:
        """IANA time zone of the schedules."""

    @property
    def cpu(self) -> str:
        """CPU request and limit of every step."""

    @property
    def memory(self) -> str:
        """Memory request and limit of every step."""

    @property
    def timeout_minutes(self) -> int:
        """A run's deadline."""


class Settings(Protocol):
    """A project's validated config (a pydantic model) as the runners read it."""

    @property
    def argo(self) -> ArgoSettings:
        """The ``[argo]`` section."""

    def model_dump(self, *, by_alias: bool = ...) -> dict[str, Any]:
        """The config as a dict (``by_alias``: keys as written in ``config.toml``)."""

    def model_dump_json(self) -> str:
        """The config as JSON: its hash decides what ``--resume`` may skip."""


@dataclass(frozen=True, kw_only=True)
class Pipeline:
    """What the runners need to know of a project, declared once by the project.

    Attributes:
        package: The project's import package; steps run ``python -m <package>.pipeline``.
        stages: The stages in the order they run.
        artifacts: Where each artefact lives, relative to the artefacts directory.
        snapshot: The artefact recording the current snapshot's ``data_hash``.
        step_env: Extra environment of every Argo step (a feature source's), from the config.

    Example::

        PIPELINE = Pipeline(package=__package__, stages=STAGES, artifacts=ARTIFACTS)
    """

    package: str
    stages: Sequence[StageSpec]
    artifacts: Mapping[str, str]
    snapshot: str = "snapshot"
    step_env: Callable[[Any], Sequence[Any]] = field(default=lambda _config: ())

    def producer(self, artifact: str) -> str:
        """The name of the stage that writes ``artifact``."""
        return next(stage.name for stage in self.stages if artifact in stage.outputs)


def config_value(config: Settings, key: str) -> str:
    """The value of ``section.name`` in the config (a project path such as the snapshots)."""
    section, name = key.split(".")
    return str(config.model_dump(by_alias=True)[section][name])


def describe(pipeline: Pipeline, config: Settings) -> list[dict[str, Any]]:
    """The DAG as data, for other runners: each stage's name, inputs and outputs with paths.

    ``inputs``/``outputs`` are artefacts, relative to the artefacts directory; ``reads``/``writes``
    are project files and directories from the config (the snapshots, the reference profile),
    relative to the project root. A runner that gives every stage its own container runs
    ``python -m <package>.pipeline --stage NAME`` with all of them on shared storage;
    ``--describe`` prints this list as JSON.
    """
    return [
        {
            "name": stage.name,
            "inputs": {name: pipeline.artifacts[name] for name in stage.inputs},
            "outputs": {name: pipeline.artifacts[name] for name in stage.outputs},
            "reads": {key: config_value(config, key) for key in stage.reads},
            "writes": {key: config_value(config, key) for key in stage.writes},
            "after": sorted({pipeline.producer(name) for name in stage.inputs}),
        }
        for stage in pipeline.stages
    ]
