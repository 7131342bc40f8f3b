"""``mlplat up`` / ``preview`` at the Automation API boundary: every call and error path."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

from mlplat import stack as core
from mlplat.errors import ExitCode, MlplatError, UsageError
from mlplat.stack.progress import Progress
from tests.stack.conftest import (
    Opened,
    RecordingUi,
    command_error,
    load_events,
)

pytestmark = pytest.mark.usefixtures("fake_pulumi", "kubeconfig")

URN = "urn:pulumi:ci::mlplat::"
PROVIDER = {
    "urn": URN + "pulumi:providers:kubernetes::kubernetes",
    "type": "pulumi:providers:kubernetes",
    "inputs": {"context": "kind-mlplat"},
}
DB_VOLUME = {
    "urn": URN + "mlplat:index:Database$kubernetes:postgresql.cnpg.io/v1:Cluster::database",
    "type": "kubernetes:postgresql.cnpg.io/v1:Cluster",
    "protect": True,
    "retainOnDelete": True,
}
DEPLOYMENT = {
    "urn": URN + "mlplat:index:Registry$kubernetes:apps/v1:Deployment::registry-mlflow",
    "type": "kubernetes:apps/v1:Deployment",
}


def options(**overrides: Any) -> core.StackOptions:
    values: dict[str, Any] = {"stack": "ci", "yes": True}
    values.update(overrides)
    return core.StackOptions(**values)


def outputs() -> dict[str, auto.OutputValue]:
    return {
        "profile": auto.OutputValue("dev", False),
        "mlflow_port_forward": auto.OutputValue(
            "kubectl -n mlplat-registry port-forward svc/mlflow 5000:5000", False
        ),
        "auth_password": auto.OutputValue("hunter2", True),
    }


def test_up_with_yes_deploys_without_preview(opened: Opened) -> None:
    opened.stack.up_events = load_events("up-events.jsonl")
    opened.stack.outputs_map = outputs()
    ui = RecordingUi()
    result = core.up(options(), ui)
    stack = opened.stack
    assert stack.methods() == ["export_stack", "up", "outputs"]
    up = stack.kwargs("up")
    assert set(up) == {"on_event", "on_output", "on_error"}
    assert up["on_event"] is ui.callbacks[0]
    assert ui.progress_titles == ["Deploying the platform (stack ci)"]
    assert ui.progress_objects[0].done == 7
    assert result.deployed and result.kube_context == "kind-mlplat"
    assert result.changes == {"create": 7}
    assert result.outputs.public == {
        "mlflow_port_forward": "kubectl -n mlplat-registry port-forward svc/mlflow 5000:5000",
        "profile": "dev",
    }
    assert result.outputs.secret == ("auth_password",)
    assert "hunter2" not in repr(result.as_dict())
    [(kind, kwargs)] = opened.calls
    assert kind == "create_or_select_stack" and kwargs["project_name"] == "mlplat"


def test_the_program_gets_the_pinned_context_and_profile(opened: Opened, tmp_path: Path) -> None:
    import mlplat_platform

    seen: list[Any] = []
    config = tmp_path / "platform.yaml"
    config.write_text("profile: dev\nkube_context: kind-mlplat\n")

    def fake_build(cfg: Any, secrets: Any) -> dict[str, Any]:
        seen.append(cfg)
        return {}

    core.up(options(config=config, profile="prod"), RecordingUi())
    program = opened.calls[0][1]["program"]
    original = mlplat_platform.__getattr__("build_platform")
    try:
        import mlplat_platform.program as program_module

        program_module.build_platform = fake_build  # type: ignore[assignment]
        program()
    finally:
        program_module.build_platform = original  # type: ignore[assignment]
    assert seen[0].profile == "prod" and seen[0].kube_context == "kind-mlplat"


def test_secrets_from_the_environment_become_secret_stack_config(
    opened: Opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLPLAT_DB_PASSWORD", "pw")
    monkeypatch.setenv("MLPLAT_OIDC_CLIENT_SECRET", "oidc")
    core.up(options(), RecordingUi())
    config = opened.stack.kwargs("set_all_config")["config"]
    assert {k: (v.value, v.secret) for k, v in config.items()} == {
        "mlplat:db_password": ("pw", True),
        "mlplat:oidc_client_secret": ("oidc", True),
    }


def test_up_without_yes_previews_and_asks(opened: Opened) -> None:
    opened.stack.preview_events = load_events("preview-events.jsonl")
    opened.stack.change_summary = {"same": 2, "create": 3, "update": 1, "replace": 1}
    ui = RecordingUi(answers=[True])
    result = core.up(options(yes=False, interactive=True), ui)
    assert opened.stack.methods() == ["export_stack", "preview", "up", "outputs"]
    assert ui.questions == ["Deploy these changes to stack 'ci' on kind-mlplat?"]
    assert ui.messages[1:5] == [
        "Changes: 3 to create, 1 to replace, 1 to update",
        "  create     1 x kubernetes:apps/v1:Deployment",
        "  create     1 x kubernetes:core/v1:Namespace",
        "  create     1 x mlplat:index:Registry",
    ]
    assert "  replace        kubernetes:batch/v1:Job registry-schema" in ui.messages
    assert ui.progress_objects[1].total == 5
    assert result.deployed


def test_declined_preview_changes_nothing(opened: Opened) -> None:
    ui = RecordingUi(answers=[False])
    with pytest.raises(MlplatError) as info:
        core.up(options(yes=False, interactive=True), ui)
    assert info.value.message == "not deployed: the changes were not confirmed; nothing changed"
    assert "up" not in opened.stack.methods()


def test_no_changes_skips_the_update(opened: Opened) -> None:
    opened.stack.change_summary = {"same": 40}
    result = core.up(options(yes=False, interactive=True), RecordingUi())
    assert not result.deployed
    assert opened.stack.methods() == ["export_stack", "preview", "outputs"]


def test_unconfirmed_and_not_interactive_is_exit_2_before_any_work(opened: Opened) -> None:
    with pytest.raises(UsageError) as info:
        core.up(options(yes=False, interactive=False), RecordingUi())
    assert info.value.exit_code == ExitCode.USAGE
    assert info.value.message == (
        "refusing to deploy the platform without confirmation: stdin is not a terminal"
    )
    assert opened.calls == []


def test_up_without_yes_off_a_terminal_is_exit_2(opened: Opened) -> None:
    """Through the CLI, with everything present: only the confirmation is missing."""
    from typer.testing import CliRunner

    from mlplat._cli import app

    result = CliRunner().invoke(app, ["up"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: refusing to deploy the platform without confirmation")
    assert opened.calls == []


def test_a_refused_run_leaves_no_passphrase_file(opened: Opened, isolated_env: Path) -> None:
    with pytest.raises(UsageError, match="without confirmation"):
        core.up(options(yes=False, interactive=False), RecordingUi())
    assert not (isolated_env / "pulumi" / "passphrase").exists()


def test_a_bad_passphrase_source_is_named_before_asking_for_yes(
    opened: Opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "/nonexistent/pp")
    with pytest.raises(MlplatError) as info:
        core.up(options(yes=False, interactive=False), RecordingUi())
    assert info.value.message == "PULUMI_CONFIG_PASSPHRASE_FILE=/nonexistent/pp does not exist"


def test_an_unreachable_cluster_is_named_before_asking_for_yes(opened: Opened) -> None:
    with pytest.raises(MlplatError, match="is unreachable"):
        core.up(options(kube_context="kind-other", yes=False, interactive=False), RecordingUi())
    assert opened.calls == []


def test_preview_changes_nothing(opened: Opened) -> None:
    opened.stack.preview_events = load_events("preview-events.jsonl")
    result = core.preview(options(yes=False), RecordingUi())
    assert opened.stack.methods() == ["export_stack", "preview"]
    assert not result.deployed and len(result.planned) == 5
    assert set(opened.stack.kwargs("preview")) == {"on_event", "on_output", "on_error"}


def test_locked_stack_names_force_unlock(opened: Opened) -> None:
    opened.stack.errors["up"] = command_error(
        auto.ConcurrentUpdateError,
        stderr="error: the stack is currently locked by 1 lock(s). Either wait for the other "
        "process(es) to end or delete the lock file with `pulumi cancel`.",
    )
    with pytest.raises(MlplatError) as info:
        core.up(options(), RecordingUi())
    assert info.value.message == "stack 'ci' is locked by another update"
    assert "`mlplat up --stack ci --force-unlock`" in (info.value.hint or "")
    assert "only way" in (info.value.hint or "")


def test_force_unlock_cancels_first(opened: Opened) -> None:
    ui = RecordingUi()
    core.up(options(force_unlock=True), ui)
    assert opened.stack.methods()[0] == "cancel"
    assert "Broke the lock on stack 'ci'." in ui.messages


def test_pending_operations_are_refused_with_the_recovery(opened: Opened) -> None:
    opened.stack.deployment = {
        "resources": [PROVIDER],
        "pending_operations": [{"resource": DEPLOYMENT, "type": "creating"}],
    }
    ui = RecordingUi()
    with pytest.raises(MlplatError) as info:
        core.up(options(), ui)
    assert info.value.message == (
        "stack 'ci' has 1 pending operation(s) from an interrupted update"
    )
    assert "`mlplat up --stack ci --recover`" in (info.value.hint or "")
    assert "kubernetes:apps/v1:Deployment registry-mlflow (interrupted while creating)" in ui.text()
    assert "up" not in opened.stack.methods()


def test_recover_refreshes_clearing_pending_creates(opened: Opened) -> None:
    opened.stack.deployment = {
        "resources": [PROVIDER],
        "pending_operations": [{"resource": DEPLOYMENT, "type": "creating"}],
    }
    ui = RecordingUi()
    core.up(options(recover=True), ui)
    assert opened.stack.methods() == ["export_stack", "refresh", "up", "outputs"]
    refresh = opened.stack.kwargs("refresh")
    assert refresh["clear_pending_creates"] is True
    assert refresh["on_event"] is ui.callbacks[0]


def test_interactive_recovery_is_offered(opened: Opened) -> None:
    opened.stack.deployment = {"pending_operations": [{"resource": DEPLOYMENT, "type": "updating"}]}
    ui = RecordingUi(answers=[True, True])
    core.up(options(yes=False, interactive=True), ui)
    assert ui.questions[0] == (
        "Refresh the stack from the cluster and clear the pending creates now?"
    )
    assert "refresh" in opened.stack.methods()


def test_a_stack_pinned_to_another_cluster_is_refused(opened: Opened) -> None:
    opened.stack.deployment = {"resources": [{**PROVIDER, "inputs": {"context": "kind-prod"}}]}
    with pytest.raises(UsageError) as info:
        core.up(options(), RecordingUi())
    assert info.value.message == (
        "stack 'ci' deploys to kube context 'kind-prod', but this run resolved 'kind-mlplat'"
    )
    assert "--kube-context kind-prod" in (info.value.hint or "")


def test_unreachable_cluster_is_exit_1_naming_doctor(opened: Opened) -> None:
    with pytest.raises(MlplatError) as info:
        core.up(options(kube_context="kind-other"), RecordingUi())
    assert info.value.exit_code == ExitCode.FAILURE
    assert info.value.message.startswith(
        "the Kubernetes cluster of context 'kind-other' is unreachable: https://127.0.0.1:"
    )
    assert "`mlplat doctor`" in (info.value.hint or "")
    assert opened.calls == []


def test_unreachable_cluster_reported_by_the_provider(opened: Opened) -> None:
    opened.stack.errors["up"] = command_error(
        code=1,
        stderr="error: configured Kubernetes cluster is unreachable: unable to load schema "
        'information from the API server: Get "https://127.0.0.1:6443/openapi/v2": dial tcp '
        "127.0.0.1:6443: connect: connection refused",
    )
    with pytest.raises(MlplatError) as info:
        core.up(options(), RecordingUi())
    assert info.value.exit_code == ExitCode.FAILURE
    assert info.value.message.startswith("the Kubernetes cluster is unreachable: configured")
    assert "`mlplat doctor`" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (1, ExitCode.FAILURE),
        (2, ExitCode.USAGE),
        (3, ExitCode.AUTH),
        (4, ExitCode.RESOURCE),
        (5, ExitCode.POLICY),
        (6, ExitCode.STACK_NOT_FOUND),
        (9, ExitCode.TIMEOUT),
        (255, ExitCode.FAILURE),
    ],
)
def test_deploy_failures_keep_pulumis_exit_code(
    opened: Opened, code: int, expected: ExitCode
) -> None:
    opened.stack.up_events = load_events("up-failed-events.jsonl")
    opened.stack.errors["up"] = command_error(code=code, stderr="error: update failed")
    with pytest.raises(MlplatError) as info:
        core.up(options(), RecordingUi())
    assert info.value.exit_code == expected
    assert info.value.message.startswith(
        "up of stack 'ci' failed: kubernetes:apps/v1:Deployment registry-mlflow failed to "
        "update: resource mlplat-registry/mlflow was not successfully created"
    )


def test_failure_without_events_uses_the_clis_error_lines(opened: Opened) -> None:
    opened.stack.errors["up"] = command_error(
        code=3, stderr="warning: x\nerror: failed to load checkpoint: AccessDenied"
    )
    with pytest.raises(MlplatError) as info:
        core.up(options(), RecordingUi())
    assert info.value.message == "up of stack 'ci' failed: failed to load checkpoint: AccessDenied"
    assert info.value.exit_code == ExitCode.AUTH
    assert "credentials" in (info.value.hint or "")


def test_wrong_passphrase(opened: Opened) -> None:
    opened.stack.errors["export_stack"] = command_error(
        code=1,
        stderr="error: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to the correct "
        "passphrase or set PULUMI_CONFIG_PASSPHRASE_FILE to a file containing the passphrase.",
    )
    with pytest.raises(MlplatError) as info:
        core.up(options(), RecordingUi())
    assert info.value.message == "the passphrase does not open stack 'ci''s secrets"
    assert info.value.exit_code == ExitCode.AUTH


def test_cancel_reports_the_stack_state(opened: Opened) -> None:
    opened.stack.errors["up"] = command_error(code=8, stderr="error: update cancelled")
    with pytest.raises(MlplatError) as info:
        core.up(options(), RecordingUi())
    assert info.value.exit_code == ExitCode.CANCELLED
    assert info.value.message == (
        "cancelled: 0 change(s) finished before the cancel; its state is saved with no pending "
        "operations"
    )
    assert "`mlplat up --stack ci`" in (info.value.hint or "")


def test_ctrl_c_during_up_lets_the_engine_cancel(opened: Opened) -> None:
    """First SIGINT: mlplat keeps serving the program and reports the cancel (exit 8)."""
    ui = RecordingUi()

    def up_then_interrupted(**kwargs: Any) -> Any:
        signal.raise_signal(signal.SIGINT)  # the handler must swallow the first one
        opened.stack.deployment = {
            "resources": [PROVIDER],
            "pending_operations": [{"resource": DEPLOYMENT, "type": "creating"}],
        }
        raise command_error(code=1, stderr="error: update canceled")

    opened.stack.up = up_then_interrupted  # type: ignore[method-assign]
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(MlplatError) as info:
        core.up(options(), ui)
    assert signal.getsignal(signal.SIGINT) is before
    assert info.value.exit_code == ExitCode.CANCELLED
    assert "its state has 1 pending operation(s)" in info.value.message
    assert any(m.startswith("Cancelling: Pulumi finishes the operations") for m in ui.messages)


def test_second_ctrl_c_stops_at_once(opened: Opened) -> None:
    def interrupted_twice(**kwargs: Any) -> Any:
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)
        raise AssertionError("not reached")

    opened.stack.up = interrupted_twice  # type: ignore[method-assign]
    with pytest.raises(MlplatError) as info:
        core.up(options(), RecordingUi())
    assert info.value.exit_code == ExitCode.INTERRUPTED
    assert info.value.message == (
        "stopped at once: operations in flight on stack 'ci' may be unfinished"
    )
    assert "--force-unlock" in (info.value.hint or "")


def test_a_missing_secret_names_the_environment_variable(opened: Opened) -> None:
    from mlplat_platform import ConfigError

    def failing_up(**kwargs: Any) -> Any:
        program = opened.calls[0][1]["program"]
        import mlplat_platform.program as program_module

        def needs_secret(config: Any, secrets: Any) -> None:
            raise ConfigError(
                "database.external",
                "needs the secret mlplat:db_password; set it with `pulumi config set ...`",
            )

        original = program_module.build_platform
        program_module.build_platform = needs_secret  # type: ignore[assignment]
        try:
            with pytest.raises(ConfigError):
                program()
        finally:
            program_module.build_platform = original  # type: ignore[assignment]
        raise command_error(
            auto.InlineSourceRuntimeError, stdout="python inline source runtime error"
        )

    opened.stack.up = failing_up  # type: ignore[method-assign]
    with pytest.raises(UsageError) as info:
        core.up(options(), RecordingUi())
    assert info.value.message == (
        "database.external needs the secret mlplat:db_password, which the stack does not have"
    )
    assert info.value.hint == (
        "Set MLPLAT_DB_PASSWORD in the environment; mlplat stores it encrypted in the stack's "
        "config."
    )


def test_bad_config_file_is_exit_2_before_pulumi(opened: Opened, tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("domian: ml.example.com\n")
    with pytest.raises(UsageError) as info:
        core.up(options(config=bad), RecordingUi())
    assert info.value.message.startswith(f"invalid platform config in {bad}: domian: unknown key")
    assert opened.calls == []


def test_first_run_says_where_the_passphrase_is(opened: Opened, isolated_env: Path) -> None:
    ui = RecordingUi()
    core.up(options(), ui)
    path = isolated_env / "pulumi" / "passphrase"
    assert ui.messages[0].startswith(f"Created the state passphrase in {path} (mode 0600).")
    ui2 = RecordingUi()
    core.up(options(), ui2)
    assert not any("passphrase" in m for m in ui2.messages)


def test_progress_model_is_fresh_per_run(opened: Opened) -> None:
    opened.stack.up_events = load_events("up-events.jsonl")
    ui = RecordingUi()
    core.up(options(), ui)
    core.up(options(), ui)
    assert [p.done for p in ui.progress_objects if isinstance(p, Progress)] == [7, 7]
