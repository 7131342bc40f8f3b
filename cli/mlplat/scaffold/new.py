"""``mlplat new``: render a template into a new directory, atomically, then commit it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlplat import __version__
from mlplat.errors import UsageError
from mlplat.scaffold import _copier
from mlplat.scaffold.git import commit_all, git, git_available
from mlplat.scaffold.source import ResolvedTemplate, bundled_source
from mlplat.settings import Settings, load_settings

__all__ = ["NewOptions", "NewResult", "new_project"]

ANSWERS_FILE = ".copier-answers.yml"


@dataclass(frozen=True, kw_only=True)
class NewOptions:
    """What ``mlplat new`` was asked to do.

    Attributes:
        dest: Directory to create; must be missing or empty.
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
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a directory.", hint="Choose another DEST.")
    if dest.is_dir() and any(dest.iterdir()):
        raise UsageError(
            f"{dest} is not empty; mlplat new never writes into existing files.",
            hint="Choose a new directory, or use `mlplat update` inside an existing project.",
        )


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
    return ResolvedTemplate(src=src, ref=options.vcs_ref, label=options.template)


def new_project(options: NewOptions, settings: Settings | None = None) -> NewResult:
    """Create a project from a template.

    The template is rendered into a hidden sibling directory, which is renamed to ``dest``
    only when rendering succeeded: a bad answer, an error or Ctrl-C leaves nothing behind.

    Raises:
        UsageError: ``dest`` is not empty, an answer is invalid or unknown, git is missing.
        MlplatError: The template could not be read or rendered.
    """
    dest = options.dest.expanduser().absolute()
    _check_destination(dest)
    if options.git_init and not git_available():
        raise UsageError(
            "git is not installed, so the new project cannot be committed.",
            hint="Install git, or pass --no-git.",
        )
    template = _resolve(options, settings or load_settings())
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.mlplat-", dir=dest.parent))
    try:
        staging.chmod(0o777 & ~_umask())
        request = _copier.RenderRequest(
            src=str(template.render_from or template.src),
            dst=staging,
            data=options.data,
            defaults=options.defaults,
            vcs_ref=None if template.render_from else template.ref,
            quiet=options.quiet,
        )
        _copier.copy_template(request)
        if template.render_from is not None:
            _record_origin(staging / ANSWERS_FILE, template)
        if dest.is_dir():
            dest.rmdir()
        os.rename(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    answers = _read_answers(dest)
    if options.git_init:
        git("init", "--quiet", "--initial-branch=main", cwd=dest)
        identity = (
            str(answers.get("author_name") or "mlplat"),
            str(answers.get("author_email") or "mlplat@localhost"),
        )
        commit_all(
            dest, f"Initial commit from mlplat {__version__} ({template.label})", identity=identity
        )
    return NewResult(
        dest=dest, template=template.label, answers=answers, committed=options.git_init
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
