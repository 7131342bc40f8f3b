"""Where mlplat keeps its own state, resolved once: env var > platform default.

The template cache (see ``mlplat.scaffold.cache``) and the Pulumi state, passphrase, work
directories and (with ``mlplat doctor --install-pulumi``) the Pulumi CLI live under one data
directory so that ``MLPLAT_HOME`` can move all of it (tests, CI, shared machines).
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

    @property
    def pulumi_dir(self) -> Path:
        """Everything mlplat keeps for Pulumi: state, passphrase, work dirs, the CLI."""
        return self.data_dir / "pulumi"

    @property
    def state_dir(self) -> Path:
        """The default (local file) backend's state: ``file://<state_dir>``."""
        return self.pulumi_dir / "state"

    @property
    def passphrase_file(self) -> Path:
        """The generated state passphrase (mode 0600), when none is given in the environment."""
        return self.pulumi_dir / "passphrase"

    @property
    def workspaces_dir(self) -> Path:
        """Work directories of the inline programs (Pulumi.yaml and the stacks' config)."""
        return self.pulumi_dir / "workspaces"

    @property
    def pulumi_cli_root(self) -> Path:
        """Where ``mlplat doctor --install-pulumi`` installs the CLI (``<root>/bin/pulumi``)."""
        return self.pulumi_dir / "cli"


def load_settings() -> Settings:
    """Resolve settings: ``MLPLAT_HOME`` if set, else the platform's user data directory."""
    home = os.environ.get("MLPLAT_HOME")
    if home:
        return Settings(data_dir=Path(home).expanduser())
    from platformdirs import user_data_path

    return Settings(data_dir=user_data_path("mlplat", appauthor=False))
