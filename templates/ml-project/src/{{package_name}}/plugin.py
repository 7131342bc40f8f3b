"""Where features come from: the data and each request, unless a feature source plugs in.

A feature source (a feature store) is a module beside this one, ``feature_source.py``, whose
``SOURCE`` is a :class:`FeatureSource`. The graph, the config, ``ingest``, the Argo runner and
``serving.py`` ask :func:`feature_source` and name no store; without that module every hook is
a no-op. ``Stage`` lives here because a source declares stages and ``graph.py`` loads the
source: both import this module, neither imports the other.
"""

from __future__ import annotations

__all__ = ["FeatureSource", "Stage", "Training", "feature_source"]

import functools
import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from hera.workflows import Env, SecretEnv
    from mlplat_runtime.serving.cli import FeatureSource as OnlineSource

    from .config import ProjectConfig
    from .context import RunContext


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


@dataclass(frozen=True, kw_only=True)
class Training:
    """What ``ingest`` snapshots, and what the source adds to its provenance and its summary."""

    table: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def _as_read(ctx: RunContext, rows: pd.DataFrame) -> Training:
    return Training(table=rows)


def _no_env(config: ProjectConfig) -> Sequence[Env | SecretEnv]:
    return ()


@dataclass(frozen=True, kw_only=True)
class FeatureSource:
    """What a feature source adds to the project; each default adds nothing.

    Attributes:
        config: The config model with the source's sections (a ``ProjectConfig`` subclass).
        stages: Stages run after the project's own; ``artifacts``: where their outputs live.
        training: ``ingest``'s table from ``data.source``'s rows (default: the rows).
        step_env: Environment every Argo step gets besides the project's own.
        online: The model server's lookup by key (``ServingProject.feature_source``).
    """

    config: type[ProjectConfig] | None = None
    stages: tuple[Stage, ...] = ()
    artifacts: Mapping[str, str] = field(default_factory=dict)
    training: Callable[[RunContext, pd.DataFrame], Training] = _as_read
    step_env: Callable[[ProjectConfig], Sequence[Env | SecretEnv]] = _no_env
    online: OnlineSource | None = None


@functools.cache
def feature_source() -> FeatureSource:
    """``feature_source.SOURCE`` when this package has that module, else the no-op source."""
    name = f"{__package__}.feature_source"
    if importlib.util.find_spec(name) is None:
        return FeatureSource()
    source = getattr(importlib.import_module(name), "SOURCE", None)
    if not isinstance(source, FeatureSource):
        raise TypeError(f"{name}.SOURCE must be a plugin.FeatureSource, got {source!r}")
    return source
