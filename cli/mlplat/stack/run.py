"""A stack command's opened stack, and what every engine run on it shares.

`open_run` is the one door to a stack: it asks for confirmation when the command changes
something (`mlplat.stack.session.require_confirmation`), creates the passphrase on first use,
opens the stack through `mlplat.stack.workspace.open_stack` and breaks its lock if asked. The
`StackRun` it returns carries the session, the target and the ``auto.Stack``, so the
operations (``up``/``preview``, ``down``, ``status``) take one argument.

`StackRun.engine` wraps one engine call (update, preview, destroy): live progress, Ctrl-C as
a clean cancel (`mlplat.stack.interrupt`), and every failure translated into the error the
user sees (cancelled, stopped, the program's own error, or the deploy failure with Pulumi's
exit code).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.errors import ExitCode, MlplatError, UsageError
from mlplat.stack.failures import exit_code_of, program_error, translate
from mlplat.stack.interrupt import graceful_interrupts
from mlplat.stack.kube import KubeContext, probe, resolve_context, unreachable_error
from mlplat.stack.program import missing_secret
from mlplat.stack.progress import Failure, OnEvent, Progress
from mlplat.stack.session import Session, StackOptions, Target, require_confirmation
from mlplat.stack.state import StateFacts, read_facts
from mlplat.stack.ui import Ui

if TYPE_CHECKING:
    from pulumi.automation import Stack

__all__ = ["StackRun", "open_run", "sdk_errors"]


@contextmanager
def sdk_errors(
    operation: str, stack: str, failures: Callable[[], Sequence[Failure]] | None = None
) -> Iterator[None]:
    """Translate ``pulumi.automation`` errors raised in the block into `MlplatError`."""
    from pulumi import automation as auto

    try:
        yield
    except auto.CommandError as exc:
        raise translate(
            exc, operation=operation, stack=stack, failures=failures() if failures else ()
        ) from exc


@dataclass(frozen=True, kw_only=True)
class StackRun:
    """One command on one opened stack.

    Attributes:
        session: The command's options, front end and prerequisites.
        target: The program and project the stack belongs to.
        stack: The opened stack.
        passphrase_created: The passphrase file created when opening it, if any.
    """

    session: Session
    target: Target
    stack: Stack
    passphrase_created: Path | None = None

    @property
    def options(self) -> StackOptions:
        """The command's options."""
        return self.session.options

    @property
    def ui(self) -> Ui:
        """The command's front end."""
        return self.session.ui

    @property
    def name(self) -> str:
        """The stack's name."""
        return self.session.options.stack

    def facts(self, operation: str) -> StateFacts:
        """Facts from the stack's current checkpoint."""
        with sdk_errors(operation, self.name):
            return read_facts(self.stack.export_stack())

    @contextmanager
    def engine(self, operation: str, progress: Progress, title: str) -> Iterator[OnEvent]:
        """Run one engine call in the block, with progress; yields its ``on_event``.

        Raises:
            MlplatError: Cancelled (exit 8), stopped by a second Ctrl-C (exit 130), the
                program's own error, or the deploy failure with Pulumi's exit code.
        """
        from pulumi import automation as auto

        ui = self.ui
        with (
            graceful_interrupts(ui.message) as interrupts,
            ui.progress(progress, title) as on_event,
        ):
            try:
                yield on_event
            except KeyboardInterrupt:
                raise stopped_error(operation, self.name) from None
            except auto.CommandError as exc:
                if interrupts.cancelling or exit_code_of(exc) == ExitCode.CANCELLED:
                    raise self.cancelled(operation, progress) from exc
                error = self.target.program.error
                if error is not None:
                    raise (
                        missing_secret(error) or program_error(error, what=self.target.what)
                    ) from exc
                raise translate(
                    exc, operation=operation, stack=self.name, failures=progress.failures
                ) from exc

    def recover(self, facts: StateFacts, *, operation: str) -> None:
        """Offer Pulumi's recovery for an interrupted update's pending operations."""
        options, ui = self.options, self.ui
        count = len(facts.pending)
        ui.message(
            f"Stack {self.name!r} has {count} pending operation(s) from an interrupted update:\n"
            + "\n".join(f"  {op.text()}" for op in facts.pending)
        )
        question = "Refresh the stack from the cluster and clear the pending creates now?"
        if not (
            options.recover or (options.interactive and not options.yes and ui.confirm(question))
        ):
            raise MlplatError(
                f"stack {self.name!r} has {count} pending operation(s) from an interrupted update",
                hint=f"Run `mlplat {operation} --stack {self.name} --recover`: it refreshes the "
                "state from the cluster and clears the pending creates (Pulumi's `refresh "
                "--clear-pending-creates`); objects that were created after all are adopted by "
                "the next deploy.",
            )
        progress = Progress()
        with ui.progress(progress, f"Refreshing stack {self.name}") as on_event:
            with sdk_errors("refresh", self.name, lambda: progress.failures):
                self.stack.refresh(clear_pending_creates=True, on_event=on_event)
        ui.message("Cleared the pending operations.")

    def cancelled(self, operation: str, progress: Progress) -> MlplatError:
        """Say what state a cleanly cancelled stack is in (exit 8)."""
        try:
            pending = len(read_facts(self.stack.export_stack()).pending)
        except Exception:  # the state is what we report on; failing to read it is not fatal
            pending = -1
        state = {
            0: "its state is saved with no pending operations",
            -1: "its state could not be read back",
        }.get(
            pending,
            f"its state has {pending} pending operation(s), which the next run offers to clear",
        )
        return MlplatError(
            f"cancelled: {progress.done} change(s) finished before the cancel; {state}",
            hint=f"Run `mlplat {operation} --stack {self.name}` to finish, or `mlplat down "
            f"--stack {self.name}` to remove what was created.",
            exit_code=ExitCode.CANCELLED,
        )

    def check_pinned_context(self, facts: StateFacts) -> None:
        """Refuse to point an existing stack at another cluster (it would recreate everything)."""
        wanted = self.target.context_name
        if facts.kube_context and wanted and facts.kube_context != wanted:
            raise UsageError(
                f"stack {self.name!r} deploys to kube context {facts.kube_context!r}, but "
                f"this run resolved {wanted!r}",
                hint=f"Pass --kube-context {facts.kube_context} (or `kubectl config use-context "
                f"{facts.kube_context}`). To deploy to another cluster, use another --stack.",
            )

    def stack_context(self, facts: StateFacts) -> KubeContext | None:
        """The context the stack's state deploys to, checked against the kubeconfig and probed.

        Raises:
            UsageError: ``--kube-context`` names another cluster than the stack's.
            MlplatError: The stack's context is not in the kubeconfig, or does not answer.
        """
        requested = self.options.kube_context
        if facts.kube_context is None:
            return None
        if requested and requested != facts.kube_context:
            raise UsageError(
                f"stack {self.name!r} is deployed to kube context {facts.kube_context!r}, "
                f"not {requested!r}",
                hint="Leave out --kube-context: the stack's own context is used.",
            )
        try:
            context = resolve_context(facts.kube_context, source="the stack's kube context")
        except UsageError as exc:
            raise MlplatError(
                exc.message, hint="Restore that context in your kubeconfig."
            ) from None
        reason = probe(context)
        if reason is not None:
            raise unreachable_error(context, reason)
        return context


def open_run(
    session: Session, target: Target, *, operation: str, create: bool, confirm: str | None
) -> StackRun:
    """Open the target's stack for ``operation``, after the last checks and the confirmation.

    Args:
        session: What `mlplat.stack.session.preflight` resolved.
        target: The program and project.
        operation: The command, for error hints (``up``, ``preview``, ``down``, ``status``).
        create: Create the stack when missing (``up``, ``preview``); else exit 6.
        confirm: The change to confirm ("deploy the platform"), or ``None`` for a command that
            changes nothing.

    Raises:
        UsageError: ``confirm`` and neither ``--yes`` nor a terminal (exit 2).
        MlplatError: An unreachable cluster, a missing stack (exit 6), or the SDK's errors.
    """
    options, ui = session.options, session.ui
    if target.kube_context is not None:
        reason = probe(target.kube_context)
        if reason is not None:
            raise unreachable_error(target.kube_context, reason)
    if confirm is not None:
        require_confirmation(options, confirm)
    with sdk_errors(operation, options.stack):
        stack, created = session.workspace.open(
            project=target.project, stack=options.stack, program=target.program.run, create=create
        )
    if created is not None:
        ui.message(
            f"Created the state passphrase in {created} (mode 0600). Back it up: "
            "without it the stacks' secrets cannot be decrypted. Set PULUMI_CONFIG_PASSPHRASE "
            "(or _FILE) to use your own."
        )
    if options.force_unlock:
        with sdk_errors(operation, options.stack):
            stack.cancel()
        ui.message(f"Broke the lock on stack {options.stack!r}.")
    return StackRun(session=session, target=target, stack=stack, passphrase_created=created)


def stopped_error(operation: str, stack: str) -> MlplatError:
    """A second Ctrl-C stopped mlplat and the engine mid-operation (exit 130)."""
    return MlplatError(
        f"stopped at once: operations in flight on stack {stack!r} may be unfinished",
        hint=f"Run `mlplat {operation} --stack {stack}` again: it reports pending operations "
        "and offers the recovery; if it says the stack is locked, add --force-unlock.",
        exit_code=ExitCode.INTERRUPTED,
    )
