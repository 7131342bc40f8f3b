"""Pulumi failures as `MlplatError`: what happened, what fixes it, and Pulumi's exit code.

The Automation API raises ``CommandError`` subclasses built from the CLI's result
(``pulumi/automation/errors.py``): ``StackNotFoundError``, ``ConcurrentUpdateError`` (a held
lock, matched on "the stack is currently locked by" for self-managed backends),
``InlineSourceRuntimeError`` (the program raised) and a generic ``CommandError``. Their text
is ``CommandResult.__str__`` ("code: N / stdout / stderr"), and in pulumi 3.272.0 the error
keeps no other reference to the exit code, so `exit_code_of` reads it back from that text.
The code follows the CLI's taxonomy (`mlplat.errors.ExitCode`); codes outside it (255,
signals) count as a generic failure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mlplat.errors import ExitCode, MlplatError, UsageError
from mlplat.stack.plugins import Plugin, install_hint
from mlplat.stack.progress import Failure, clean

__all__ = ["exit_code_of", "program_error", "stderr_errors", "translate"]

_CODE = re.compile(r"^\s*code: (-?\d+)\s*$", re.MULTILINE)
_STDERR = re.compile(r"\n stderr: (.*)\Z", re.DOTALL)
_PULUMI_CODES = {int(code) for code in ExitCode if int(code) < 10}
_DOCTOR = "Run `mlplat doctor` to check the prerequisites."


def exit_code_of(error: BaseException) -> ExitCode:
    """The Pulumi CLI's exit code carried in a ``CommandError``'s text, as an `ExitCode`."""
    match = _CODE.search(str(error))
    if match is None:
        return ExitCode.FAILURE
    code = int(match.group(1))
    return ExitCode(code) if code in _PULUMI_CODES and code != 0 else ExitCode.FAILURE


def stderr_errors(error: BaseException) -> list[str]:
    """The ``error:`` lines the CLI printed on stderr, without colour tags."""
    match = _STDERR.search(str(error))
    text = match.group(1) if match else str(error)
    lines = [clean(line) for line in text.splitlines()]
    return [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]


def translate(
    error: BaseException,
    *,
    operation: str,
    stack: str,
    failures: Sequence[Failure] = (),
) -> MlplatError:
    """Turn an Automation API exception into the error the user sees.

    Args:
        error: What ``pulumi.automation`` raised.
        operation: ``up``, ``preview``, ``down``, ``refresh``, ``status``.
        stack: The stack name (hints name the exact command to run).
        failures: What the event stream reported (per-resource messages).
    """
    from pulumi import automation as auto

    text = str(error)
    if isinstance(error, auto.ConcurrentUpdateError):
        return MlplatError(
            f"stack {stack!r} is locked by another update",
            hint="Wait for that update to finish. If none is running (it was killed), break "
            f"the lock with `mlplat {operation} --stack {stack} --force-unlock`; that is the "
            "only way to release it.",
        )
    if isinstance(error, auto.StackNotFoundError):
        return MlplatError(
            f"there is no stack {stack!r} in this backend",
            hint=f"Create it with `mlplat up --stack {stack}`, or pass the --backend it lives in.",
            exit_code=ExitCode.STACK_NOT_FOUND,
        )
    if "cluster is unreachable" in text:
        detail = next((e for e in stderr_errors(error) if "unreachable" in e), "")
        return MlplatError(
            "the Kubernetes cluster is unreachable" + (f": {detail}" if detail else ""),
            hint="Start the cluster or pick another one with --kube-context. " + _DOCTOR,
        )
    if "incorrect passphrase" in text or "passphrase must be set" in text:
        return MlplatError(
            f"the passphrase does not open stack {stack!r}'s secrets",
            hint="Set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE to the "
            "passphrase the stack was created with.",
            exit_code=ExitCode.AUTH,
        )
    code = exit_code_of(error)
    reasons = [f.text() for f in failures] or stderr_errors(error) or [_last_line(text)]
    message = f"{operation} of stack {stack!r} failed: " + "; ".join(dict.fromkeys(reasons))
    missing = _missing_plugins(" ".join(reasons))
    if missing:
        hint = f"{install_hint(missing)}. {_DOCTOR}"
        return MlplatError(message, hint=hint, exit_code=code)
    return MlplatError(message, hint=_hint(code, operation, stack), exit_code=code)


_NO_PLUGIN = re.compile(r"no resource plugin 'pulumi-resource-([\w-]+)' found .*?version v(\S+)")


def _missing_plugins(text: str) -> list[Plugin]:
    """The plugins an engine error says it could not find (pulumi v3.274.0's wording)."""
    found = {(m.group(1), m.group(2)) for m in _NO_PLUGIN.finditer(text)}
    return [Plugin(name=name, version=version) for name, version in sorted(found)]


def program_error(error: BaseException, *, what: str) -> MlplatError:
    """The program itself raised (not a deploy failure): a bug, or a config the loader missed."""
    if isinstance(error, UsageError):
        return error
    return MlplatError(
        f"the {what} program failed: {type(error).__name__}: {error}",
        hint="Run again with `mlplat --verbose ...` for the traceback, and report it.",
    )


def _hint(code: ExitCode, operation: str, stack: str) -> str:
    return {
        ExitCode.USAGE: "Check the flags and the stack's config.",
        ExitCode.AUTH: "Check the backend's credentials (AWS_*, GOOGLE_*, AZURE_* in the "
        "environment) and the passphrase.",
        ExitCode.RESOURCE: f"Fix the failing resource, then run `mlplat {operation} --stack "
        f"{stack}` again; what succeeded is kept.",
        ExitCode.POLICY: "A policy pack refused the change.",
        ExitCode.CANCELLED: f"Run `mlplat {operation} --stack {stack}` again to finish.",
        ExitCode.TIMEOUT: f"Run `mlplat {operation} --stack {stack}` again; what succeeded is "
        "kept.",
    }.get(
        code,
        f"What succeeded is kept; fix the cause and run `mlplat {operation} --stack {stack}` "
        "again (`mlplat --verbose ...` shows Pulumi's full output).",
    )


def _last_line(text: str) -> str:
    lines = [clean(line) for line in text.splitlines() if clean(line)]
    return lines[-1] if lines else "no error message"
