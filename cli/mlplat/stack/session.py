"""What a stack command settles before it touches a stack: its options, target and session.

Every stack command (``up``, ``preview``, ``down``, ``status``, ``deploy``) takes one
`StackOptions`, names the program and Pulumi project it drives in a `Target`, and resolves
its prerequisites once, in `preflight`, into a `Session`. Then `mlplat.stack.run.open_run`
asks for confirmation (the one place that refuses an unconfirmed change) and opens the stack.

The order is the user's: everything that can be found missing or wrong without changing
anything is reported first (the config file, ``--backend``, the Pulumi CLI, the passphrase
source, the cluster), and only then is ``--yes`` asked for, so a new user is never told to
confirm a run that could not have started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlplat.errors import UsageError
from mlplat.settings import load_settings
from mlplat.stack.kube import KubeContext
from mlplat.stack.program import InlineProgram
from mlplat.stack.ui import Ui
from mlplat.stack.workspace import Workspace, resolve_workspace

__all__ = ["Session", "StackOptions", "Target", "preflight", "require_confirmation"]

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

    Called once per command, by `mlplat.stack.run.open_run`, after every check that does not
    need the stack and before the first change.
    """
    if not options.yes and not options.interactive:
        raise UsageError(
            f"refusing to {action} without confirmation: stdin is not a terminal",
            hint="Pass --yes to confirm, or run it in a terminal to be asked.",
        )
