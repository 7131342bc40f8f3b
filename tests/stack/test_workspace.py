"""Backend, passphrase and CLI resolution, and the exact arguments given to the SDK."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pulumi import automation as auto

from mlplat.errors import ExitCode, MlplatError, UsageError
from mlplat.settings import load_settings
from mlplat.stack.workspace import (
    Backend,
    Passphrase,
    PulumiCli,
    find_pulumi,
    open_stack,
    require_pulumi,
    resolve_backend,
    resolve_passphrase,
    workspace_dir,
)
from tests.stack.conftest import Opened


def test_default_backend_is_a_file_backend_in_the_data_dir(isolated_env: Path) -> None:
    backend = resolve_backend(None, load_settings())
    assert backend == Backend(url=(isolated_env / "pulumi" / "state").as_uri(), local=True)
    assert (isolated_env / "pulumi" / "state").is_dir()


def test_backend_flag_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPLAT_BACKEND", "gs://from-env")
    assert resolve_backend(None, load_settings()).url == "gs://from-env"
    assert resolve_backend("s3://team-state?region=eu-west-1", load_settings()).url == (
        "s3://team-state?region=eu-west-1"
    )
    assert resolve_backend("azblob://state", load_settings()).url == "azblob://state"


def test_relative_file_backend_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    backend = resolve_backend("file://state", load_settings())
    assert backend.url == (tmp_path / "state").as_uri()
    assert (tmp_path / "state").is_dir()


@pytest.mark.parametrize("url", ["http://state", "pulumi.com", "file://"])
def test_bad_backend_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError) as info:
        resolve_backend(url, load_settings())
    assert info.value.exit_code == ExitCode.USAGE


def test_passphrase_file_is_created_once_with_mode_600(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    first = resolve_passphrase(load_settings())
    path = isolated_env / "pulumi" / "passphrase"
    assert first == Passphrase(
        env={"PULUMI_CONFIG_PASSPHRASE_FILE": str(path)}, source=str(path), created=path
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_text()
    assert len(content.strip()) >= 40
    second = resolve_passphrase(load_settings())
    assert second.created is None and path.read_text() == content


def test_passphrase_from_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_env: Path
) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    assert resolve_passphrase(load_settings()) == Passphrase(
        env={}, source="PULUMI_CONFIG_PASSPHRASE"
    )
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    named = tmp_path / "pp"
    named.write_text("secret\n")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", str(named))
    assert resolve_passphrase(load_settings()).env == {}
    assert not (isolated_env / "pulumi" / "passphrase").exists()


def test_missing_passphrase_file_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "/nonexistent/pp")
    with pytest.raises(MlplatError, match="PULUMI_CONFIG_PASSPHRASE_FILE=/nonexistent/pp"):
        resolve_passphrase(load_settings())


def test_world_readable_passphrase_is_refused(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    resolve_passphrase(load_settings())
    path = isolated_env / "pulumi" / "passphrase"
    path.chmod(0o644)
    with pytest.raises(MlplatError) as info:
        resolve_passphrase(load_settings())
    assert info.value.message == (
        f"the state passphrase file {path} is readable by other users (mode 644)"
    )
    assert info.value.hint == f"Run `chmod 600 {path}`."


def test_missing_pulumi_cli_names_doctor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    settings = load_settings()
    assert find_pulumi(settings) is None
    with pytest.raises(MlplatError) as info:
        require_pulumi(settings)
    assert info.value.exit_code == ExitCode.FAILURE
    assert "`mlplat doctor`" in (info.value.hint or "")
    assert "mlplat doctor --install-pulumi" in (info.value.hint or "")


def test_mlplats_own_cli_is_preferred(fake_pulumi: Path, isolated_env: Path) -> None:
    settings = load_settings()
    assert find_pulumi(settings) == PulumiCli(executable=fake_pulumi)
    own = settings.pulumi_cli_root / "bin" / "pulumi"
    own.parent.mkdir(parents=True)
    own.write_bytes(fake_pulumi.read_bytes())
    own.chmod(0o755)
    assert find_pulumi(settings) == PulumiCli(executable=own, root=settings.pulumi_cli_root)


def test_pulumi_home_is_searched_after_path(
    fake_pulumi: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pulumi's installer puts the CLI in $PULUMI_HOME/bin; PATH wins when it has one."""
    home = tmp_path / "pulumi-home"
    (home / "bin").mkdir(parents=True)
    installed = home / "bin" / "pulumi"
    installed.write_bytes(fake_pulumi.read_bytes())
    installed.chmod(0o755)
    monkeypatch.setenv("PULUMI_HOME", str(home))
    settings = load_settings()
    assert find_pulumi(settings) == PulumiCli(executable=fake_pulumi)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_pulumi(settings) == PulumiCli(executable=installed, root=home)
    monkeypatch.delenv("PULUMI_HOME")
    assert find_pulumi(settings) is None


def test_the_users_pulumi_environment_reaches_the_cli_unchanged(
    fake_pulumi: Path, opened: Opened, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A source-built CLI relies on PULUMI_HOME (its plugin cache) and on failing fast
    instead of downloading a plugin: mlplat adds its variables and overrides neither."""
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
    open_stack(
        project="mlplat",
        stack="ci",
        program=_program,
        backend=Backend(url="file:///state"),
        passphrase=Passphrase(env={}, source="env"),
        cli=PulumiCli(executable=fake_pulumi),
        settings=load_settings(),
    )
    env_vars = opened.calls[0][1]["opts"].env_vars
    assert set(env_vars) == {"PULUMI_BACKEND_URL", "PULUMI_SKIP_UPDATE_CHECK"}


def _program() -> None:
    return None


def test_open_stack_hands_the_sdk_exact_options(fake_pulumi: Path, opened: Opened) -> None:
    settings = load_settings()
    backend = Backend(url="s3://team-state")
    passphrase = Passphrase(env={"PULUMI_CONFIG_PASSPHRASE_FILE": "/pp"}, source="/pp")
    stack = open_stack(
        project="mlplat",
        stack="ci",
        program=_program,
        backend=backend,
        passphrase=passphrase,
        cli=PulumiCli(executable=fake_pulumi),
        settings=settings,
    )
    assert stack is opened.stack
    [(kind, kwargs)] = opened.calls
    assert kind == "create_or_select_stack"
    assert set(kwargs) == {"stack_name", "project_name", "program", "opts"}
    assert (kwargs["stack_name"], kwargs["project_name"], kwargs["program"]) == (
        "ci",
        "mlplat",
        _program,
    )
    opts = kwargs["opts"]
    assert isinstance(opts, auto.LocalWorkspaceOptions)
    work_dir = workspace_dir(settings, "mlplat", backend)
    assert opts.work_dir == str(work_dir) and work_dir.is_dir()
    assert opts.program is _program
    assert opts.secrets_provider == "passphrase"
    assert opts.env_vars == {
        "PULUMI_CONFIG_PASSPHRASE_FILE": "/pp",
        "PULUMI_BACKEND_URL": "s3://team-state",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    settings_ = opts.project_settings
    assert isinstance(settings_, auto.ProjectSettings)
    assert (settings_.name, settings_.runtime, settings_.main) == (
        "mlplat",
        "python",
        str(work_dir),
    )
    assert settings_.backend is not None and settings_.backend.url == "s3://team-state"
    assert isinstance(opts.pulumi_command, auto.PulumiCommand)
    assert str(opts.pulumi_command.version) == "3.272.0"
    assert opts.pulumi_command.command == "pulumi"


def test_open_stack_without_create_selects(fake_pulumi: Path, opened: Opened) -> None:
    open_stack(
        project="mlplat",
        stack="ci",
        program=_program,
        backend=Backend(url="file:///state"),
        passphrase=Passphrase(env={}, source="env"),
        cli=PulumiCli(executable=fake_pulumi),
        settings=load_settings(),
        create=False,
    )
    assert [kind for kind, _ in opened.calls] == ["select_stack"]


def test_workspaces_differ_per_backend() -> None:
    settings = load_settings()
    a = workspace_dir(settings, "mlplat", Backend(url="s3://a"))
    b = workspace_dir(settings, "mlplat", Backend(url="s3://b"))
    assert a != b and a.parent == b.parent == settings.workspaces_dir


def test_too_old_cli_is_refused(fake_pulumi: Path, opened: Opened) -> None:
    fake_pulumi.write_text("#!/bin/sh\necho v3.100.0\n")
    os.chmod(fake_pulumi, 0o755)
    with pytest.raises(MlplatError) as info:
        open_stack(
            project="mlplat",
            stack="ci",
            program=_program,
            backend=Backend(url="file:///state"),
            passphrase=Passphrase(env={}, source="env"),
            cli=PulumiCli(executable=fake_pulumi),
            settings=load_settings(),
        )
    assert "3.100.0" in info.value.message
    assert "mlplat doctor --install-pulumi" in (info.value.hint or "")
    assert opened.calls == []
