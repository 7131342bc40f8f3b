"""Resolve which template a command renders: the bundled one (via the cache) or the user's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlplat import __version__
from mlplat.errors import UsageError
from mlplat.resources import BUNDLED_TEMPLATE, bundled_template_dir, template_history_bundle
from mlplat.scaffold.cache import TemplateCache
from mlplat.settings import Settings

__all__ = ["ResolvedTemplate", "bundled_source", "is_bundled_source"]


@dataclass(frozen=True, kw_only=True)
class ResolvedTemplate:
    """A template source Copier can read, and the ref to read it at.

    Attributes:
        src: What Copier is given as the template (a path or URL).
        ref: The git ref to render, or None for Copier's choice (latest tag or HEAD).
        label: How to name the template to the user.
        render_from: A plain directory with exactly the content of ``src`` at ``ref``, when
            one is at hand: rendering it skips a git clone (a third of ``mlplat new``'s
            time). The project still records ``src`` and ``ref`` as its origin.
    """

    src: str
    ref: str | None
    label: str
    render_from: Path | None = None


def bundled_source(settings: Settings, vcs_ref: str | None = None) -> ResolvedTemplate:
    """Return the bundled template, committed into this machine's cache.

    Without ``vcs_ref`` the version shipped with this mlplat is used.

    Raises:
        UsageError: ``vcs_ref`` names no version in the cache (or its shipped history).
    """
    cache = TemplateCache.at(settings.template_cache_dir, BUNDLED_TEMPLATE)
    shipped = bundled_template_dir()
    tag = cache.ensure_version(shipped, __version__, template_history_bundle())
    if vcs_ref is not None and not cache.has_ref(vcs_ref):
        raise UsageError(
            f"--vcs-ref {vcs_ref}: the bundled template has no such version.",
            hint=f"Versions here: {', '.join(cache.tags())}; without --vcs-ref, "
            f"mlplat {__version__} uses {tag}.",
        )
    ref = vcs_ref or tag
    return ResolvedTemplate(
        src=str(cache.repo),
        ref=ref,
        label=f"{BUNDLED_TEMPLATE} {ref}",
        render_from=shipped if ref == tag else None,
    )


def is_bundled_source(recorded_src: str) -> bool:
    """Tell whether an answers file's ``_src_path`` names a bundled-template cache.

    The recorded path is machine-specific (it lives in the generating user's data
    directory), so it is recognised by shape, and the local cache is used instead.
    """
    path = Path(recorded_src)
    return path.name == f"{BUNDLED_TEMPLATE}.git" and path.parent.name == "template-cache"
