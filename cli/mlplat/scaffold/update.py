"""``mlplat update``: bring template improvements into a generated project.

Copier regenerates the project at its recorded template version and at the new one, and
applies the difference to the user's files. Edits that don't overlap the template's
changes survive; overlapping ones get inline conflict markers, which are reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlplat.errors import ExitCode, MlplatError, UsageError
from mlplat.scaffold import _copier
from mlplat.scaffold.git import git, is_dirty, is_work_tree
from mlplat.scaffold.new import ANSWERS_FILE
from mlplat.scaffold.removed import keep_edited_removals
from mlplat.scaffold.runtime import place_runtime_wheel
from mlplat.scaffold.source import bundled_source, is_bundled_source
from mlplat.settings import Settings, load_settings

__all__ = ["CONFLICT_MARKER", "UpdateOptions", "UpdateResult", "update_project"]

CONFLICT_MARKER = "<<<<<<< before updating"


@dataclass(frozen=True, kw_only=True)
class UpdateOptions:
    """What ``mlplat update`` was asked to do.

    Attributes:
        dest: The generated project's directory.
        vcs_ref: Template ref to update to; None for this mlplat's bundled version (or the
            latest tag of a user template).
        defaults: Use recorded answers or defaults for questions new in the template.
        data: Answers to change or to give to new questions.
        quiet: Hide Copier's per-file output.
    """

    dest: Path
    vcs_ref: str | None = None
    defaults: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)
    quiet: bool = True


@dataclass(frozen=True, kw_only=True)
class UpdateResult:
    """The outcome of an update.

    Attributes:
        dest: The project directory.
        from_version: Template version before the update.
        to_version: Template version after it.
        conflicts: Files, relative to ``dest``, left with conflict markers.
        kept_edits: Files the new template no longer has (the runtime moved out of the
            project in 0.3.0) that the owner had edited: the update removed them, and the
            owner's version is kept beside them as ``<file>.orig`` (these paths) to port.
        changed: False when the project already was at ``to_version`` and no answer was
            changed: nothing was run and no file was touched.
    """

    dest: Path
    from_version: str
    to_version: str
    conflicts: tuple[Path, ...]
    kept_edits: tuple[Path, ...] = ()
    changed: bool = True


def _recorded_answers(dest: Path) -> dict[str, Any]:
    path = dest / ANSWERS_FILE
    if not path.is_file():
        root = next((p for p in dest.parents if (p / ANSWERS_FILE).is_file()), None)
        raise UsageError(
            f"{dest} has no {ANSWERS_FILE}, so it is not a project made by mlplat new.",
            hint=f"The project is {root}: run `mlplat update {root}`."
            if root is not None
            else "Run mlplat update in a project's top directory, or pass its path.",
        )
    restore = f"Restore it from git (`git -C {dest} checkout -- {ANSWERS_FILE}`), then retry."
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise UsageError(f"{path} is not readable YAML: {error}", hint=restore) from None
    if not isinstance(loaded, dict) or "_src_path" not in loaded:
        raise UsageError(
            f"{path} does not record which template made the project (_src_path).", hint=restore
        )
    return loaded


def _check_repository(dest: Path) -> None:
    if is_work_tree(dest):
        return
    top = git("rev-parse", "--show-toplevel", cwd=dest, check=False)
    if top:
        raise UsageError(
            f"{dest} is inside the git repository {top}, not at its top; mlplat update "
            "works on a project that is its own repository.",
            hint="Generate projects as their own repositories (mlplat new does).",
        )
    raise UsageError(
        f"{dest} is not a git repository; updates need git to merge safely.",
        hint=f"Commit the project first: cd {dest} && git init && git add -A && "
        "git commit -m 'Before mlplat update'",
    )


def _check_clean(dest: Path) -> None:
    if is_dirty(dest):
        raise MlplatError(
            f"{dest} has uncommitted changes; an update could mix them with the template's.",
            hint="Commit or stash your changes (git status shows them), then retry.",
        )


def update_project(options: UpdateOptions, settings: Settings | None = None) -> UpdateResult:
    """Update a generated project in place.

    When the project already is at the target template commit and no answer changes, it
    returns ``changed=False`` at once: nothing runs, nothing is written, and a dirty tree
    does not matter.

    Raises:
        UsageError: Not a generated project, not a git work tree, or a bad answer.
        MlplatError: A dirty tree, an unknown template version, a Copier failure, or
            Ctrl-C (exit 130, saying whether files changed).
    """
    dest = options.dest.expanduser().absolute()
    if not dest.is_dir():
        raise UsageError(
            f"{dest} does not exist or is not a directory.",
            hint="Pass the directory of a project made by mlplat new (default: the current one).",
        )
    recorded = _recorded_answers(dest)
    _check_repository(dest)
    from_version = str(recorded.get("_commit", "unknown"))
    src: str | None = None
    vcs_ref = options.vcs_ref
    settings = settings or load_settings()
    if is_bundled_source(str(recorded["_src_path"])):
        bundled = bundled_source(settings, options.vcs_ref)
        src, vcs_ref = bundled.src, bundled.ref
        _require_ref(bundled.src, from_version)
    request = _copier.RenderRequest(
        src=src,
        dst=dest,
        data=options.data,
        defaults=options.defaults,
        vcs_ref=vcs_ref,
        quiet=options.quiet,
    )
    try:
        changed = _copier.update_from_template(request, before_changes=lambda: _check_clean(dest))
    except KeyboardInterrupt:
        raise _interrupted(dest) from None
    if not changed:
        return UpdateResult(
            dest=dest,
            from_version=from_version,
            to_version=from_version,
            conflicts=(),
            changed=False,
        )
    old_template = _copier.RenderRequest(
        src=src or str(recorded["_src_path"]),
        dst=dest,
        data={k: v for k, v in recorded.items() if not str(k).startswith("_")},
        defaults=True,
        vcs_ref=from_version,
        quiet=True,
    )
    kept = keep_edited_removals(dest, old_template)
    place_runtime_wheel(dest, settings)
    after = yaml.safe_load((dest / ANSWERS_FILE).read_text(encoding="utf-8")) or {}
    return UpdateResult(
        dest=dest,
        from_version=from_version,
        to_version=str(after.get("_commit", "unknown")),
        conflicts=_conflicted_files(dest),
        kept_edits=kept,
    )


def _interrupted(dest: Path) -> MlplatError:
    """Ctrl-C during an update: say whether files changed (the tree was clean before)."""
    if not is_dirty(dest):
        return MlplatError("Interrupted; nothing was changed.", exit_code=ExitCode.INTERRUPTED)
    return MlplatError(
        f"Interrupted during the update; {dest} is partly updated.",
        hint="Your commits are intact: `git stash -u` sets the partial update aside (then "
        "`git stash drop`), and mlplat update can run again.",
        exit_code=ExitCode.INTERRUPTED,
    )


def _require_ref(cache_repo: str, ref: str) -> None:
    found = git(
        "rev-parse",
        "--verify",
        "--quiet",
        f"{ref}^{{commit}}",
        git_dir=Path(cache_repo),
        check=False,
    )
    if not found:
        raise MlplatError(
            f"This project was made from template version {ref}, which neither this mlplat "
            "nor its shipped template history contains, so there is no base to merge from.",
            hint=f"Install the mlplat release that made it (pip install 'mlplat=={ref[1:]}'), "
            "run any mlplat new once to cache it, then upgrade and update.",
        )


def _conflicted_files(dest: Path) -> tuple[Path, ...]:
    changed = git("status", "--porcelain", "--untracked-files=all", cwd=dest).splitlines()
    conflicts = []
    for line in changed:
        relative = Path(line[3:].split(" -> ")[-1].strip('"'))
        path = dest / relative
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if CONFLICT_MARKER in text:
            conflicts.append(relative)
    return tuple(sorted(conflicts))
