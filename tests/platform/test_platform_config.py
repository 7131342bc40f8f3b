"""The typed platform config: profiles, overrides, and errors that name the key."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from mlplat_platform import ConfigError, load_config


def test_defaults_are_the_dev_profile_with_nothing_exposed() -> None:
    cfg = load_config(None)
    assert cfg.profile == "dev"
    assert cfg.domain is None and not cfg.exposed
    assert cfg.sizing.replicas == 1 and cfg.sizing.database_instances == 1
    components = dataclasses.asdict(cfg.components)
    assert components.pop("feature_store") is False, "the feature store is off in dev"
    assert all(components.values())


def test_prod_profile_scales_out_and_adds_disruption_budgets() -> None:
    cfg = load_config({"profile": "prod"})
    assert cfg.sizing.replicas == 2 and cfg.sizing.database_instances == 3
    assert cfg.sizing.disruption_budgets


def test_profile_argument_overrides_the_file() -> None:
    assert load_config({"profile": "prod"}, profile="dev").profile == "dev"


def test_sizing_overrides_one_field_and_keeps_the_profile_rest() -> None:
    cfg = load_config({"sizing": {"database_size": "50Gi"}}, profile="prod")
    assert cfg.sizing.database_size == "50Gi"
    assert cfg.sizing.replicas == 2


def test_external_services_parse() -> None:
    cfg = load_config(
        {
            "object_store": {"external": {"endpoint": "https://s3.example.com", "bucket": "ml"}},
            "database": {"external": {"host": "db.example.com", "port": 6432}},
            "components": {"object_store": False, "database": False},
        }
    )
    assert cfg.object_store_external is not None and cfg.object_store_external.bucket == "ml"
    assert cfg.database_external is not None and cfg.database_external.port == 6432


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"domian": "x.example.com"}, "domian"),
        ({"components": {"registy": False}}, "components.registy"),
        ({"components": {"registry": "no"}}, "components.registry"),
        ({"sizing": {"replicas": 0}}, "sizing.replicas"),
        ({"sizing": {"replicas": True}}, "sizing.replicas"),
        ({"sizing": {"mlflow_memory": "lots"}}, "sizing.mlflow_memory"),
        ({"domain": "Not A Domain"}, "domain"),
        ({"storage_class": "Fast_SSD"}, "storage_class"),
        ({"gateway_service_type": "Ingress"}, "gateway_service_type"),
        ({"database": {"external": {"port": 5432}}}, "database.external.host"),
        ({"database": {"external": {"host": "h", "port": 70000}}}, "database.external.port"),
        ({"database": {"externl": {}}}, "database.externl"),
        (
            {"object_store": {"external": {"endpoint": "s3.example.com", "bucket": "b"}}},
            "object_store.external.endpoint",
        ),
        ({"oidc": {"issuer": "https://id.example.com", "client_id": "x"}}, "oidc"),
        (
            {
                "oidc": {"issuer": "http://id.example.com", "client_id": "x"},
                "domain": "a.example.com",
            },
            "oidc.issuer",
        ),
        ({"components": {"database": False}}, "components.registry"),
        ({"components": {"object_store": False}}, "components.registry"),
        ({"components": {"cert_manager": False}}, "components.serving"),
        (
            {"components": {"cert_manager": False, "serving": False}, "domain": "a.example.com"},
            "components.gateway",
        ),
        ({"profile": "staging"}, "profile"),
    ],
)
def test_invalid_config_names_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(data)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")


def test_non_mapping_is_rejected() -> None:
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(["domain"])  # type: ignore[arg-type]


def test_config_is_frozen() -> None:
    cfg = load_config(None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.domain = "x.example.com"  # type: ignore[misc]


def test_config_import_does_not_load_pulumi():
    import subprocess
    import sys

    code = "import sys, mlplat_platform.config, mlplat_platform; print('pulumi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_load_config_file_names_the_file_for_every_failure(tmp_path):
    from mlplat_platform.config import load_config_file

    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError) as info:
        load_config_file(missing)
    assert info.value.source == missing and "cannot be read" in info.value.problem

    broken = tmp_path / "broken.yaml"
    broken.write_text("domain: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config_file(broken)
    assert info.value.source == broken and "not valid YAML" in info.value.problem

    typo = tmp_path / "typo.yaml"
    typo.write_text("domian: ml.example.com\n")
    with pytest.raises(ConfigError) as info:
        load_config_file(typo)
    assert info.value.source == typo and info.value.key == "domian"

    good = tmp_path / "good.yaml"
    good.write_text("profile: prod\ndomain: ml.example.com\n")
    assert load_config_file(good).profile == "prod"
    assert load_config_file(good, profile="dev").profile == "dev"
    assert load_config_file(None).profile == "dev"


def test_the_feature_store_is_on_in_prod_and_a_config_can_switch_it() -> None:
    assert load_config({"profile": "prod"}).components.feature_store is True
    assert load_config(None).components.feature_store is False
    on_in_dev = load_config({"components": {"feature_store": True}})
    assert on_in_dev.components.feature_store and on_in_dev.components.registry
    off_in_prod = load_config({"components": {"feature_store": False}}, profile="prod")
    assert off_in_prod.components.feature_store is False


def test_reference_says_where_secrets_come_from_as_the_readme_does() -> None:
    """`mlplat up` reads MLPLAT_<NAME> (README) and stores it as the stack secret mlplat:<name>."""
    from mlplat.platform_config import reference
    from mlplat_platform import SECRET_NAMES, secret_env_name

    text = reference()
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for name in SECRET_NAMES:
        env = secret_env_name(name)
        assert env in readme, env
        assert re.search(rf"^#  - {env}\s+mlplat:{name}$", text, re.M), name
    assert "`mlplat up` reads each from its environment variable" in text


def test_reference_documents_the_chart_mirror_and_its_archives() -> None:
    from mlplat.platform_config import reference
    from mlplat_platform import versions

    text = reference()
    assert "chart_mirror: null" in text and "MLPLAT_CHART_MIRROR" in text
    for pin in versions.ALL_CHARTS:
        assert f"#  - {pin.archive} " in text, pin.name
