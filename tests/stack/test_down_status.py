"""``mlplat down`` keeps protected data unless told; ``status`` reads without changing."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi import automation as auto

from mlplat import stack as core
from mlplat.errors import ExitCode, MlplatError, UsageError
from tests.stack.conftest import Opened, RecordingUi, command_error, load_events
from tests.stack.test_up import DB_VOLUME, DEPLOYMENT, PROVIDER

pytestmark = pytest.mark.usefixtures("fake_pulumi", "kubeconfig")

STATE = {"resources": [PROVIDER, DB_VOLUME, DEPLOYMENT]}


def options(**overrides: Any) -> core.StackOptions:
    values: dict[str, Any] = {"stack": "ci", "yes": True}
    values.update(overrides)
    return core.StackOptions(**values)


def test_down_excludes_protected_resources(opened: Opened) -> None:
    opened.stack.deployment = dict(STATE)
    opened.stack.after_destroy = {"resources": [PROVIDER, DB_VOLUME]}
    opened.stack.up_events = []
    ui = RecordingUi()
    result = core.down(options(), ui)
    assert opened.calls[0][0] == "select_stack"
    assert opened.stack.methods() == ["export_stack", "destroy", "export_stack"]
    destroy = opened.stack.kwargs("destroy")
    assert destroy["exclude_protected"] is True
    assert destroy["on_event"] is ui.callbacks[0]
    assert (result.kept, result.released) == (1, 0)


def test_down_asks_once_and_names_what_it_keeps(opened: Opened) -> None:
    opened.stack.deployment = dict(STATE)
    ui = RecordingUi(answers=[True])
    core.down(options(yes=False, interactive=True), ui)
    assert ui.questions == [
        "Destroy stack 'ci' on kube context 'kind-mlplat': 1 resources, keeping the 1 "
        "protected data resources?"
    ]


def test_delete_data_asks_again_then_releases_protection(opened: Opened) -> None:
    opened.stack.deployment = dict(STATE)
    opened.stack.after_destroy = {"resources": []}
    ui = RecordingUi(answers=[True, True])
    result = core.down(options(yes=False, interactive=True, delete_data=True), ui)
    assert ui.questions == [
        "Destroy all 2 resources of stack 'ci' on kube context 'kind-mlplat', INCLUDING the 1 "
        "protected data resources?",
        "The database, object store and their volumes cannot be recovered. Delete them?",
    ]
    assert opened.stack.methods() == [
        "export_stack",
        "export_stack",
        "import_stack",
        "destroy",
        "export_stack",
    ]
    imported = opened.stack.kwargs("import_stack")["state"]
    assert isinstance(imported, auto.Deployment) and imported.version == 3
    for resource in imported.deployment["resources"]:
        assert "protect" not in resource and "retainOnDelete" not in resource
    assert opened.stack.kwargs("destroy")["exclude_protected"] is False
    assert result.released == 1 and result.kept == 0


def test_delete_data_declined_the_second_time_changes_nothing(opened: Opened) -> None:
    opened.stack.deployment = dict(STATE)
    with pytest.raises(MlplatError) as info:
        core.down(
            options(yes=False, interactive=True, delete_data=True), RecordingUi([True, False])
        )
    assert info.value.message == (
        "not destroyed: deleting the data was not confirmed; nothing changed"
    )
    assert opened.stack.methods() == ["export_stack"]


def test_yes_confirms_delete_data(opened: Opened) -> None:
    opened.stack.deployment = dict(STATE)
    ui = RecordingUi()
    core.down(options(delete_data=True), ui)
    assert ui.questions == []
    assert "Removed the protection of 1 resource(s)." in ui.messages


def test_down_of_a_missing_stack_is_exit_6(opened: Opened) -> None:
    opened.stack.errors["select_stack"] = command_error(
        auto.StackNotFoundError, stderr="error: no stack named 'ci' found"
    )
    with pytest.raises(MlplatError) as info:
        core.down(options(), RecordingUi())
    assert info.value.exit_code == ExitCode.STACK_NOT_FOUND
    assert info.value.message == "there is no stack 'ci' in this backend"


def test_down_without_confirmation_is_exit_2(opened: Opened) -> None:
    with pytest.raises(UsageError):
        core.down(options(yes=False), RecordingUi())
    assert opened.calls == []


def test_down_on_an_unreachable_pinned_cluster(opened: Opened) -> None:
    opened.stack.deployment = {"resources": [{**PROVIDER, "inputs": {"context": "kind-other"}}]}
    with pytest.raises(MlplatError) as info:
        core.down(options(), RecordingUi())
    assert "context 'kind-other' is unreachable" in info.value.message
    assert "destroy" not in opened.stack.methods()


def test_down_refuses_another_kube_context(opened: Opened) -> None:
    opened.stack.deployment = dict(STATE)
    with pytest.raises(UsageError) as info:
        core.down(options(kube_context="kind-other"), RecordingUi())
    assert info.value.message == (
        "stack 'ci' is deployed to kube context 'kind-mlplat', not 'kind-other'"
    )


def test_empty_stack_has_nothing_to_destroy(opened: Opened) -> None:
    ui = RecordingUi()
    result = core.down(options(), ui)
    assert result.deleted == 0 and "destroy" not in opened.stack.methods()
    assert "Stack 'ci' has no resources; nothing to destroy." in ui.messages


def test_failed_destroy_keeps_the_exit_code(opened: Opened) -> None:
    opened.stack.deployment = dict(STATE)
    opened.stack.errors["destroy"] = command_error(code=4, stderr="error: destroy failed")
    with pytest.raises(MlplatError) as info:
        core.down(options(), RecordingUi())
    assert info.value.exit_code == ExitCode.RESOURCE
    assert info.value.message == "down of stack 'ci' failed: destroy failed"


def test_status_reads_outputs_history_and_counts(opened: Opened) -> None:
    opened.stack.deployment = {
        **STATE,
        "pending_operations": [{"resource": DEPLOYMENT, "type": "updating"}],
    }
    opened.stack.outputs_map = {
        "mlflow_url": auto.OutputValue("https://mlflow.ml.example.com", False),
        "auth_password": auto.OutputValue("hunter2", True),
    }
    opened.stack.stacks = [
        auto.StackSummary(name="organization/mlplat/ci", current=True, update_in_progress=True)
    ]
    result = core.status(options(yes=False), RecordingUi())
    assert opened.calls[0][0] == "select_stack"
    assert opened.stack.kwargs("info") == {"show_secrets": False}
    data = result.as_dict()
    assert data == {
        "stack": "ci",
        "backend": data["backend"],
        "kube_context": "kind-mlplat",
        "outputs": {"mlflow_url": "https://mlflow.ml.example.com"},
        "secret_outputs": ["auth_password"],
        "last_update": {
            "kind": "update",
            "result": "succeeded",
            "start": "2026-10-01T12:00:00",
            "end": "2026-10-01T12:03:00",
            "changes": {"create": 7},
        },
        "resources": {"total": 2, "protected": 1, "pending_operations": 1},
        "locked": True,
    }
    assert "hunter2" not in repr(data)
    shown = core.status(options(show_secrets=True), RecordingUi())
    assert shown.as_dict()["secret_values"] == {"auth_password": "hunter2"}


def test_status_progress_events_are_not_needed(opened: Opened) -> None:
    opened.stack.up_events = load_events("up-events.jsonl")
    core.status(options(), RecordingUi())
    assert "up" not in opened.stack.methods()


def test_status_of_a_stack_whose_first_up_created_nothing_shows_no_way_to_reach_it(
    opened: Opened,
) -> None:
    # Seen for real: the first `up` failed at the provider; the engine had already recorded
    # the program's outputs, and `status` printed port-forward commands to a platform that
    # does not exist.
    opened.stack.deployment = {"resources": [PROVIDER]}
    opened.stack.outputs_map = {
        "mlflow_port_forward": auto.OutputValue("kubectl -n r port-forward svc/mlflow 5000", False),
        "auth_password": auto.OutputValue("hunter2", True),
    }
    data = core.status(options(), RecordingUi()).as_dict()
    assert data["resources"]["total"] == 0
    assert data["outputs"] == {} and data["secret_outputs"] == []
