"""``mlplat new``: render a template into a new directory, atomically, then commit it."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlplat import __version__
from mlplat.errors import ExitCode, MlplatError, UsageError
from mlplat.scaffold import _copier
from mlplat.scaffold.answers import PROJECT_NAME, project_name_from
from mlplat.scaffold.git import commit_all, git, git_available
from mlplat.scaffold.runtime import place_runtime_wheel
from mlplat.scaffold.source import ResolvedTemplate, bundled_source
from mlplat.settings import Settings, load_settings

__all__ = ["NewOptions", "NewResult", "new_project"]

ANSWERS_FILE = ".copier-answers.yml"
# A template given as a URL or scp-like git address ("gh:org/repo", "git@host:repo"), not
# as a local path: a scheme, or a colon before the first slash (git's own rule).
_REMOTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[^/]+:")


@dataclass(frozen=True, kw_only=True)
class NewOptions:
    """What ``mlplat new`` was asked to do.

    Attributes:
        dest: Directory to create; must be missing or empty. Its name is the default
            project name.
        template: A template path or git URL; None for the bundled ``ml-project``.
        vcs_ref: Git ref (tag, branch, commit) of the template to render.
        defaults: Use defaults for every question not answered in ``data``.
        data: Answers, already merged from ``--config`` and ``--data``.
        git_init: Run ``git init`` and make a first commit.
        quiet: Hide Copier's per-file output.
    """

    dest: Path
    template: str | None = None
    vcs_ref: str | None = None
    defaults: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)
    git_init: bool = True
    quiet: bool = True


@dataclass(frozen=True, kw_only=True)
class NewResult:
    """What was created.

    Attributes:
        dest: The new project's directory.
        template: Which template and version rendered it.
        answers: The answers recorded in the project's answers file.
        committed: Whether a first git commit was made.
    """

    dest: Path
    template: str
    answers: Mapping[str, Any]
    committed: bool


def _check_destination(dest: Path) -> None:
    blocker = next((p for p in (dest, *dest.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        problem = (
            "exists and is not a directory"
            if blocker == dest
            else f"cannot be created: {blocker} is a file"
        )
        raise UsageError(
            f"{dest} {problem}; mlplat new needs a new or empty directory.",
            hint="Choose another DEST.",
        )
    if dest.is_dir() and any(dest.iterdir()):
        raise UsageError(
            f"{dest} is not empty; mlplat new never writes into existing files.",
            hint="Choose a new directory, or use `mlplat update` inside an existing project.",
        )
    if not os.access(blocker or Path("/"), os.W_OK):
        raise UsageError(f"{blocker} is not writable, so {dest} cannot be created there.")


def _resolve(options: NewOptions, settings: Settings) -> ResolvedTemplate:
    if options.template is None:
        return bundled_source(settings, options.vcs_ref)
    src = options.template
    local = Path(src).expanduser()
    if local.exists():
        if not any((local / name).is_file() for name in ("copier.yml", "copier.yaml")):
            raise UsageError(
                f"--template {options.template} is not a Copier template (no copier.yml).",
                hint="Point --template at a directory or git repository holding copier.yml.",
            )
        src = str(local.resolve())
    elif not _REMOTE.match(src):
        raise UsageError(
            f"--template {options.template}: no such directory.",
            hint="Pass a template directory, or a git URL (https://..., git@host:repo, "
            "gh:owner/repo).",
        )
    return ResolvedTemplate(src=src, ref=options.vcs_ref, label=options.template)


def new_project(options: NewOptions, settings: Settings | None = None) -> NewResult:
    """Create a project from a template.

    The template is rendered into a hidden sibling directory, which becomes ``dest`` only
    when rendering succeeded: a bad answer, an error or Ctrl-C leaves nothing behind.

    Raises:
        UsageError: ``dest`` is unusable, an answer is invalid or unknown (including a
            project name derived from ``dest``), git is missing.
        MlplatError: The template could not be read or rendered; or Ctrl-C (exit 130).
    """
    dest = options.dest.expanduser().absolute()
    _check_destination(dest)
    if options.git_init and not git_available():
        raise UsageError(
            "git is not installed, so the new project cannot be committed.",
            hint="Install git, or pass --no-git.",
        )
    settings = settings or load_settings()
    template = _resolve(options, settings)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.mlplat-", dir=dest.parent))
    try:
        staging.chmod(0o777 & ~_umask())
        _render(options, template, dest, staging)
        place_runtime_wheel(staging, settings)
    except KeyboardInterrupt:
        shutil.rmtree(staging, ignore_errors=True)
        raise MlplatError(
            "Interrupted; nothing was created.", exit_code=ExitCode.INTERRUPTED
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        with _interrupt_deferred():
            _install(staging, dest)
        answers = _read_answers(dest)
        if options.git_init:
            _commit(dest, answers, template)
    except KeyboardInterrupt:
        if not options.git_init:
            raise MlplatError(
                f"Interrupted; {dest} was created in full.", exit_code=ExitCode.INTERRUPTED
            ) from None
        raise MlplatError(
            f"Interrupted after {dest} was created, before its first commit.",
            hint=f"Commit it yourself (git -C {dest} init, then add -A and commit), or "
            "delete it and run mlplat new again.",
            exit_code=ExitCode.INTERRUPTED,
        ) from None
    return NewResult(
        dest=dest, template=template.label, answers=answers, committed=options.git_init
    )


def _render(options: NewOptions, template: ResolvedTemplate, dest: Path, staging: Path) -> None:
    request = _copier.RenderRequest(
        src=str(template.render_from or template.src),
        dst=staging,
        data=options.data,
        defaults=options.defaults,
        vcs_ref=None if template.render_from else template.ref,
        quiet=options.quiet,
        suggested={PROJECT_NAME: project_name_from(dest.name)},
    )
    try:
        _copier.copy_template(request)
    except _copier.AnswerError as error:
        if error.question != PROJECT_NAME or PROJECT_NAME in options.data:
            raise
        reason = error.message.partition(": ")[2] or error.message
        raise UsageError(
            f"The project is named after DEST, but {dest.name!r} is not a valid name: {reason}",
            hint=f"Pass --data {PROJECT_NAME}=NAME, or choose another DEST.",
        ) from None
    if template.render_from is not None:
        _record_origin(staging / ANSWERS_FILE, template)


def _install(staging: Path, dest: Path) -> None:
    """Make the rendered ``staging`` directory the project at ``dest``.

    A missing ``dest`` is a rename. An existing (empty) ``dest`` keeps its inode, so a shell
    sitting in it (``mkdir p && cd p && mlplat new .``) sees the project: the entries are
    moved into it, and moved back if that fails part way.
    """
    if not dest.is_dir():
        os.rename(staging, dest)
        return
    moved: list[Path] = []
    try:
        for entry in sorted(staging.iterdir()):
            os.rename(entry, dest / entry.name)
            moved.append(dest / entry.name)
    except BaseException:
        for path in moved:
            os.rename(path, staging / path.name)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staging.rmdir()


@contextlib.contextmanager
def _interrupt_deferred() -> Iterator[None]:
    """Hold Ctrl-C for the few renames that make the project appear, then re-raise it."""
    caught: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    except ValueError:  # not the main thread: signals cannot be handled here anyway
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _commit(dest: Path, answers: Mapping[str, Any], template: ResolvedTemplate) -> None:
    git("init", "--quiet", "--initial-branch=main", cwd=dest)
    identity = (
        str(answers.get("author_name") or "mlplat"),
        str(answers.get("author_email") or "mlplat@localhost"),
    )
    commit_all(
        dest, f"Initial commit from mlplat {__version__} ({template.label})", identity=identity
    )


def _record_origin(answers_file: Path, template: ResolvedTemplate) -> None:
    """Point the answers file at the cached git version that was rendered.

    Only used when the rendered directory is, by construction of the cache, the same tree
    as ``template.src`` at ``template.ref``; later updates then merge from that tag.
    """
    text = answers_file.read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    answers = yaml.safe_load(text) or {}
    answers["_src_path"] = template.src
    answers["_commit"] = template.ref
    body = yaml.safe_dump(answers, sort_keys=True, default_flow_style=False, allow_unicode=True)
    answers_file.write_text(header + body, encoding="utf-8")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _read_answers(dest: Path) -> dict[str, Any]:
    path = dest / ANSWERS_FILE
    if not path.is_file():
        return {}
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}
