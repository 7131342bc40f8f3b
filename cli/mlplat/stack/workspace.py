"""Where a stack's state lives and how Pulumi is driven: backend, passphrase, CLI, workspace.

Defaults need no account: the state goes to Pulumi's local file backend under mlplat's data
directory, secrets are encrypted with the passphrase provider, and the passphrase comes from
``PULUMI_CONFIG_PASSPHRASE`` / ``PULUMI_CONFIG_PASSPHRASE_FILE`` or a 0600 file that mlplat
creates on first use. Teams and CI pass ``--backend s3://…`` (or gs://, azblob://) and the
passphrase through the environment.

`open_stack` is the one place that calls ``pulumi.automation``'s ``create_or_select_stack`` /
``select_stack``; every command goes through it, so all of them see the same project
settings, backend, secrets provider and CLI.

The Pulumi CLI is found the way a user who installed it expects (`find_pulumi`): mlplat's own
install, then ``PATH`` (a CLI built from source and put first on ``PATH`` is the one that
runs), then ``$PULUMI_HOME/bin``. The CLI's environment is the user's plus the backend and
passphrase variables only: ``PULUMI_HOME`` (where plugins are cached) and
``PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION`` (fail at once instead of downloading a missing
plugin) reach it unchanged.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.errors import MlplatError, UsageError
from mlplat.settings import Settings

if TYPE_CHECKING:
    from pulumi.automation import Stack

__all__ = [
    "BACKEND_SCHEMES",
    "MIN_PULUMI_CLI",
    "Backend",
    "Passphrase",
    "PulumiCli",
    "Workspace",
    "check_passphrase",
    "existing_passphrase",
    "find_pulumi",
    "open_stack",
    "require_pulumi",
    "resolve_backend",
    "resolve_passphrase",
    "resolve_workspace",
]

#: Pulumi's self-managed ("DIY") backends; the Pulumi Cloud backend needs an account.
BACKEND_SCHEMES = ("file://", "s3://", "gs://", "azblob://")

#: Oldest CLI that runs refresh and destroy for inline programs (``--client``): the SDK's
#: ``Stack._check_inline_support`` refuses older ones (pulumi 3.272.0, automation/_stack.py).
MIN_PULUMI_CLI = "3.181.0"

_DOCTOR = "Run `mlplat doctor` to check the prerequisites"


@dataclass(frozen=True, kw_only=True)
class Backend:
    """A state backend.

    Attributes:
        url: What ``pulumi login`` would take (``file:///…``, ``s3://…``).
        local: Whether it is the default file backend under mlplat's data directory.
    """

    url: str
    local: bool = False


def resolve_backend(url: str | None, settings: Settings) -> Backend:
    """The backend: ``--backend`` > ``MLPLAT_BACKEND`` > the file backend in the data dir.

    A relative ``file://`` path is made absolute against the current directory, because the
    Pulumi CLI runs in the workspace directory, not where the user typed the command.

    Raises:
        UsageError: The URL is not one of `BACKEND_SCHEMES`.
    """
    url = url or os.environ.get("MLPLAT_BACKEND") or None
    if url is None:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        return Backend(url=settings.state_dir.as_uri(), local=True)
    if not url.startswith(BACKEND_SCHEMES):
        raise UsageError(
            f"--backend {url!r} is not a state backend mlplat supports",
            hint="Use file://DIR, s3://BUCKET, gs://BUCKET or azblob://CONTAINER, or leave it "
            f"out for the local default ({settings.state_dir}).",
        )
    if url.startswith("file://"):
        raw = url.removeprefix("file://")
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        if not raw:
            raise UsageError("--backend file:// needs a directory", hint="Use file:///abs/dir.")
        path.mkdir(parents=True, exist_ok=True)
        return Backend(url=path.resolve().as_uri())
    return Backend(url=url)


@dataclass(frozen=True, kw_only=True)
class Passphrase:
    """How the passphrase secrets provider gets its passphrase.

    Attributes:
        env: Variables added to the Pulumi CLI's environment (never the passphrase itself).
        source: Where it comes from, for messages.
        created: The file mlplat just generated, if it did (tell the user to back it up).
    """

    env: dict[str, str]
    source: str
    created: Path | None = None


def check_passphrase(settings: Settings) -> Passphrase | None:
    """The passphrase source from the environment, else ``None`` for mlplat's own file.

    Creates nothing: `preflight <mlplat.stack.session.preflight>` calls it so that a bad
    source is reported before any confirmation, and `resolve_passphrase` creates the file
    later, when a stack is opened.

    Raises:
        MlplatError: The passphrase file named in the environment is missing, or mlplat's own
            file exists and can be read by other users.
    """
    if "PULUMI_CONFIG_PASSPHRASE" in os.environ:
        return Passphrase(env={}, source="PULUMI_CONFIG_PASSPHRASE")
    named = os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if named:
        if not Path(named).expanduser().is_file():
            raise MlplatError(
                f"PULUMI_CONFIG_PASSPHRASE_FILE={named} does not exist",
                hint="Point it at the file holding the stack's passphrase, or unset it.",
            )
        return Passphrase(env={}, source=f"PULUMI_CONFIG_PASSPHRASE_FILE ({named})")
    path = settings.passphrase_file
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise MlplatError(
                f"the state passphrase file {path} is readable by other users (mode {mode:o})",
                hint=f"Run `chmod 600 {path}`.",
            )
    return None


def existing_passphrase(settings: Settings) -> Passphrase:
    """The passphrase source for reading a stack that must already exist; creates nothing.

    Without one in the environment it is mlplat's file, which exists if this machine made
    the stack; if it does not, Pulumi reports that the passphrase cannot open the secrets.
    """
    path = settings.passphrase_file
    return check_passphrase(settings) or Passphrase(
        env={"PULUMI_CONFIG_PASSPHRASE_FILE": str(path)}, source=str(path)
    )


def resolve_passphrase(settings: Settings) -> Passphrase:
    """``PULUMI_CONFIG_PASSPHRASE`` > ``PULUMI_CONFIG_PASSPHRASE_FILE`` > mlplat's 0600 file.

    mlplat's file is created on first use (``created`` says so, to tell the user to back it up).

    Raises:
        MlplatError: The passphrase file named in the environment is missing, or mlplat's own
            file can be read by other users.
    """
    from_env = check_passphrase(settings)
    if from_env is not None:
        return from_env
    path = settings.passphrase_file
    created = _create_passphrase(path)
    check_passphrase(settings)  # the mode of a file created by someone else meanwhile
    return Passphrase(
        env={"PULUMI_CONFIG_PASSPHRASE_FILE": str(path)}, source=str(path), created=created
    )


def _create_passphrase(path: Path) -> Path | None:
    """Write a random passphrase to ``path`` (0600) unless it exists; return it if written."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return path


@dataclass(frozen=True, kw_only=True)
class PulumiCli:
    """A Pulumi CLI to drive.

    Attributes:
        executable: Its path.
        root: The install root (``<root>/bin/pulumi``) when it is not the one on ``PATH``,
            else ``None`` (the SDK then runs ``pulumi`` from ``PATH``, this same file).
    """

    executable: Path
    root: Path | None = None


def find_pulumi(settings: Settings) -> PulumiCli | None:
    """The Pulumi CLI to drive, or ``None``.

    Looked up in order: mlplat's own install (``mlplat doctor --install-pulumi``, which
    exists only when asked for, so it wins over an older CLI on ``PATH``), ``PATH``, then
    ``$PULUMI_HOME/bin`` (where Pulumi's installer puts it when ``PULUMI_HOME`` is set).
    """
    own = settings.pulumi_cli_root
    if _executable(own / "bin" / "pulumi"):
        return PulumiCli(executable=own / "bin" / "pulumi", root=own)
    found = shutil.which("pulumi")
    if found:
        return PulumiCli(executable=Path(found))
    home = os.environ.get("PULUMI_HOME")
    if home and _executable(Path(home).expanduser() / "bin" / "pulumi"):
        root = Path(home).expanduser()
        return PulumiCli(executable=root / "bin" / "pulumi", root=root)
    return None


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def require_pulumi(settings: Settings) -> PulumiCli:
    """The CLI, or the clear error every deploy command gives without one (exit 1)."""
    cli = find_pulumi(settings)
    if cli is None:
        raise MlplatError(
            f"the Pulumi CLI is not installed (not on PATH, nor in {settings.pulumi_cli_root})",
            hint=f"{_DOCTOR}; `mlplat doctor --install-pulumi` installs it for mlplat.",
        )
    return cli


def open_stack(
    *,
    project: str,
    stack: str,
    program: Callable[[], None],
    backend: Backend,
    passphrase: Passphrase,
    cli: PulumiCli,
    settings: Settings,
    create: bool = True,
) -> Stack:
    """Create or select ``stack`` of the inline ``program``.

    Args:
        project: Pulumi project name (``mlplat`` for the platform).
        stack: Stack name.
        program: The inline program.
        backend: Where the state is.
        passphrase: How the secrets provider gets its passphrase.
        cli: The Pulumi CLI to run.
        settings: mlplat's settings (the work directory lives under its data dir).
        create: Create the stack when missing; ``False`` raises ``StackNotFoundError``.

    Raises:
        MlplatError: The CLI cannot run or is too old.
    """
    from pulumi import automation as auto
    from semver import VersionInfo

    work_dir = workspace_dir(settings, project, backend)
    work_dir.mkdir(parents=True, exist_ok=True)
    try:
        command = auto.PulumiCommand(
            root=str(cli.root) if cli.root else None, version=VersionInfo.parse(MIN_PULUMI_CLI)
        )
    except auto.InvalidVersionError as exc:
        raise MlplatError(
            f"the Pulumi CLI at {cli.executable} cannot be used: {exc}",
            hint=f"Install Pulumi {MIN_PULUMI_CLI} or later "
            "(`mlplat doctor --install-pulumi` installs the matching version).",
        ) from None
    except (OSError, subprocess.CalledProcessError) as exc:
        raise MlplatError(
            f"the Pulumi CLI at {cli.executable} does not run: {exc}",
            hint=f"{_DOCTOR}; `mlplat doctor --install-pulumi` installs a working one.",
        ) from None
    opts = auto.LocalWorkspaceOptions(
        work_dir=str(work_dir),
        program=program,
        env_vars={
            **passphrase.env,
            "PULUMI_BACKEND_URL": backend.url,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        },
        secrets_provider="passphrase",
        project_settings=auto.ProjectSettings(
            name=project,
            runtime="python",
            main=str(work_dir),
            backend=auto.ProjectBackend(url=backend.url),
        ),
        pulumi_command=command,
    )
    # Only these variables are added to the user's environment (the SDK merges them over
    # ``os.environ``): never PULUMI_HOME or PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION.
    init = auto.create_or_select_stack if create else auto.select_stack
    return init(stack_name=stack, project_name=project, program=program, opts=opts)


@dataclass(frozen=True, kw_only=True)
class Workspace:
    """Where a command's stacks live and which CLI drives them: resolved once per command.

    Attributes:
        settings: mlplat's settings (the work directories live under its data dir).
        backend: Where the state is.
        cli: The Pulumi CLI to run.
    """

    settings: Settings
    backend: Backend
    cli: PulumiCli

    def open(
        self, *, project: str, stack: str, program: Callable[[], None], create: bool
    ) -> tuple[Stack, Path | None]:
        """Open ``stack`` of ``project`` (see `open_stack`), creating the passphrase on first use.

        Returns:
            The stack, and the passphrase file if this call created it (the user must be told
            to back it up).
        """
        passphrase = resolve_passphrase(self.settings)
        opened = open_stack(
            project=project,
            stack=stack,
            program=program,
            backend=self.backend,
            passphrase=passphrase,
            cli=self.cli,
            settings=self.settings,
            create=create,
        )
        return opened, passphrase.created

    def select(self, *, project: str, stack: str, program: Callable[[], None]) -> Stack:
        """Open an existing stack to read it, creating nothing (exit 6 when it is missing)."""
        return open_stack(
            project=project,
            stack=stack,
            program=program,
            backend=self.backend,
            passphrase=existing_passphrase(self.settings),
            cli=self.cli,
            settings=self.settings,
            create=False,
        )


def resolve_workspace(backend_url: str | None, settings: Settings) -> Workspace:
    """Resolve the backend (usage errors first), the Pulumi CLI, then check the passphrase.

    Nothing is created but the local backend's directory: the passphrase file is made when a
    stack is opened, so a refused or impossible run leaves no stray file.

    Raises:
        UsageError: A bad ``--backend``.
        MlplatError: No Pulumi CLI, or an unusable passphrase source.
    """
    backend = resolve_backend(backend_url, settings)
    cli = require_pulumi(settings)
    check_passphrase(settings)
    return Workspace(settings=settings, backend=backend, cli=cli)


def workspace_dir(settings: Settings, project: str, backend: Backend) -> Path:
    """One work directory per project and backend, so two backends never share stack config."""
    digest = hashlib.sha256(backend.url.encode()).hexdigest()[:12]
    return settings.workspaces_dir / f"{project}-{digest}"
