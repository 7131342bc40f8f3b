"""The one error boundary: messages, exit codes, and one verbose switch (flag or variable)."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlplat import scaffold
from mlplat._cli import app
from mlplat.errors import ExitCode, MlplatError, UsageError
from mlplat.scaffold import NewOptions, NewResult

runner = CliRunner()


def _raising(error: BaseException) -> Any:
    def fake(options: NewOptions, settings: Any = None) -> NewResult:
        raise error

    return fake


def _usage_error_from_none(options: NewOptions, settings: Any = None) -> NewResult:
    try:
        {}["missing"]
    except KeyError:
        raise UsageError("bad input", hint="Do this instead.") from None
    raise AssertionError("unreachable")


@pytest.fixture
def raises(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(error_or_fake: BaseException | Any) -> None:
        fake = (
            _raising(error_or_fake) if isinstance(error_or_fake, BaseException) else error_or_fake
        )
        monkeypatch.setattr(scaffold, "new_project", fake)

    return install


VERBOSE_WAYS = {
    "flag": (["--verbose"], {}),
    "short flag": (["-v"], {}),
    "env var": ([], {"MLPLAT_VERBOSE": "1"}),
    "env var true": ([], {"MLPLAT_VERBOSE": "true"}),
}


@pytest.mark.parametrize("way", list(VERBOSE_WAYS))
def test_verbose_shows_the_traceback_and_keeps_the_exit_code(raises: Any, way: str) -> None:
    raises(UsageError("bad input", hint="Do this instead."))
    quiet = runner.invoke(app, ["new", "proj"])
    args, env = VERBOSE_WAYS[way]
    loud = runner.invoke(app, [*args, "new", "proj"], env=env)
    assert quiet.exit_code == loud.exit_code == ExitCode.USAGE
    assert quiet.stderr == "Error: bad input\nDo this instead.\n"
    assert "Traceback (most recent call last)" in loud.stderr
    assert loud.stderr.endswith("Error: bad input\nDo this instead.\n")


def test_flag_and_variable_give_the_same_output(raises: Any) -> None:
    raises(_usage_error_from_none)
    by_flag = runner.invoke(app, ["--verbose", "new", "proj"])
    by_env = runner.invoke(app, ["new", "proj"], env={"MLPLAT_VERBOSE": "1"})
    assert by_flag.exit_code == by_env.exit_code == 2
    assert by_flag.stderr == by_env.stderr


def test_verbose_shows_the_error_hidden_by_raise_from_none(raises: Any) -> None:
    raises(_usage_error_from_none)
    result = runner.invoke(app, ["--verbose", "new", "proj"])
    assert "KeyError: 'missing'" in result.stderr
    assert "mlplat reported this as:" in result.stderr
    assert result.exit_code == 2


@pytest.mark.parametrize("value", ["0", "false", "no", ""])
def test_verbose_variable_off(raises: Any, value: str) -> None:
    raises(UsageError("bad input"))
    result = runner.invoke(app, ["new", "proj"], env={"MLPLAT_VERBOSE": value})
    assert result.exit_code == 2 and "Traceback" not in result.stderr


def test_verbose_variable_with_a_bad_value_is_a_usage_error(raises: Any) -> None:
    raises(UsageError("bad input"))
    result = runner.invoke(app, ["new", "proj"], env={"MLPLAT_VERBOSE": "loud"})
    assert result.exit_code == 2
    assert "MLPLAT_VERBOSE" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("way", list(VERBOSE_WAYS))
def test_every_verbose_way_shows_tool_output(
    monkeypatch: pytest.MonkeyPatch, way: str, tmp_path: Path
) -> None:
    calls: list[NewOptions] = []

    def fake(options: NewOptions, settings: Any = None) -> NewResult:
        calls.append(options)
        return NewResult(dest=options.dest, template="t", answers={}, committed=False)

    monkeypatch.setattr(scaffold, "new_project", fake)
    args, env = VERBOSE_WAYS[way]
    assert runner.invoke(app, [*args, "new", "proj"], env=env).exit_code == 0
    assert runner.invoke(app, ["new", "proj"]).exit_code == 0
    assert [c.quiet for c in calls] == [False, True]


def test_unexpected_error_is_a_bug_report_with_exit_1(raises: Any) -> None:
    raises(RuntimeError("disk on fire"))
    quiet = runner.invoke(app, ["new", "proj"])
    loud = runner.invoke(app, ["--verbose", "new", "proj"])
    assert quiet.exit_code == loud.exit_code == 1
    assert quiet.stderr.splitlines() == [
        "Error: unexpected RuntimeError: disk on fire",
        "This is a bug in mlplat: run again with `mlplat --verbose ...` for the traceback, "
        "and report it.",
    ]
    assert loud.stderr.splitlines()[-1] == (
        "This is a bug in mlplat; please report it with the traceback above."
    )
    assert "--verbose" not in loud.stderr.splitlines()[-1]


def test_os_error_names_the_path_and_is_not_called_a_bug(raises: Any) -> None:
    raises(PermissionError(errno.EACCES, "Permission denied", "/srv/projects"))
    result = runner.invoke(app, ["new", "proj"])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "Error: Permission denied: /srv/projects"
    assert "bug" not in result.stderr and "Traceback" not in result.stderr


def test_bare_interrupt_exits_130_with_one_line(raises: Any) -> None:
    raises(KeyboardInterrupt())
    result = runner.invoke(app, ["new", "proj"])
    assert result.exit_code == 130
    assert result.stderr == "Interrupted.\n"


def test_reported_interrupt_is_not_called_an_error(raises: Any) -> None:
    raises(MlplatError("Interrupted; nothing was created.", exit_code=ExitCode.INTERRUPTED))
    result = runner.invoke(app, ["new", "proj"])
    assert result.exit_code == 130
    assert result.stderr == "Interrupted; nothing was created.\n"


def test_parser_errors_pass_through_untouched() -> None:
    result = runner.invoke(app, ["docs"])
    assert result.exit_code == 2
    assert "platform-config" in result.output and "unexpected" not in result.output
    result = runner.invoke(app, ["new"])
    assert result.exit_code == 2 and "Missing argument 'DEST'" in result.output
