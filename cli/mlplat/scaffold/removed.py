"""Files an update removes that the owner had edited: kept beside their old place, and reported.

Why: Copier's update deletes a file the new template no longer has, edited or not. From 0.3.0 the
runtime (model server, compile step, contract engine) left the project for the ``mlplat-runtime``
package, so a 0.2.x project loses about forty such files on update; an owner's change to one of
them must not vanish. Each removed file is compared with what the old template rendered: an
untouched one just goes, an edited one is written back as ``<file>.orig`` (not importable, so the
project still runs) and listed, for the owner to port the change or drop it.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

from mlplat.scaffold import _copier
from mlplat.scaffold.git import git

__all__ = ["ORIG_SUFFIX", "keep_edited_removals"]

ORIG_SUFFIX = ".orig"


def _removed_by_update(dest: Path) -> list[Path]:
    """Tracked files the update deleted from the work tree (``git status``: `` D``)."""
    status = git("status", "--porcelain", "--untracked-files=no", cwd=dest).splitlines()
    return [Path(line[3:].strip('"')) for line in status if line[:2] == " D"]


def _committed(dest: Path, relative: Path) -> bytes:
    """The file's bytes at ``HEAD`` (git's text output would lose trailing whitespace)."""
    return subprocess.run(
        ["git", "show", f"HEAD:{relative.as_posix()}"], cwd=dest, capture_output=True, check=True
    ).stdout


def keep_edited_removals(dest: Path, old_template: _copier.RenderRequest) -> tuple[Path, ...]:
    """Write back, as ``<file>.orig``, each removed file whose committed text the owner changed.

    Args:
        dest: The project, just updated (its ``HEAD`` is the state before the update).
        old_template: How to render the template version the project was at (its ``dst`` is
            replaced by a temporary directory).

    Returns:
        The ``.orig`` files written, relative to ``dest``.
    """
    removed = _removed_by_update(dest)
    if not removed:
        return ()
    with tempfile.TemporaryDirectory(prefix="mlplat-old-template-") as tmp:
        rendered = Path(tmp) / "project"
        _copier.copy_template(replace(old_template, dst=rendered))
        kept = []
        for relative in removed:
            committed = _committed(dest, relative)
            original = rendered / relative
            if original.is_file() and original.read_bytes() == committed:
                continue
            target = dest / relative.with_name(relative.name + ORIG_SUFFIX)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(committed)
            kept.append(target.relative_to(dest))
    return tuple(kept)
