"""What every stack command shares: its options, its target, and opening the stack.

`StackOptions` is the one options object of the ``up``/``preview``/``down``/``status``
family (and ``mlplat deploy``); `Target` says which inline program and project a command
drives. `open_target` resolves the CLI, backend and passphrase, opens the stack through
`mlplat.stack.workspace.open_stack` and translates the SDK's errors, so the operations
modules only deal with the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplat.errors import MlplatError, UsageError
from mlplat.settings import Settings, load_settings
from mlplat.stack.failures import translate
from mlplat.stack.kube import KubeContext, probe, resolve_context, unreachable_error
from mlplat.stack.program import InlineProgram
from mlplat.stack.state import StateFacts, read_facts
from mlplat.stack.ui import Ui
from mlplat.stack.workspace import (
    Backend,
    Passphrase,
    PulumiCli,
    open_stack,
    require_pulumi,
    resolve_backend,
    resolve_passphrase,
)

__all__ = [
    "Opened",
    "Session",
    "StackOptions",
    "Target",
    "open_target",
    "preflight",
    "sdk_errors",
    "stack_context",
]

_STACK_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


@dataclass(frozen=True, kw_only=True)
class StackOptions:
    """Options of the stack commands (``up``, ``preview``, ``down``, ``status``, ``deploy``).

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
    """The program a command drives.

    Attributes:
        project: Pulumi project name (``mlplat`` for the platform).
        what: What it deploys, for messages ("the platform").
        program: The inline program.
        kube_context: The resolved context (``up``/``preview``); ``None`` reads it from state.
        config: Plain stack config values to set before an update.
        secrets: Secret stack config values to set (encrypted by the passphrase provider).
        command: The mlplat command that deploys it, for hints (``up``, ``deploy``).
        before_update: Runs after the change is confirmed and before the update (``deploy
            --promote`` moves the registry alias there).
    """

    project: str
    what: str
    program: InlineProgram
    kube_context: KubeContext | None = None
    config: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    command: str = "up"
    before_update: Callable[[], None] | None = None


@dataclass(frozen=True, kw_only=True)
class Session:
    """What a command resolved before touching a stack: settings, backend, CLI, passphrase."""

    settings: Settings
    backend: Backend
    cli: PulumiCli
    passphrase: Passphrase


def preflight(options: StackOptions) -> Session:
    """Resolve the backend (usage errors first), the Pulumi CLI, then the passphrase.

    The passphrase file is created last, so a machine without Pulumi gets no stray file.

    Raises:
        UsageError: A bad ``--backend``.
        MlplatError: No Pulumi CLI, or an unusable passphrase source.
    """
    settings = load_settings()
    backend = resolve_backend(options.backend, settings)
    cli = require_pulumi(settings)
    passphrase = resolve_passphrase(settings)
    return Session(settings=settings, backend=backend, cli=cli, passphrase=passphrase)


@dataclass
class Opened:
    """A stack opened for a command, with what it was opened with."""

    stack: Any
    backend: Backend
    passphrase: Passphrase
    settings: Settings

    def facts(self) -> StateFacts:
        """Facts from the stack's current checkpoint."""
        return read_facts(self.stack.export_stack())


@contextmanager
def sdk_errors(
    operation: str, stack: str, failures: Callable[[], list[Any]] | None = None
) -> Iterator[None]:
    """Translate ``pulumi.automation`` errors raised in the block into `MlplatError`."""
    from pulumi import automation as auto

    try:
        yield
    except auto.CommandError as exc:
        raise translate(
            exc, operation=operation, stack=stack, failures=failures() if failures else ()
        ) from exc


def open_target(
    target: Target,
    options: StackOptions,
    ui: Ui,
    session: Session,
    *,
    operation: str,
    create: bool,
) -> Opened:
    """Open the target's stack (creating it when ``create``), unlocking it if asked.

    Raises:
        MlplatError: A missing stack (exit 6), an unreachable cluster, or the SDK's errors.
    """
    settings, backend, passphrase = session.settings, session.backend, session.passphrase
    if target.kube_context is not None:
        reason = probe(target.kube_context)
        if reason is not None:
            raise unreachable_error(target.kube_context, reason)
    with sdk_errors(operation, options.stack):
        stack = open_stack(
            project=target.project,
            stack=options.stack,
            program=target.program.run,
            backend=backend,
            passphrase=passphrase,
            cli=session.cli,
            settings=settings,
            create=create,
        )
    if passphrase.created is not None:
        ui.message(
            f"Created the state passphrase in {passphrase.created} (mode 0600). Back it up: "
            "without it the stacks' secrets cannot be decrypted. Set PULUMI_CONFIG_PASSPHRASE "
            "(or _FILE) to use your own."
        )
    if options.force_unlock:
        with sdk_errors(operation, options.stack):
            stack.cancel()
        ui.message(f"Broke the lock on stack {options.stack!r}.")
    return Opened(stack=stack, backend=backend, passphrase=passphrase, settings=settings)


def stack_context(facts: StateFacts, options: StackOptions) -> KubeContext | None:
    """The context a stack's state deploys to, checked against the kubeconfig and probed.

    Raises:
        UsageError: ``--kube-context`` names another cluster than the stack's.
        MlplatError: The stack's context is not in the kubeconfig, or does not answer.
    """
    if facts.kube_context is None:
        return None
    if options.kube_context and options.kube_context != facts.kube_context:
        raise UsageError(
            f"stack {options.stack!r} is deployed to kube context {facts.kube_context!r}, "
            f"not {options.kube_context!r}",
            hint="Leave out --kube-context: the stack's own context is used.",
        )
    try:
        context = resolve_context(facts.kube_context, source="the stack's kube context")
    except UsageError as exc:
        raise MlplatError(exc.message, hint="Restore that context in your kubeconfig.") from None
    reason = probe(context)
    if reason is not None:
        raise unreachable_error(context, reason)
    return context
