"""One error hierarchy for the project, so the pipeline's entry point reports every failure alike.

Every message says what happened and what to do about it; the entry point prints it without a
traceback (``--verbose`` shows one).
"""

from __future__ import annotations

__all__ = ["ConfigError", "ContractViolation", "PipelineError", "Violation"]

from dataclasses import dataclass


class PipelineError(Exception):
    """A failure the user can act on; the message says what happened and what to do."""


class ConfigError(PipelineError):
    """The project config is missing, unreadable or invalid; the message names the key."""


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
            "Fix the source data (or, if the change is intended, the contract in contract.py)."
        )
