"""`mlplat render` through the CLI: flags reach the core, bad input exits 2, files are safe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from typer.testing import CliRunner

from mlplat._cli import app
from mlplat.render import RenderOptions, RenderSummary
from mlplat.render._mock import MOCK_SECRET
from mlplat.render._objects import REDACTED

runner = CliRunner()


def test_render_writes_objects_and_prints_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["render", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "NetworkPolicy" in result.stdout and "total, steady state" in result.stdout
    assert "port-forward svc/mlflow" in result.stdout
    assert (out / "charts.yaml").is_file()
    assert (out / "_cluster" / "namespace-mlplat-registry.yaml").is_file()


def test_every_flag_reaches_the_core(tmp_path: Path) -> None:
    config = tmp_path / "platform.yaml"
    config.write_text("domain: ml.example.com\n", encoding="utf-8")
    fake = mock.MagicMock(spec=RenderSummary)
    fake.as_dict.return_value = {"objects": 1}
    with mock.patch("mlplat.render.render_platform", return_value=fake) as core:
        result = runner.invoke(
            app,
            [
                "render",
                "--out",
                str(tmp_path / "o"),
                "--config",
                str(config),
                "--profile",
                "prod",
                "--force",
                "--json",
            ],
        )
    assert result.exit_code == 0, result.output
    core.assert_called_once_with(
        RenderOptions(out_dir=tmp_path / "o", config_path=config, profile="prod", force=True)
    )
    assert json.loads(result.stdout) == {"objects": 1}


def test_defaults_reach_the_core(tmp_path: Path) -> None:
    fake = mock.MagicMock(spec=RenderSummary)
    fake.text.return_value = "summary"
    with mock.patch("mlplat.render.render_platform", return_value=fake) as core:
        result = runner.invoke(app, ["render", "-o", str(tmp_path)])
    assert result.exit_code == 0
    core.assert_called_once_with(RenderOptions(out_dir=tmp_path))
    assert result.stdout.strip() == "summary"


def test_non_empty_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / "notes.txt"
    mine.write_text("keep me", encoding="utf-8")
    result = runner.invoke(app, ["render", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not empty" in result.stderr and "--force" in result.stderr
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_force_replaces_a_previous_render_but_never_user_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert runner.invoke(app, ["render", "-o", str(out), "--profile", "prod"]).exit_code == 0
    pdb = out / "mlplat-registry" / "poddisruptionbudget-mlflow.yaml"
    assert pdb.is_file()
    (out / "README.md").write_text("mine", encoding="utf-8")
    result = runner.invoke(app, ["render", "-o", str(out), "--profile", "dev", "--force"])
    assert result.exit_code == 0, result.output
    assert not pdb.exists(), "a file only the previous render had must go"
    assert (out / "README.md").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("domain: Not_Valid\n", "domain:"),
        ("components: {registy: false}\n", "components.registy"),
        ("domain: [unclosed\n", "not valid YAML"),
        ("- a list\n", "expected a mapping"),
    ],
)
def test_bad_config_exits_2_naming_the_problem(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "platform.yaml"
    config.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["render", "-o", str(tmp_path / "out"), "-c", str(config)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", "-o", str(tmp_path / "o"), "-c", str(tmp_path / "no")])
    assert result.exit_code == 2
    assert "cannot be read" in result.stderr and "--config" in result.stderr


@pytest.mark.parametrize("verbose", [False, True])
def test_bad_profile_is_one_usage_line_listing_the_profiles(tmp_path: Path, verbose: bool) -> None:
    from mlplat_platform.config import PROFILES

    args = ["render", "-o", str(tmp_path / "o"), "--profile", "staging"]
    result = runner.invoke(app, ["--verbose", *args] if verbose else args)
    assert result.exit_code == 2
    last = result.stderr.splitlines()[-1]
    assert last == f"Error: --profile must be one of {', '.join(PROFILES)}, got 'staging'"
    assert "Value error" not in result.output
    assert ("Traceback" in result.stderr) is verbose
    if not verbose:
        assert result.stderr == last + "\n"
    assert not (tmp_path / "o").exists()


def test_profiles_are_not_redeclared_by_the_cli() -> None:
    from mlplat.commands import _stack, render
    from mlplat_platform.config import PROFILES

    help_text = runner.invoke(app, ["render", "--help"]).output
    assert f"--profile {'|'.join(PROFILES)}" in help_text
    assert _stack.PROFILES is PROFILES  # render takes its --profile from the shared options
    assert not hasattr(render, "Profile")


def test_help_points_to_the_config_reference_shipped_in_the_package() -> None:
    help_text = " ".join(runner.invoke(app, ["render", "--help"]).output.split())
    assert "mlplat docs platform-config" in help_text
    assert "README" not in help_text and ".py" not in help_text


@pytest.mark.parametrize(
    "content", ["domain: Not_Valid\n", "components: {registy: false}\n", "- a list\n"]
)
def test_config_errors_point_to_the_docs_command_not_to_source_files(
    tmp_path: Path, content: str
) -> None:
    config = tmp_path / "platform.yaml"
    config.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["render", "-o", str(tmp_path / "o"), "-c", str(config)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "`mlplat docs platform-config` lists every key with its default and what it does."
    )
    assert ".py" not in result.stderr and "README" not in result.stderr


@pytest.mark.parametrize("verbose", [["--verbose"], []])
def test_verbose_keeps_the_exit_code_of_a_config_error(tmp_path: Path, verbose: list[str]) -> None:
    config = tmp_path / "platform.yaml"
    config.write_text("domain: Not_Valid\n", encoding="utf-8")
    args = ["render", "-o", str(tmp_path / "o"), "-c", str(config)]
    by_flag = runner.invoke(app, [*verbose, *args])
    by_env = runner.invoke(app, args, env={"MLPLAT_VERBOSE": "1"} if verbose else {})
    assert by_flag.exit_code == by_env.exit_code == 2
    assert by_flag.stderr == by_env.stderr
    assert ("Traceback" in by_flag.stderr) is bool(verbose)
    assert "Error: invalid platform config in" in by_flag.stderr


def test_config_error_raised_while_building_is_translated_the_same_way(tmp_path: Path) -> None:
    from mlplat_platform import ConfigError

    with mock.patch(
        "mlplat_platform.program.build_platform",
        side_effect=ConfigError("sizing.replicas", "must be at least 1"),
    ):
        result = runner.invoke(app, ["render", "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: invalid platform config: sizing.replicas: must be at least 1",
        "`mlplat docs platform-config` lists every key with its default and what it does.",
    ]


def test_a_bug_in_the_program_is_reported_as_one(tmp_path: Path) -> None:
    with mock.patch("mlplat_platform.program.build_platform", side_effect=KeyError("registry")):
        result = runner.invoke(app, ["render", "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: unexpected KeyError: 'registry'\nThis is a bug")


def test_write_failure_says_where(tmp_path: Path) -> None:
    import errno

    full = OSError(errno.ENOSPC, "No space left on device")
    with mock.patch("mlplat.render._write.write_tree", side_effect=full):
        result = runner.invoke(app, ["render", "-o", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"Error: cannot write the render into {tmp_path / 'o'}: No space left on device",
        "Check free space and permissions, or choose another --out.",
    ]


def test_json_summary_is_machine_readable(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", "-o", str(tmp_path / "o"), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["profile"] == "dev" and data["kinds"]["Namespace"] == 8
    assert data["requests"]["cpu_millicores"] == (
        data["requests"]["objects"]["cpu_millicores"]
        + data["requests"]["chart_pods"]["cpu_millicores"]
    )


def test_outputs_never_print_a_secret(tmp_path: Path) -> None:
    config = tmp_path / "platform.yaml"
    config.write_text("domain: ml.example.com\n", encoding="utf-8")
    result = runner.invoke(app, ["render", "-o", str(tmp_path / "o"), "-c", str(config), "--json"])
    assert result.exit_code == 0, result.output
    exports = json.loads(result.stdout)["exports"]
    assert exports["mlflow_url"] == "https://mlflow.ml.example.com"
    assert exports["auth_password"] == REDACTED
    assert MOCK_SECRET not in result.output


def test_the_command_module_imports_no_pulumi() -> None:
    """`mlplat --help` stays light: pulumi is imported inside the command only."""
    code = (
        "import sys, mlplat._cli, mlplat.commands.render; "
        "sys.exit(int(any(m.split('.')[0].startswith('pulumi') for m in sys.modules)))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_render_needs_no_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access attempted during render")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    result = runner.invoke(app, ["render", "-o", str(tmp_path / "o"), "--profile", "prod"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("below", ["", "sub"])
def test_out_that_is_or_is_inside_a_file_is_refused(tmp_path: Path, below: str) -> None:
    target = tmp_path / "file.yaml"
    target.write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["render", "-o", str(target / below)])
    assert result.exit_code == 2
    expected = "exists and is not a directory" if not below else f"{target} is a file"
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert target.read_text(encoding="utf-8") == "x"
