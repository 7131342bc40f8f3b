"""The one error hierarchy mlplat raises, and the exit codes it maps to.

Core modules raise these; only the CLI's error boundary (``mlplat._cli``) turns them into
a message on stderr and an exit code, so every command fails the same way.
"""

from __future__ import annotations

import enum

__all__ = ["ExitCode", "MlplatError", "UsageError"]


class ExitCode(enum.IntEnum):
    """Process exit codes, shared by every command (DESIGN.md, "Conventions").

    Deploy commands (``up``, ``preview``, ``down``, ``status``, ``deploy``) reuse the Pulumi
    CLI's exit-code taxonomy for their failures, so a script can tell a bad config from a lost
    credential or a failed resource. The numbers are the CLI's own (pulumi/pulumi
    ``sdk/go/common/util/cmdutil/exit.go``, "Exit code taxonomy", read at the v3.260 tree; the
    comment there says they are a stable contract). 1 and 2 coincide with mlplat's own
    failure and usage codes.
    """

    OK = 0
    FAILURE = 1
    USAGE = 2
    AUTH = 3
    RESOURCE = 4
    POLICY = 5
    STACK_NOT_FOUND = 6
    NO_CHANGES = 7
    CANCELLED = 8
    TIMEOUT = 9
    INTERRUPTED = 130


class MlplatError(Exception):
    """A failure the user can act on.

    Args:
        message: What happened, in one line.
        hint: What to do about it (the flag or step that fixes it), if anything.
        exit_code: The process exit code the CLI uses for this error.
    """

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(
        self, message: str, *, hint: str | None = None, exit_code: ExitCode | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n{self.hint}"


class UsageError(MlplatError):
    """Bad input from the user: an invalid flag value, answer or file. Exits 2."""

    exit_code = ExitCode.USAGE
