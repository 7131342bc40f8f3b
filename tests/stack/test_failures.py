"""Reading Pulumi's exit code and error lines back from the SDK's CommandError."""

from __future__ import annotations

import pytest
from pulumi import automation as auto

from mlplat.errors import ExitCode
from mlplat.stack.failures import exit_code_of, stderr_errors, translate
from tests.stack.conftest import command_error


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0, ExitCode.FAILURE),
        (1, ExitCode.FAILURE),
        (2, ExitCode.USAGE),
        (3, ExitCode.AUTH),
        (4, ExitCode.RESOURCE),
        (5, ExitCode.POLICY),
        (6, ExitCode.STACK_NOT_FOUND),
        (7, ExitCode.NO_CHANGES),
        (8, ExitCode.CANCELLED),
        (9, ExitCode.TIMEOUT),
        (255, ExitCode.FAILURE),
        (-9, ExitCode.FAILURE),
    ],
)
def test_exit_code_follows_pulumis_taxonomy(code: int, expected: ExitCode) -> None:
    assert exit_code_of(command_error(code=code)) == expected


def test_exit_code_without_a_result_is_generic() -> None:
    assert exit_code_of(RuntimeError("no code here")) == ExitCode.FAILURE


def test_error_lines_are_taken_from_stderr_without_colour() -> None:
    error = command_error(
        stdout="error: not this one",
        stderr="<{%fg 1%}>error: <{%reset%}>first\nwarning: skip\nerror: second",
    )
    assert stderr_errors(error) == ["first", "second"]


def test_stack_not_found_is_exit_6() -> None:
    error = command_error(auto.StackNotFoundError, code=6, stderr="error: no stack named 'x' found")
    mapped = translate(error, operation="status", stack="x")
    assert mapped.exit_code == ExitCode.STACK_NOT_FOUND
    assert mapped.hint == (
        "Create it with `mlplat up --stack x`, or pass the --backend it lives in."
    )


def test_a_missing_provider_plugin_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlplat.stack.progress import Progress
    from tests.stack.conftest import load_events

    monkeypatch.setenv("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
    progress = Progress()
    for event in load_events("up-missing-plugin-events.jsonl"):  # a real run's events
        progress.handle(event)
    error = translate(command_error(), operation="up", stack="dev", failures=progress.failures)
    assert error.message == (
        "up of stack 'dev' failed: pulumi:providers:kubernetes kubernetes: no resource plugin "
        "'pulumi-resource-kubernetes' found in the workspace at version v4.34.2 or on your $PATH"
    )
    assert error.hint is not None
    assert error.hint.startswith("`pulumi plugin install resource kubernetes v4.34.2`")
    assert "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION is set" in error.hint
    assert "mlplat doctor" in error.hint
