"""The Pulumi program for those who prefer the Pulumi CLI (``pulumi up`` in this folder).

It only wires configuration into `mlplat_platform.build_platform`, the same function that
``mlplat up`` and ``mlplat render`` run. The project is named ``mlplat``, so its own keys
(declared in Pulumi.yaml) are ``mlplat:profile`` (dev or prod; empty keeps the config file's
``profile``) and ``mlplat:config_file`` (a platform config YAML), next to the secrets
``mlplat:db_password``, ``mlplat:s3_access_key_id``, ``mlplat:s3_secret_access_key`` and
``mlplat:oidc_client_secret`` when the config uses external services or OIDC.
``MLPLAT_CHART_MIRROR`` (a directory of chart archives) overrides the file's ``chart_mirror``
here as it does for ``mlplat up``.
"""

from __future__ import annotations

import pathlib

import pulumi

from mlplat_platform import PlatformSecrets, build_platform, load_config_file

_settings = pulumi.Config("mlplat")
_file = _settings.get("config_file") or ""
build_platform(
    load_config_file(
        pathlib.Path(_file) if _file else None, profile=_settings.get("profile") or None
    ),
    PlatformSecrets.from_pulumi_config(),
)
