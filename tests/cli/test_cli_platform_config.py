"""The CLI's platform config: one loader, one error translation, a reference that can't drift."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlplat._cli import app
from mlplat.errors import UsageError
from mlplat.platform_config import load_platform_config, reference
from mlplat_platform import SECRET_NAMES, config, load_config

runner = CliRunner()


def test_loader_resolves_file_and_profile(tmp_path: Path) -> None:
    path = tmp_path / "platform.yaml"
    path.write_text("profile: dev\ndomain: ml.example.com\n", encoding="utf-8")
    loaded = load_platform_config(path, "prod")
    assert loaded == load_config({"domain": "ml.example.com"}, profile="prod")
    assert load_platform_config(None, None) == load_config({})


@pytest.mark.parametrize(
    ("content", "profile", "message", "hint"),
    [
        (None, "staging", "--profile must be one of dev, prod, got 'staging'", None),
        (
            "profile: staging\n",
            None,
            "invalid platform config in {path}: profile: must be one of dev, prod, got 'staging'",
            "`mlplat docs platform-config` lists every key with its default and what it does.",
        ),
        (
            "domian: x\n",
            None,
            "invalid platform config in {path}: domian: unknown key; known keys: ",
            "`mlplat docs platform-config` lists every key with its default and what it does.",
        ),
        (
            "domain: [unclosed\n",
            None,
            "config file {path} is not valid YAML",
            "Pass a readable YAML file with --config; `mlplat docs platform-config` prints a "
            "valid one.",
        ),
    ],
)
def test_every_config_error_becomes_one_usage_error(
    tmp_path: Path, content: str | None, profile: str | None, message: str, hint: str | None
) -> None:
    path = tmp_path / "platform.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        load_platform_config(path if content is not None else None, profile)
    assert caught.value.message.startswith(message.format(path=path))
    assert caught.value.hint == hint
    assert caught.value.exit_code == 2


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"config file .*nope\.yaml cannot be read"):
        load_platform_config(tmp_path / "nope.yaml", None)


def test_importing_the_loader_imports_neither_pulumi_nor_yaml() -> None:
    code = (
        "import sys, mlplat.platform_config\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'yaml')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the reference ---------------------------------------------------------------------------


def test_reference_is_a_valid_config_holding_the_dev_defaults() -> None:
    assert load_config(yaml.safe_load(reference())) == load_config({}, profile="dev")


def _sections() -> list[type]:
    return [
        config.PlatformConfig,
        config.Components,
        config.Sizing,
        config.ExternalS3,
        config.ExternalDatabase,
        config.Oidc,
    ]


def test_reference_names_every_field_of_every_section() -> None:
    text = reference()
    keys = set(re.findall(r"^[#\s]*(\w+):", text, flags=re.MULTILINE))
    for cls in _sections():
        for field in dataclasses.fields(cls):
            name = field.name.removesuffix("_external")
            assert name in keys, f"{cls.__name__}.{field.name} is missing from the reference"
    for name in SECRET_NAMES:
        assert f" mlplat:{name}\n" in text


def test_reference_shows_prod_defaults_where_they_differ() -> None:
    prod = load_config({}, profile="prod").sizing
    text = reference()
    for field in dataclasses.fields(config.Sizing):
        dev_value = getattr(load_config({}).sizing, field.name)
        prod_value = getattr(prod, field.name)
        line = next(x for x in text.splitlines() if x.strip().startswith(f"{field.name}:"))
        if dev_value != prod_value:
            assert f"prod: {str(prod_value).lower()}" in line.lower(), line


def test_commented_sections_are_real_keys_once_uncommented() -> None:
    """Uncomment the optional sections and fill the placeholders: the loader accepts it."""
    lines = []
    for line in reference().splitlines():
        if re.match(r"^# (object_store|database|oidc):$", line):
            lines.append(line[2:])
        elif line.startswith("#   ") and ":" in line:
            lines.append(line[2:])
        else:
            lines.append(line)
    text = "\n".join(lines)
    placeholders = {
        "endpoint: <string>": "endpoint: https://s3.example.com",
        "bucket: <string>": "bucket: ml",
        "host: <string>": "host: pg.example.com",
        "issuer: <string>": "issuer: https://id.example.com",
        "client_id: <string>": "client_id: mlplat",
    }
    for placeholder, value in placeholders.items():
        assert placeholder in text
        text = text.replace(placeholder, value)
    data = yaml.safe_load(text)
    data.update(domain="ml.example.com")
    data["components"].update(object_store=False, database=False)
    loaded = load_config(data)
    assert loaded.object_store_external == config.ExternalS3(
        endpoint="https://s3.example.com", bucket="ml"
    )
    assert loaded.database_external == config.ExternalDatabase(host="pg.example.com")
    assert loaded.oidc == config.Oidc(issuer="https://id.example.com", client_id="mlplat")


def test_docs_command_prints_the_reference() -> None:
    result = runner.invoke(app, ["docs", "platform-config"])
    assert result.exit_code == 0
    assert result.stdout == reference()
    assert max(len(line) for line in result.stdout.splitlines()) <= 100
