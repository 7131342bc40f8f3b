"""What every stack command shares: its options, target and session, and the opened stack.

Every stack command (``up``, ``preview``, ``down``, ``status``, ``deploy``) takes one
`StackOptions`, names the program and Pulumi project it drives in a `Target`, and resolves
its prerequisites once, in `preflight`, into a `Session`. Then `open_run`, the one door to a
stack, asks for confirmation when the command changes something (`require_confirmation`, the
one place that refuses an unconfirmed change), creates the passphrase on first use, opens the
stack and breaks its lock if asked. The `StackRun` it returns carries the session, the target
and the ``auto.Stack``, so the operations (``up``/``preview``, ``down``, ``status``) take one
argument.

The order is the user's: everything that can be found missing or wrong without changing
anything is reported first (the config file, ``--backend``, the Pulumi CLI, the passphrase
source, the cluster), and only then is ``--yes`` asked for, so a new user is never told to
confirm a run that could not have started.

`StackRun.engine` wraps one engine call (update, preview, destroy): live progress, Ctrl-C as
a clean cancel (`mlplat.stack.interrupt`), and every failure translated into the error the
user sees (cancelled, stopped, the program's own error, or the deploy failure with Pulumi's
exit code).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.errors import ExitCode, MlplatError, UsageError
from mlplat.settings import load_settings
from mlplat.stack.failures import exit_code_of, program_error, translate
from mlplat.stack.interrupt import graceful_interrupts
from mlplat.stack.kube import KubeContext, probe, resolve_context, unreachable_error
from mlplat.stack.program import InlineProgram, missing_secret
from mlplat.stack.progress import Failure, OnEvent, Progress
from mlplat.stack.state import StateFacts, read_facts
from mlplat.stack.ui import Ui
from mlplat.stack.workspace import Workspace, resolve_workspace

if TYPE_CHECKING:
    from pulumi.automation import Stack

__all__ = [
    "Session",
    "StackOptions",
    "StackRun",
    "Target",
    "open_run",
    "preflight",
    "require_confirmation",
    "sdk_errors",
]

_STACK_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


@dataclass(frozen=True, kw_only=True)
class StackOptions:
    """Options of the stack commands (``up``, ``preview``, ``down``, ``status``, ``deploy``).

    The CLI builds it in one place (`mlplat.commands._stack.stack_options`) from the flags a
    command declares under these names.

    Attributes:
        stack: Stack name; one stack is one deployment of the program.
        backend: State backend URL; ``None`` for ``MLPLAT_BACKEND`` or the local default.
        config: Platform config file (``up``/``preview``).
        profile: ``dev`` or ``prod``; overrides the config file's.
        kube_context: kubeconfig context; ``None`` for the config's or the current one.
        yes: Skip the preview and confirmations (required when not interactive).
        interactive: Whether mlplat may prompt (stdin is a terminal).
        force_unlock: Break a held lock first (``pulumi cancel``).
        recover: Clear the pending operations of an interrupted update without asking.
        delete_data: ``down`` also deletes protected data (database, object store, volumes).
        show_secrets: ``status`` prints secret outputs too.
        project: A generated project: ``down`` and ``status`` act on its model deployment's
            stack instead of the platform's; ``deploy`` deploys it (``None``: the current
            directory).
    """

    stack: str = "dev"
    backend: str | None = None
    config: Path | None = None
    profile: str | None = None
    kube_context: str | None = None
    yes: bool = False
    interactive: bool = False
    force_unlock: bool = False
    recover: bool = False
    delete_data: bool = False
    show_secrets: bool = False
    project: Path | None = None

    def __post_init__(self) -> None:
        if not self.stack or not set(self.stack) <= _STACK_NAME_CHARS:
            raise UsageError(
                f"--stack {self.stack!r} is not a valid stack name",
                hint="Use letters, digits, '-', '_' and '.'.",
            )
        from mlplat_platform.config import PROFILES

        if self.profile is not None and self.profile not in PROFILES:
            raise UsageError(
                f"--profile must be one of {', '.join(PROFILES)}, got {self.profile!r}"
            )


@dataclass(frozen=True, kw_only=True)
class Target:
    """The program a command drives, and the cluster it was resolved to.

    Attributes:
        project: Pulumi project name (``mlplat`` for the platform).
        what: What it deploys, for messages ("the platform").
        action: The change the command makes, as refusing it unconfirmed names it
            ("deploy the platform", "remove model churn").
        program: The inline program (never run by ``down`` and ``status``).
        kube_context: The resolved context (``up``/``preview``/``deploy``); ``None`` reads it
            from the stack's state.
        config: Plain stack config values to set before an update.
        secrets: Secret stack config values to set (encrypted by the passphrase provider).
        command: The mlplat command that deploys it, for hints (``up``, ``deploy``).
        before_update: Runs after the change is confirmed and before the update (``deploy
            --promote`` moves the registry alias there).
    """

    project: str
    what: str
    action: str
    program: InlineProgram
    kube_context: KubeContext | None = None
    config: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    command: str = "up"
    before_update: Callable[[], None] | None = None

    @property
    def context_name(self) -> str | None:
        """The resolved context's name, if the target was resolved to one."""
        return self.kube_context.name if self.kube_context else None


@dataclass(frozen=True, kw_only=True)
class Session:
    """One command: what the user asked, its front end, and the workspace `preflight` resolved.

    Attributes:
        options: What the user asked.
        ui: Messages, questions and progress.
        workspace: The backend, the Pulumi CLI and mlplat's settings.
    """

    options: StackOptions
    ui: Ui
    workspace: Workspace


def preflight(options: StackOptions, ui: Ui) -> Session:
    """Resolve the backend (usage errors first), the Pulumi CLI, then check the passphrase.

    Nothing is created here but the local backend's directory: the passphrase file is made
    when a stack is opened, after the confirmation, so a refused or impossible run leaves no
    stray file (`mlplat.stack.workspace.resolve_workspace`).

    Raises:
        UsageError: A bad ``--backend``.
        MlplatError: No Pulumi CLI, or an unusable passphrase source.
    """
    workspace = resolve_workspace(options.backend, load_settings())
    return Session(options=options, ui=ui, workspace=workspace)


def require_confirmation(options: StackOptions, action: str) -> None:
    """Exit 2 when a change needs confirming and nobody can be asked.

    Called once per command, by `open_run`, after every check that does not
    need the stack and before the first change.
    """
    if not options.yes and not options.interactive:
        raise UsageError(
            f"refusing to {action} without confirmation: stdin is not a terminal",
            hint="Pass --yes to confirm, or run it in a terminal to be asked.",
        )


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
    try:
        with sdk_errors(operation, options.stack):
            stack, created = session.workspace.open(
                project=target.project,
                stack=options.stack,
                program=target.program.run,
                create=create,
            )
    except MlplatError as exc:
        if exc.exit_code != ExitCode.STACK_NOT_FOUND or target.command == "up":
            raise
        raise MlplatError(  # a model's stack: deploying it is `mlplat deploy`, not `up`
            f"{target.what} has no deployment (stack {options.stack!r}) in this backend",
            hint=f"Deploy it with `mlplat {target.command} --stack {options.stack}` in the "
            "project, or pass the --backend it lives in.",
            exit_code=ExitCode.STACK_NOT_FOUND,
        ) from None
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
