"""The Argo runner over this project's graph: ``mlplat_runtime.pipeline.argo`` does the compiling.

``python -m <package>.pipeline --runner argo`` writes the WorkflowTemplate, the retraining
CronWorkflow and the monitor's CronWorkflow; this module names them for tests and scripts.
"""

from __future__ import annotations

__all__ = ["IMAGE_ROOT", "ArgoManifests", "compile_pipeline", "resource_name"]

from mlplat_runtime.pipeline import argo
from mlplat_runtime.pipeline.argo import IMAGE_ROOT, ArgoManifests

from .config import ProjectConfig
from .graph import PIPELINE


def resource_name() -> str:
    """The package name as a Kubernetes name (``my_model`` -> ``my-model``)."""
    return argo.resource_name(PIPELINE.package)


def compile_pipeline(config: ProjectConfig, *, image: str | None = None) -> ArgoManifests:
    """The pipeline's WorkflowTemplate and CronWorkflows, in ``image`` (default ``argo.image``)."""
    return argo.compile_pipeline(PIPELINE, config, image=image)
