"""The stack commands' flags reach the core exactly; data on stdout, messages on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mlplat import stack
from mlplat._cli import app
from mlplat.errors import ExitCode, MlplatError
from mlplat.stack import DownResult, StackOptions, StatusResult, UpResult
from mlplat.stack.outputs import Outputs

runner = CliRunner()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, StackOptions]]:
    recorded: list[tuple[str, StackOptions]] = []
    outputs = Outputs(
        public={
            "mlflow_port_forward": "kubectl -n mlplat-registry port-forward svc/mlflow 5000:5000",
            "models_namespace": "mlplat-models",
            "models_service_account": "mlplat-models",
        },
        secret=("auth_password",),
    )

    def up_result(options: StackOptions, deployed: bool) -> UpResult:
        return UpResult(
            stack=options.stack,
            backend="file:///state",
            kube_context="kind-mlplat",
            changes={"create": 3},
            outputs=outputs,
            deployed=deployed,
        )

    def fake(name: str) -> Any:
        def call(options: StackOptions, ui: Any = None) -> Any:
            recorded.append((name, options))
            if name == "up":
                return up_result(options, True)
            if name == "preview":
                return up_result(options, False)
            if name == "down":
                return DownResult(stack=options.stack, backend="file:///s", deleted=5, kept=2)
            return StatusResult(
                stack=options.stack,
                backend="file:///s",
                outputs=outputs,
                secret_values={},
                last_update=None,
                resources=7,
                protected=2,
                pending=0,
                kube_context="kind-mlplat",
                locked=False,
            )

        return call

    for name in ("up", "preview", "down", "status"):
        monkeypatch.setattr(stack, name, fake(name))
    return recorded


def test_up_passes_every_flag(calls: list[tuple[str, StackOptions]], tmp_path: Path) -> None:
    config = tmp_path / "platform.yaml"
    result = runner.invoke(
        app,
        [
            "up",
            "--stack",
            "ci",
            "--config",
            str(config),
            "--profile",
            "prod",
            "--backend",
            "s3://team",
            "--kube-context",
            "kind-x",
            "--yes",
            "--force-unlock",
            "--recover",
        ],
    )
    assert result.exit_code == 0, result.output
    assert calls == [
        (
            "up",
            StackOptions(
                stack="ci",
                backend="s3://team",
                config=config,
                profile="prod",
                kube_context="kind-x",
                yes=True,
                interactive=False,
                force_unlock=True,
                recover=True,
            ),
        )
    ]


def test_up_defaults(calls: list[tuple[str, StackOptions]]) -> None:
    assert runner.invoke(app, ["up", "-y"]).exit_code == 0
    assert calls == [("up", StackOptions(stack="dev", yes=True))]


def test_up_prints_outputs_and_how_to_reach_them(calls: list[tuple[str, StackOptions]]) -> None:
    result = runner.invoke(app, ["up", "--yes", "--stack", "ci"])
    assert result.stderr == "Deployed stack 'ci' on kind-mlplat.\n"
    out = result.stdout.splitlines()
    assert "secret outputs (not shown): auth_password" in out
    assert (
        "MLflow: kubectl --context kind-mlplat -n mlplat-registry port-forward svc/mlflow "
        "5000:5000   then open http://localhost:5000"
    ) in out
    assert any(
        line.startswith("Inference: InferenceServices in namespace mlplat-models") for line in out
    )


def test_up_json_is_the_only_thing_on_stdout(calls: list[tuple[str, StackOptions]]) -> None:
    result = runner.invoke(app, ["up", "--yes", "--json"])
    data = json.loads(result.stdout)
    assert data["deployed"] is True and data["secret_outputs"] == ["auth_password"]
    assert "Deployed" in result.stderr


def test_preview_passes_its_flags(calls: list[tuple[str, StackOptions]]) -> None:
    result = runner.invoke(
        app, ["preview", "-s", "ci", "-p", "dev", "--backend", "gs://b", "--kube-context", "k"]
    )
    assert result.exit_code == 0, result.output
    assert calls == [
        ("preview", StackOptions(stack="ci", profile="dev", backend="gs://b", kube_context="k"))
    ]


def test_down_passes_its_flags(calls: list[tuple[str, StackOptions]]) -> None:
    result = runner.invoke(app, ["down", "--stack", "ci", "--delete-data", "--yes"])
    assert result.exit_code == 0, result.output
    assert calls == [("down", StackOptions(stack="ci", delete_data=True, yes=True))]
    assert "Kept 2 protected data resource(s)" in result.stdout


def test_status_passes_its_flags(calls: list[tuple[str, StackOptions]]) -> None:
    result = runner.invoke(app, ["status", "-s", "ci", "--show-secrets", "--json"])
    assert result.exit_code == 0, result.output
    assert calls == [("status", StackOptions(stack="ci", show_secrets=True))]
    assert json.loads(result.stdout)["resources"]["protected"] == 2


def test_bad_profile_is_a_usage_error(calls: list[tuple[str, StackOptions]]) -> None:
    result = runner.invoke(app, ["up", "--profile", "staging"])
    assert result.exit_code == 2 and calls == []


def test_core_errors_exit_with_their_code_and_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    def locked(options: StackOptions, ui: Any = None) -> Any:
        raise MlplatError(
            "stack 'ci' is locked by another update",
            hint="... `mlplat up --stack ci --force-unlock` ...",
            exit_code=ExitCode.RESOURCE,
        )

    monkeypatch.setattr(stack, "up", locked)
    result = runner.invoke(app, ["up", "--yes", "-s", "ci"])
    assert result.exit_code == 4
    assert result.stderr.splitlines() == [
        "Error: stack 'ci' is locked by another update",
        "... `mlplat up --stack ci --force-unlock` ...",
    ]


@pytest.mark.parametrize("command", ["up", "down"])
def test_a_missing_pulumi_cli_is_named_before_asking_for_yes(fake_env: None, command: str) -> None:
    """A new user off a terminal learns what is missing first, not to add --yes and retry."""
    result = runner.invoke(app, [command])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the Pulumi CLI is not installed")
    assert "--yes" not in result.stderr


def test_missing_pulumi_is_exit_1_naming_doctor(fake_env: None) -> None:
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 1
    assert "Error: the Pulumi CLI is not installed" in result.stderr
    assert "`mlplat doctor`" in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PULUMI_HOME", raising=False)


def test_stack_commands_are_listed_in_help() -> None:
    result = runner.invoke(app, ["--help"])
    for command in ("up", "preview", "down", "status", "doctor"):
        assert f"  {command} " in result.stdout
