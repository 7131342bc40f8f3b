"""Progress rendering from recorded engine-event streams (parsed by the SDK itself)."""

from __future__ import annotations

import io

import pytest

from mlplat.stack.progress import PlainDisplay, Progress, RichDisplay, display, use_rich
from tests.stack.conftest import load_events


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_successful_up_counts_changes_and_keeps_warnings() -> None:
    clock = Clock()
    progress = Progress(total=7, clock=clock)
    lines: list[str] = []
    for event in load_events("up-events.jsonl"):
        clock.now = float(event.timestamp)
        lines += progress.handle(event)
    assert progress.done == 7  # the stack itself completes too
    assert progress.in_flight == {}
    assert progress.failures == []
    assert progress.changes == {"create": 7}
    assert lines == [
        "[1/7] created pulumi:providers:kubernetes kubernetes (1s)",
        "[2/7] created mlplat:index:Registry registry (1s)",
        "[3/7] created kubernetes:core/v1:Namespace registry-ns (2s)",
        "[4/7] created kubernetes:core/v1:Service registry-svc (2s)",
        "warning (registry-schema): Job has no ttlSecondsAfterFinished; it is kept",
        "[5/7] created kubernetes:apps/v1:Deployment registry-mlflow (15s)",
        "[6/7] created kubernetes:batch/v1:Job registry-schema (4s)",
        "[7/7] created pulumi:pulumi:Stack mlplat-ci (26s)",
    ]


def test_in_flight_operations_are_listed_longest_first() -> None:
    clock = Clock()
    progress = Progress(clock=clock)
    events = load_events("up-events.jsonl")
    for event in events:
        clock.now = float(event.timestamp)
        progress.handle(event)
        if event.diagnostic_event is not None and event.diagnostic_event.ephemeral:
            break  # the Deployment and Service are both being created here
    clock.now = 1009.0
    assert progress.running() == [
        ("creating pulumi:pulumi:Stack mlplat-ci", 9.0),
        ("creating kubernetes:apps/v1:Deployment registry-mlflow", 4.0),
        ("creating kubernetes:core/v1:Service registry-svc", 4.0),
    ]
    assert progress.count() == "[3]"


def test_failure_carries_the_providers_message() -> None:
    progress = Progress()
    lines: list[str] = []
    for event in load_events("up-failed-events.jsonl"):
        lines += progress.handle(event)
    assert [f.text() for f in progress.failures] == [
        "kubernetes:apps/v1:Deployment registry-mlflow failed to update: resource "
        "mlplat-registry/mlflow was not successfully created by the Kubernetes API server: "
        'Deployment.apps "mlflow" is invalid: spec.template.spec.containers[0].image: '
        "Required value",
        "error: update failed",
    ]
    assert lines[0].startswith("FAILED kubernetes:apps/v1:Deployment registry-mlflow")
    assert progress.done == 0  # "same" steps are not counted


def test_preview_collects_the_plan() -> None:
    progress = Progress()
    for event in load_events("preview-events.jsonl"):
        assert progress.handle(event) == []
    assert [(s.op, s.name) for s in progress.planned] == [
        ("create", "registry"),
        ("create", "registry-ns"),
        ("create", "registry-mlflow"),
        ("update", "registry-svc"),
        ("replace", "registry-schema"),
    ]
    assert progress.done == 0


def test_plain_display_writes_a_line_per_step() -> None:
    stream = io.StringIO()
    progress = Progress(total=7)
    with PlainDisplay(progress, stream, "Deploying the platform (stack ci)") as on_event:
        for event in load_events("up-events.jsonl"):
            on_event(event)
    text = stream.getvalue()
    assert text.startswith("Deploying the platform (stack ci) (7 changes)\n")
    assert "  [6/7] created kubernetes:batch/v1:Job registry-schema" in text
    assert "\x1b[" not in text


def test_rich_display_prints_failures_and_a_summary() -> None:
    stream = io.StringIO()
    progress = Progress(total=1)
    shown = RichDisplay(progress, stream, "Deploying")
    shown.console.force_terminal = True
    with shown:
        for event in load_events("up-failed-events.jsonl"):
            shown(event)
        rendered = shown._render()
    text = stream.getvalue()
    assert "FAILED kubernetes:apps/v1:Deployment registry-mlflow" in text
    assert "spec.template.spec.containers[0].image" in text
    assert "Deploying: 0 change(s) done of 1" in text
    assert rendered is not None


@pytest.mark.parametrize(
    ("tty", "env", "expected"),
    [(True, {}, True), (False, {}, False), (True, {"NO_COLOR": "1"}, False)],
)
def test_rich_only_on_a_terminal_without_no_color(
    monkeypatch: pytest.MonkeyPatch, tty: bool, env: dict[str, str], expected: bool
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    assert use_rich(Stream()) is expected
    with display(Progress(), Stream(), "x") as on_event:
        assert isinstance(on_event, RichDisplay if expected else PlainDisplay)


def test_an_error_on_a_resource_that_never_fails_an_operation_is_a_failure() -> None:
    # Recorded from a real `mlplat up` whose kubernetes provider plugin was missing: the
    # engine reports the error on the provider's URN and then ends the update, with no
    # failed-operation event for that resource.
    progress = Progress()
    lines: list[str] = []
    for event in load_events("up-missing-plugin-events.jsonl"):
        lines += progress.handle(event)
    message = (
        "no resource plugin 'pulumi-resource-kubernetes' found in the workspace at version "
        "v4.34.2 or on your $PATH"
    )
    assert [f.text() for f in progress.failures] == [
        f"pulumi:providers:kubernetes kubernetes: {message}"
    ]
    assert lines == [f"FAILED pulumi:providers:kubernetes kubernetes: {message}"]
