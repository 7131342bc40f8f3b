"""The runtime's errors: what a project's entry points print as one line, without a traceback.

A project's own errors subclass :class:`PipelineError`, so its pipeline reports a failure of the
runtime (a contract violation, an unreadable data file) and one of its own alike.
"""

from __future__ import annotations

__all__ = [
    "CONTRACT_HINT",
    "DRIFT_HINT",
    "ConfigError",
    "ContractViolation",
    "NotConvertible",
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


class NotConvertible(Exception):
    """No exact ONNX converter for a step of the pipeline: the model serves through sklearn."""


@dataclass(frozen=True, kw_only=True)
class Violation:
    """One broken rule of the data contract.

    Attributes:
        column: The column that broke the rule.
        rule: The rule, in words (for example ``"maximum 70"`` or ``"no nulls"``).
        rows: How many rows break it; ``None`` for a rule about the whole column (present,
            distribution).
        examples: A few offending values, as written in the data, when they help.
    """

    column: str
    rule: str
    rows: int | None
    examples: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.rows is None:
            return f"{self.column}: breaks rule '{self.rule}'"
        shown = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        return f"{self.column}: {self.rows} row(s) break rule '{self.rule}'{shown}"


CONTRACT_HINT = (
    "Fix the source data, then rerun with --resume (make pipeline RESUME=1): it ingests the "
    "fixed data again. If the data is right and the contract is wrong, edit contract.py."
)
DRIFT_HINT = (
    "If this shift is expected (new data, a new period), make this snapshot the reference: "
    "make pipeline SAVE_REFERENCE=1 (then commit the reference profile), or raise "
    "validate.max_psi in config.toml. If it is not expected, the source changed: find out why."
)


class ContractViolation(PipelineError):
    """Data broke the contract; ``violations`` lists every column, rule and offending-row count.

    ``hint`` says what fixes this kind of violation: the data or contract for a broken rule,
    the reference profile or ``max_psi`` for drift.
    """

    def __init__(
        self, violations: list[Violation], *, where: str = "data", hint: str = CONTRACT_HINT
    ) -> None:
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(
            f"{where} broke the data contract ({len(violations)} violation(s)):\n{lines}\n{hint}"
        )
