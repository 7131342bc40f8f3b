"""One error hierarchy for the project, so the pipeline's entry point reports every failure alike.

Every message says what happened and what to do about it; the entry point prints it without a
traceback (``--verbose`` shows one). The contract's errors come from the runtime, whose
``PipelineError`` is the base of them all.
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
    ContractViolation,
    PipelineError,
    Violation,
)


class ConfigError(PipelineError):
    """The project config is missing, unreadable or invalid; the message names the key."""


class RunnerError(PipelineError):
    """A runner could not compile or submit the pipeline (``--runner argo``); nothing to resume."""


class StageFailed(PipelineError):
    """A stage raised; the message names the stage and the error, ``cause`` is the original.

    Errors the project anticipates (``PipelineError``) already say what to do; anything else (an
    MLflow or Parquet error, an unreachable tracking server) gets a generic next step. The hint
    about ``--verbose`` is the entry point's to add: with ``--verbose`` the traceback is shown.
    """

    def __init__(self, stage: str, cause: BaseException) -> None:
        self.stage = stage
        self.cause = cause
        self.anticipated = isinstance(cause, PipelineError)
        if self.anticipated:
            message = f"stage '{stage}' failed: {cause}"
        else:
            first_line = (str(cause).strip().splitlines() or [""])[0]
            message = (
                f"stage '{stage}' failed: {type(cause).__name__}: {first_line}\n"
                "Fix the cause, then rerun with --resume (make pipeline RESUME=1)."
            )
        super().__init__(message)
