"""Every flag reaches the core call with the right value (the core itself is patched)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlplat import scaffold
from mlplat._cli import app
from mlplat.scaffold import NewOptions, NewResult, UpdateOptions, UpdateResult

runner = CliRunner()


@pytest.fixture
def captured_new(monkeypatch: pytest.MonkeyPatch) -> list[NewOptions]:
    calls: list[NewOptions] = []

    def fake(options: NewOptions, settings: Any = None) -> NewResult:
        calls.append(options)
        return NewResult(dest=options.dest, template="t", answers={}, committed=True)

    monkeypatch.setattr(scaffold, "new_project", fake)
    return calls


@pytest.fixture
def captured_update(monkeypatch: pytest.MonkeyPatch) -> list[UpdateOptions]:
    calls: list[UpdateOptions] = []

    def fake(options: UpdateOptions, settings: Any = None) -> UpdateResult:
        calls.append(options)
        return UpdateResult(dest=options.dest, from_version="v1", to_version="v2", conflicts=())

    monkeypatch.setattr(scaffold, "update_project", fake)
    return calls


def test_new_passes_every_flag(captured_new: list[NewOptions], tmp_path: Path) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("project_name: from-file\nlicense: MIT\n_src_path: ignored\n")
    result = runner.invoke(
        app,
        [
            "new",
            "proj",
            "--template",
            "gh:org/tpl",
            "--defaults",
            "--data",
            "license=BSD",
            "-d",
            "problem_type=regression",
            "--config",
            str(answers),
            "--vcs-ref",
            "v2",
            "--no-git",
        ],
    )
    assert result.exit_code == 0, result.output
    assert captured_new == [
        NewOptions(
            dest=Path("proj"),
            template="gh:org/tpl",
            vcs_ref="v2",
            defaults=True,
            data={"project_name": "from-file", "license": "BSD", "problem_type": "regression"},
            git_init=False,
            quiet=True,
        )
    ]


def test_new_defaults_when_stdin_is_not_a_tty(captured_new: list[NewOptions]) -> None:
    result = runner.invoke(app, ["new", "proj"])
    assert result.exit_code == 0, result.output
    (options,) = captured_new
    assert options.defaults is True and options.template is None and options.git_init is True
    assert "make install" in result.output


def test_verbose_shows_copier_output(captured_new: list[NewOptions]) -> None:
    result = runner.invoke(app, ["--verbose", "new", "proj"])
    assert result.exit_code == 0, result.output
    assert captured_new[0].quiet is False


def test_update_passes_every_flag(captured_update: list[UpdateOptions]) -> None:
    result = runner.invoke(
        app, ["update", "proj", "--vcs-ref", "v3", "--defaults", "--data", "license=MIT"]
    )
    assert result.exit_code == 0, result.output
    assert captured_update == [
        UpdateOptions(
            dest=Path("proj"), vcs_ref="v3", defaults=True, data={"license": "MIT"}, quiet=True
        )
    ]


def test_update_defaults_to_current_directory(captured_update: list[UpdateOptions]) -> None:
    result = runner.invoke(app, ["update"])
    assert result.exit_code == 0, result.output
    assert captured_update[0].dest == Path(".")


def test_update_lists_conflicts_and_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(options: UpdateOptions, settings: Any = None) -> UpdateResult:
        return UpdateResult(
            dest=options.dest, from_version="v1", to_version="v2", conflicts=(Path("README.md"),)
        )

    monkeypatch.setattr(scaffold, "update_project", fake)
    result = runner.invoke(app, ["update", "proj"])
    assert result.exit_code == 1
    assert "README.md" in result.output


@pytest.mark.parametrize("pair", ["novalue", "=x"])
def test_malformed_data_exits_2_without_traceback(
    pair: str, captured_new: list[NewOptions]
) -> None:
    result = runner.invoke(app, ["new", "proj", "--data", pair])
    assert result.exit_code == 2
    assert "key=value" in result.output and "Traceback" not in result.output
    assert captured_new == []


def test_missing_config_file_exits_2(captured_new: list[NewOptions], tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", "proj", "--config", str(tmp_path / "nope.yml")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_unexpected_error_has_no_traceback_unless_verbose(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(options: NewOptions, settings: Any = None) -> NewResult:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(scaffold, "new_project", boom)
    quiet = runner.invoke(app, ["new", "proj"])
    assert quiet.exit_code == 1
    assert "disk on fire" in quiet.output and "--verbose" in quiet.output
    assert "Traceback" not in quiet.output
    loud = runner.invoke(app, ["--verbose", "new", "proj"])
    assert loud.exit_code == 1
    assert "Traceback" in loud.stderr and "RuntimeError: disk on fire" in loud.stderr


def test_version_lists_tools() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert "mlplat: 0." in result.output and "copier:" in result.output
    assert "pulumi CLI:" in result.output


def test_no_args_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "new" in result.output and "update" in result.output


def test_help_imports_neither_copier_nor_pulumi() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom mlplat._cli import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('copier', 'pulumi', 'pulumi_kubernetes',"
        " 'yaml', 'rich') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout
