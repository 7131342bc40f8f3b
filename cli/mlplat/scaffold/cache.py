"""A local git cache of the bundled template's versions, one tag per mlplat version.

Copier updates a project with a three-way merge: it regenerates the project from the
template version recorded in the answers file (``_commit``), diffs that against the new
version and applies the diff to the user's files. That needs every version as a git ref.
mlplat ships the template as plain files, so on first use of a version it commits them into
a bare repository under mlplat's data directory and tags the commit ``v<mlplat version>``.

Commits are made deterministic (fixed author, dates and message, no parent), so the same
template content yields the same commit on every machine. Earlier released versions come
from a git bundle shipped in the wheel (``templates/history``), which is fetched into the
cache: a teammate who installs a newer mlplat can still update a project made with an
older one, offline.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlplat.scaffold.git import git

__all__ = ["TemplateCache", "tree_of_directory"]

_COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "mlplat",
    "GIT_AUTHOR_EMAIL": "mlplat@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_NAME": "mlplat",
    "GIT_COMMITTER_EMAIL": "mlplat@localhost",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
}
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache")


@dataclass(frozen=True)
class TemplateCache:
    """The bare git repository caching one template's versions.

    Attributes:
        repo: Path of the bare repository (``<cache dir>/<template>.git``).
    """

    repo: Path

    @classmethod
    def at(cls, cache_dir: Path, template: str) -> TemplateCache:
        """Return the cache for ``template`` inside ``cache_dir``."""
        return cls(repo=cache_dir / f"{template}.git")

    def ensure_version(self, source: Path, version: str, history: Path | None = None) -> str:
        """Make sure the template in ``source`` is committed and tagged; return the tag.

        The tag is ``v<version>``; if that tag already holds different content (a
        development build edited the template without a version bump), the content gets
        the next free ``v<version>.postN`` so that Copier still sees an upgrade.

        The history's tags replace local tags of the same name: a released version is what
        the shipped history says it is. A local tag can differ only when a development build
        tagged its unreleased template with the version that was released later.
        """
        with self._locked():
            stamp = self._stamp_path(source, version, history)
            if stamp.is_file():
                return stamp.read_text().strip()
            if history is not None:
                git("fetch", "--quiet", str(history), "+refs/tags/*:refs/tags/*", git_dir=self.repo)
            tree = tree_of_directory(source, self.repo)
            tag = self._tag_for(tree, version)
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(tag + "\n")
            return tag

    def has_ref(self, ref: str) -> bool:
        """Tell whether the cache holds ``ref`` (a tag or commit)."""
        if not self.repo.exists():
            return False
        found = git(
            "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", git_dir=self.repo, check=False
        )
        return bool(found)

    def tags(self) -> list[str]:
        """List the cached version tags."""
        if not self.repo.exists():
            return []
        return git("tag", "--list", "v*", git_dir=self.repo).split()

    def _tag_for(self, tree: str, version: str) -> str:
        candidates = [f"v{version}", *(f"v{version}.post{n}" for n in range(1, 1000))]
        for tag in candidates:
            existing = git(
                "rev-parse",
                "--verify",
                "--quiet",
                f"refs/tags/{tag}^{{tree}}",
                git_dir=self.repo,
                check=False,
            )
            if existing == tree:
                return tag
            if not existing:
                self._commit_and_tag(tree, version, tag)
                return tag
        raise RuntimeError("no free tag")  # pragma: no cover - 1000 edits of one version

    def _commit_and_tag(self, tree: str, version: str, tag: str) -> None:
        message = f"ml-project template as shipped with mlplat {version}\n"
        commit = git("commit-tree", tree, git_dir=self.repo, env=_COMMIT_ENV, input_text=message)
        git("tag", tag, commit, git_dir=self.repo)
        git("update-ref", "refs/heads/main", commit, git_dir=self.repo)

    def _stamp_path(self, source: Path, version: str, history: Path | None) -> Path:
        digest = hashlib.sha256(version.encode())
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            stat = path.stat()
            digest.update(
                f"{path.relative_to(source)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode()
            )
        if history is not None:
            stat = history.stat()
            digest.update(f"history\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
        return self.repo / "mlplat-stamps" / digest.hexdigest()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.repo.parent.mkdir(parents=True, exist_ok=True)
        with open(self.repo.parent / f"{self.repo.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not (self.repo / "HEAD").exists():
                    git("init", "--quiet", "--bare", "--initial-branch=main", str(self.repo))
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def tree_of_directory(source: Path, repo: Path) -> str:
    """Write the files under ``source`` into ``repo`` as a git tree and return its id.

    The files are copied first (minus caches) and added with ``-f``, so that a
    ``.gitignore`` inside the template, which is meant for generated projects, cannot hide
    template files.
    """
    with tempfile.TemporaryDirectory(prefix="mlplat-tree-") as tmp:
        work = Path(tmp) / "tree"
        shutil.copytree(source, work, ignore=_IGNORED, symlinks=True)
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(
            "--work-tree",
            str(work),
            "add",
            "--all",
            "--force",
            ".",
            git_dir=repo,
            env=env,
            cwd=work,
        )
        return git("write-tree", git_dir=repo, env=env)
