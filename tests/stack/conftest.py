"""Fixtures at the Automation API boundary: a fake Pulumi CLI, a kubeconfig whose API server
is a local listener, recorded engine events, and a recording stand-in for ``auto.Stack``.

Only the calls into ``pulumi.automation`` are replaced (``create_or_select_stack``,
``select_stack``); the SDK's own classes (``PulumiCommand``, ``LocalWorkspaceOptions``,
``ProjectSettings``, ``ConfigValue``, ``EngineEvent``, the errors and results) are real, so
the tests assert exactly what mlplat hands to the SDK.
"""

from __future__ import annotations

import json
import socket
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto
from pulumi.automation._cmd import CommandResult
from pulumi.automation._stack import UpdateSummary

from mlplat.stack.plugins import required_plugins

FIXTURES = Path(__file__).parent / "fixtures"
SDK_VERSION = "3.272.0"


def load_events(name: str) -> list[auto.EngineEvent]:
    """A recorded engine-event stream, parsed by the SDK's own ``EngineEvent.from_json``."""
    lines = (FIXTURES / name).read_text().splitlines()
    return [auto.EngineEvent.from_json(json.loads(line)) for line in lines if line.strip()]


def command_error(
    cls: type[auto.CommandError] = auto.CommandError,
    *,
    code: int = 1,
    stderr: str = "",
    stdout: str = "",
) -> auto.CommandError:
    """An SDK error exactly as ``create_command_error`` builds it from a CLI result."""
    return cls(CommandResult(stdout=stdout, stderr=stderr, code=code))


@dataclass
class FakeStack:
    """Records every call mlplat makes on an ``auto.Stack`` and plays back events."""

    name: str = "ci"
    deployment: dict[str, Any] = field(default_factory=lambda: {"resources": []})
    up_events: list[Any] = field(default_factory=list)
    preview_events: list[Any] = field(default_factory=list)
    change_summary: dict[str, int] = field(default_factory=lambda: {"create": 3})
    outputs_map: dict[str, auto.OutputValue] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    stacks: list[auto.StackSummary] = field(default_factory=list)
    after_destroy: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.workspace = _Workspace(self)

    def _call(self, method: str, **kwargs: Any) -> None:
        self.calls.append((method, kwargs))
        if method in self.errors:
            raise self.errors[method]

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]

    def kwargs(self, method: str) -> dict[str, Any]:
        return next(k for m, k in self.calls if m == method)

    def export_stack(self) -> auto.Deployment:
        self._call("export_stack")
        return auto.Deployment(version=3, deployment=json.loads(json.dumps(self.deployment)))

    def import_stack(self, state: auto.Deployment) -> None:
        self._call("import_stack", state=state)
        self.deployment = dict(state.deployment or {})

    def set_all_config(self, config: dict[str, auto.ConfigValue]) -> None:
        self._call("set_all_config", config=config)

    def cancel(self) -> None:
        self._call("cancel")

    def _play(self, events: list[Any], kwargs: dict[str, Any]) -> None:
        on_event = kwargs.get("on_event")
        for event in events:
            if on_event is not None:
                on_event(event)

    def preview(self, **kwargs: Any) -> auto.PreviewResult:
        self._play(self.preview_events, kwargs)
        self._call("preview", **kwargs)
        return auto.PreviewResult(stdout="", stderr="", change_summary=self.change_summary)

    def up(self, **kwargs: Any) -> auto.UpResult:
        self._play(self.up_events, kwargs)
        self._call("up", **kwargs)
        return auto.UpResult(
            stdout="", stderr="", summary=_summary("update"), outputs=self.outputs_map
        )

    def refresh(self, **kwargs: Any) -> None:
        self._call("refresh", **kwargs)
        self.deployment.pop("pending_operations", None)

    def destroy(self, **kwargs: Any) -> None:
        self._call("destroy", **kwargs)
        if self.after_destroy is not None:
            self.deployment = self.after_destroy

    def outputs(self) -> dict[str, auto.OutputValue]:
        self._call("outputs")
        return self.outputs_map

    def info(self, show_secrets: bool = True) -> UpdateSummary:
        self._call("info", show_secrets=show_secrets)
        return _summary("update")


class _Workspace:
    def __init__(self, stack: FakeStack) -> None:
        self._stack = stack

    def list_stacks(self) -> list[auto.StackSummary]:
        self._stack._call("list_stacks")
        return self._stack.stacks


def _summary(kind: str) -> UpdateSummary:
    return UpdateSummary(
        kind=kind,
        start_time=datetime(2026, 10, 1, 12, 0, 0),
        end_time=datetime(2026, 10, 1, 12, 3, 0),
        message="",
        environment={},
        config={},
        result="succeeded",
        version=4,
        resource_changes={"create": 7},
    )


@dataclass
class Opened:
    """What ``create_or_select_stack`` / ``select_stack`` were called with.

    ``stack`` answers for every project unless ``projects`` has one for the project name.
    """

    calls: list[tuple[str, dict[str, Any]]]
    stack: FakeStack
    projects: dict[str, FakeStack] = field(default_factory=dict)


@pytest.fixture
def fake_pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``pulumi`` on PATH that answers ``pulumi version`` like the real CLI."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(f'#!/bin/sh\n[ "$1" = version ] && echo v{SDK_VERSION} && exit 0\nexit 3\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("MLPLAT_BACKEND", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", raising=False)
    monkeypatch.delenv("PULUMI_IGNORE_AMBIENT_PLUGINS", raising=False)
    # The provider plugins the deploy loads, in Pulumi's plugin cache as `plugin install` puts them.
    home = tmp_path / "pulumi-home"
    for plugin in required_plugins():
        binary = home / "plugins" / f"resource-{plugin.name}-v{plugin.version}" / plugin.executable
        binary.parent.mkdir(parents=True)
        binary.write_text("#!/bin/sh\nexit 1\n")
        binary.chmod(0o755)
    monkeypatch.setenv("PULUMI_HOME", str(home))
    return script


@pytest.fixture
def api_server() -> Iterator[str]:
    """A local HTTP API server answering ``GET /version`` with Kubernetes v1.35.0."""
    version = {"major": "1", "minor": "35", "gitVersion": "v1.35.0"}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's method name
            body = json.dumps(version).encode()
            self.send_response(200 if self.path == "/version" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_kubeconfig(path: Path, contexts: dict[str, str], current: str | None) -> Path:
    """A kubeconfig with one cluster per context (context name -> server URL)."""
    data = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": f"c-{n}", "cluster": {"server": s}} for n, s in contexts.items()],
        "contexts": [{"name": n, "context": {"cluster": f"c-{n}", "user": "u"}} for n in contexts],
        "users": [{"name": "u", "user": {"token": "t"}}],
    }
    if current:
        data["current-context"] = current
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api_server: str) -> Path:
    """KUBECONFIG with ``kind-mlplat`` (current, answering) and ``kind-other`` (down)."""
    path = write_kubeconfig(
        tmp_path / "kubeconfig",
        {"kind-mlplat": api_server, "kind-other": f"https://127.0.0.1:{closed_port()}"},
        current="kind-mlplat",
    )
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Opened:
    """Patch ``auto.create_or_select_stack`` and ``auto.select_stack``; record their arguments."""
    record = Opened(calls=[], stack=FakeStack())

    def fake(kind: str) -> Any:
        def call(**kwargs: Any) -> FakeStack:
            record.calls.append((kind, kwargs))
            stack = record.projects.get(kwargs["project_name"], record.stack)
            stack.name = kwargs["stack_name"]
            if "select_stack" in stack.errors and kind == "select_stack":
                raise stack.errors["select_stack"]
            return stack

        return call

    monkeypatch.setattr(auto, "create_or_select_stack", fake("create_or_select_stack"))
    monkeypatch.setattr(auto, "select_stack", fake("select_stack"))
    return record


class RecordingUi:
    """A `Ui` that records messages, answers questions from a script, and keeps progress."""

    def __init__(self, answers: list[bool] | None = None) -> None:
        self.messages: list[str] = []
        self.questions: list[str] = []
        self.answers = list(answers or [])
        self.progress_titles: list[str] = []
        self.progress_objects: list[Any] = []
        self.callbacks: list[Any] = []

    def message(self, text: str) -> None:
        self.messages.append(text)

    def confirm(self, question: str) -> bool:
        self.questions.append(question)
        return self.answers.pop(0)

    def progress(self, progress: Any, title: str) -> Any:
        from contextlib import contextmanager

        @contextmanager
        def cm() -> Iterator[Any]:
            self.progress_titles.append(title)
            self.progress_objects.append(progress)

            def on_event(event: Any) -> None:
                progress.handle(event)

            self.callbacks.append(on_event)
            yield on_event

        return cm()

    def output(self, line: str) -> None:
        return

    def text(self) -> str:
        return "\n".join(self.messages)
