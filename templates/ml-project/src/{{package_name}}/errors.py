"""One error hierarchy for the project, so the pipeline's entry point reports every failure alike.

Every message says what happened and what to do about it; the entry point prints it without a
traceback (``--verbose`` shows one).
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ContractViolation",
    "PipelineError",
    "RunnerError",
    "StageFailed",
    "Violation",
]

from dataclasses import dataclass


class PipelineError(Exception):
    """A failure the user can act on; the message says what happened and what to do."""


class ConfigError(PipelineError):
    """The project config is missing, unreadable or invalid; the message names the key."""


class RunnerError(PipelineError):
    """A runner could not compile or submit the pipeline (``--runner argo``); nothing to resume."""


class StageFailed(PipelineError):
    """A stage raised; the message names the stage and the error, ``cause`` is the original.

    Errors the project anticipates (``PipelineError``) already say what to do; anything else (an
    MLflow or Parquet error, an unreachable tracking server) gets a generic next step.
    """

    def __init__(self, stage: str, cause: BaseException) -> None:
        self.stage = stage
        self.cause = cause
        if isinstance(cause, PipelineError):
            message = f"stage '{stage}' failed: {cause}"
        else:
            first_line = (str(cause).strip().splitlines() or [""])[0]
            message = (
                f"stage '{stage}' failed: {type(cause).__name__}: {first_line}\n"
                "Fix the cause (rerun with --verbose for the traceback), then rerun with "
                "--resume (make pipeline RESUME=1)."
            )
        super().__init__(message)


@dataclass(frozen=True, kw_only=True)
class Violation:
    """One broken rule of the data contract.

    Attributes:
        column: The column that broke the rule.
        rule: The rule, in words (for example ``"maximum 70"`` or ``"no nulls"``).
        rows: How many rows break it.
    """

    column: str
    rule: str
    rows: int

    def __str__(self) -> str:
        return f"{self.column}: {self.rows} row(s) break rule '{self.rule}'"


class ContractViolation(PipelineError):
    """Data broke the contract; ``violations`` lists every column, rule and offending-row count."""

    def __init__(self, violations: list[Violation], *, where: str = "data") -> None:
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(
            f"{where} broke the data contract ({len(violations)} violation(s)):\n{lines}\n"
            "Fix the source data (or, if the change is intended, the contract in contract.py), "
            "then rerun with --resume (make pipeline RESUME=1): it ingests the fixed data again."
        )
