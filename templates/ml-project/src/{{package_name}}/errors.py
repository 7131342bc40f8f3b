"""One error hierarchy for the project, so the pipeline's entry point reports every failure alike.

Every message says what happened and what to do about it; the entry point prints it without a
traceback (``--verbose`` shows one). The errors come from the runtime, whose ``PipelineError`` is
the base of them all: raise it (or a subclass of your own) for a failure the user can act on.
"""

from __future__ import annotations

__all__ = [
    "CONTRACT_HINT",
    "DRIFT_HINT",
    "ConfigError",
    "ContractViolation",
    "PipelineError",
    "RunnerError",
    "StageFailed",
    "Violation",
]

from mlplat_runtime.errors import (
    CONTRACT_HINT,
    DRIFT_HINT,
    ConfigError,
    ContractViolation,
    PipelineError,
    RunnerError,
    StageFailed,
    Violation,
)
