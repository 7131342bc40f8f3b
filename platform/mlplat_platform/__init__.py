"""mlplat's reference Kubernetes platform as Pulumi components.

Public API: `load_config_file` (and `load_config` for an already parsed mapping) resolve a
`PlatformConfig`; `build_platform` creates the components it selects. ``platform/__main__.py``,
``mlplat up`` and ``mlplat render`` all run `build_platform`, so they deploy the same platform.

Importing this package (or ``mlplat_platform.config``) does not import Pulumi: the CLI reads
and validates configs without paying for it. `build_platform` and `PlatformSecrets` load the
program module on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlplat_platform.config import (
    CHART_MIRROR_ENV,
    SECRET_NAMES,
    ConfigError,
    PlatformConfig,
    load_config,
    load_config_file,
    secret_env_name,
)

if TYPE_CHECKING:
    from mlplat_platform.program import PlatformSecrets, build_platform

_LAZY = {"PlatformSecrets", "build_platform"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from mlplat_platform import program

        return getattr(program, name)
    raise AttributeError(f"module 'mlplat_platform' has no attribute {name!r}")


__all__ = [
    "CHART_MIRROR_ENV",
    "SECRET_NAMES",
    "ConfigError",
    "PlatformConfig",
    "PlatformSecrets",
    "build_platform",
    "load_config",
    "load_config_file",
    "secret_env_name",
]
