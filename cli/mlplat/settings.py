"""Where mlplat keeps its own state, resolved once: env var > platform default.

The template cache (see ``mlplat.scaffold.cache``) and, later, the Pulumi state live under
one data directory so that ``MLPLAT_HOME`` can move all of it (tests, CI, shared machines).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "load_settings"]


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Resolved mlplat settings.

    Attributes:
        data_dir: Root of mlplat's per-user state.
    """

    data_dir: Path

    @property
    def template_cache_dir(self) -> Path:
        """Directory holding one bare git repository per bundled template."""
        return self.data_dir / "template-cache"


def load_settings() -> Settings:
    """Resolve settings: ``MLPLAT_HOME`` if set, else the platform's user data directory."""
    home = os.environ.get("MLPLAT_HOME")
    if home:
        return Settings(data_dir=Path(home).expanduser())
    from platformdirs import user_data_path

    return Settings(data_dir=user_data_path("mlplat", appauthor=False))
