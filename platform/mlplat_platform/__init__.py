"""mlplat's reference Kubernetes platform as Pulumi components.

Public API: `load_config` turns a YAML mapping and a profile into a `PlatformConfig`;
`build_platform` creates the components it selects. ``platform/__main__.py``, ``mlplat up``
and ``mlplat render`` all run `build_platform`, so they deploy the same platform.
"""

from mlplat_platform.config import ConfigError, PlatformConfig, load_config
from mlplat_platform.program import PlatformSecrets, build_platform

__all__ = ["ConfigError", "PlatformConfig", "PlatformSecrets", "build_platform", "load_config"]
