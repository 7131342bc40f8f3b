"""Record a released template version into the history bundle shipped in the wheel.

Run at release time (``python -m mlplat.scaffold.history``). The bundle accumulates one
deterministic tagged commit per mlplat release, so any installation can rebuild the exact
template a project was generated from and three-way merge an update offline. The release's
``mlplat-runtime`` wheel goes beside it (``templates/history/runtime/``): projects of that release
pin it by hash, and a later mlplat must still be able to put it into their ``wheels/``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from mlplat import __version__
from mlplat.resources import bundled_template_dir
from mlplat.scaffold.cache import TemplateCache
from mlplat.scaffold.git import git
from mlplat.scaffold.runtime import runtime_wheel
from mlplat.settings import load_settings

__all__ = ["record_release"]


def record_release(template_dir: Path, version: str, bundle: Path) -> str:
    """Add ``template_dir`` as version ``version`` to ``bundle`` (created if missing).

    Returns:
        The tag that now holds this version.
    """
    with tempfile.TemporaryDirectory(prefix="mlplat-history-") as tmp:
        cache = TemplateCache.at(Path(tmp), "ml-project")
        history = bundle if bundle.is_file() else None
        tag = cache.ensure_version(template_dir, version, history)
        bundle.parent.mkdir(parents=True, exist_ok=True)
        git("bundle", "create", "--quiet", str(bundle), "--tags", git_dir=cache.repo)
        return tag


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: record this checkout's template as this mlplat version."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", default=__version__)
    parser.add_argument("--bundle", type=Path, default=Path("templates/history/ml-project.bundle"))
    args = parser.parse_args(argv)
    tag = record_release(bundled_template_dir(), args.version, args.bundle)
    print(f"recorded {tag} in {args.bundle}")
    if args.version == __version__:
        wheel = runtime_wheel(load_settings())
        kept = args.bundle.parent / "runtime" / wheel.name
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(wheel, kept)
        print(f"kept {kept}")


if __name__ == "__main__":
    main()
