"""The Pulumi program for those who prefer the Pulumi CLI (``pulumi up`` in this folder).

It only wires configuration into `mlplat_platform.build_platform`, the same function that
``mlplat up`` and ``mlplat render`` run. The project is named ``mlplat``, so its own keys
(declared in Pulumi.yaml) are ``mlplat:profile`` (dev or prod; empty keeps the config file's
``profile``) and ``mlplat:config_file`` (a platform config YAML), next to the secrets
``mlplat:db_password``, ``mlplat:s3_access_key_id``, ``mlplat:s3_secret_access_key`` and
``mlplat:oidc_client_secret`` when the config uses external services or OIDC.
"""

from __future__ import annotations

import pathlib

import pulumi
import yaml

from mlplat_platform import PlatformSecrets, build_platform, load_config

_settings = pulumi.Config("mlplat")
_file = _settings.get("config_file") or ""
_data = yaml.safe_load(pathlib.Path(_file).read_text(encoding="utf-8")) if _file else None
build_platform(
    load_config(_data, profile=_settings.get("profile") or None),  # type: ignore[arg-type]
    PlatformSecrets.from_pulumi_config(),
)
