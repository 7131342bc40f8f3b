"""``mlplat deploy``: platform outputs in, its own stack, canary and promote through MLflow."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pulumi import automation as auto
from typer.testing import CliRunner

from mlplat import stack as core_api
from mlplat._cli import app
from mlplat.errors import ExitCode, MlplatError, UsageError
from mlplat.stack import StackOptions
from mlplat.stack.deploy import DeployOptions, deploy
from mlplat_platform.deployment import RecordsStore
from tests.stack.conftest import FakeStack, Opened, RecordingUi, command_error
from tests.stack.test_deployment import make_project
from tests.stack.test_up import PROVIDER

pytestmark = pytest.mark.usefixtures("fake_pulumi", "kubeconfig")
runner = CliRunner()


def platform_stack() -> FakeStack:
    return FakeStack(
        name="dev",
        deployment={"resources": [PROVIDER]},
        outputs_map={
            "mlflow_internal_url": auto.OutputValue(
                "http://mlflow.mlplat-registry.svc.cluster.local:5000", False
            ),
            "models_namespace": auto.OutputValue("mlplat-models", False),
            "models_service_account": auto.OutputValue("mlplat-models", False),
            "mlflow_port_forward": auto.OutputValue(
                "kubectl -n mlplat-registry port-forward svc/mlflow 5000:5000", False
            ),
        },
    )


@pytest.fixture
def stacks(opened: Opened) -> Opened:
    opened.projects["mlplat"] = platform_stack()
    opened.stack.outputs_map = {
        "port_forward": auto.OutputValue(
            "kubectl -n mlplat-models port-forward svc/churn-model-predictor 8080:80", False
        ),
        "infer_path": auto.OutputValue("/v2/models/churn/infer", False),
    }
    return opened


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "churn")


@pytest.fixture
def mlflow() -> Iterator[dict[str, Any]]:
    """A fake MLflow registry: aliases by (model, alias); records alias changes."""
    state: dict[str, Any] = {"aliases": {("churn", "champion"): "3", ("churn", "challenger"): "4"}}
    state["posts"] = []

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            query = parse_qs(urlsplit(self.path).query)
            key = (query["name"][0], query["alias"][0])
            # As MLflow 3.17.2 answers (mlflow/store/model_registry/sqlalchemy_store.py,
            # get_model_version_by_alias), seen against a real server in tests/live.
            if key[0] not in {model for model, _ in state["aliases"]}:
                message = f"Registered Model with name={key[0]} not found"
                self._send(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": message})
                return
            if key not in state["aliases"]:
                message = f"Registered model alias {key[1]} not found."
                self._send(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": message})
                return
            self._send(200, {"model_version": {"version": state["aliases"][key]}})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state["posts"].append(body)
            state["aliases"][(body["name"], body["alias"])] = body["version"]
            self._send(200, {})

        def log_message(self, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def options(project: Path, **overrides: Any) -> DeployOptions:
    stack = overrides.pop("stack", StackOptions(stack="dev", yes=True))
    return DeployOptions(stack=dataclasses.replace(stack, project=project), **overrides)


def deployed_args(opened: Opened) -> Any:
    """Run the deployment program the SDK was handed, capturing ModelDeploymentArgs."""
    import mlplat_platform.deployment as module

    seen: list[Any] = []
    original = module.build_deployment

    def capture(args: Any, kube_context: str | None) -> dict[str, Any]:
        seen.append((args, kube_context))
        return {}

    module.build_deployment = capture  # type: ignore[assignment]
    try:
        programs = [k["program"] for kind, k in opened.calls if k["project_name"] != "mlplat"]
        programs[-1]()  # the last deploy's program
    finally:
        module.build_deployment = original  # type: ignore[assignment]
    return seen[0]


def test_deploy_reads_the_platform_and_uses_its_own_stack(stacks: Opened, project: Path) -> None:
    ui = RecordingUi()
    result = deploy(options(project), ui)
    kinds = [(kind, k["project_name"], k["stack_name"]) for kind, k in stacks.calls]
    assert kinds == [
        ("select_stack", "mlplat", "dev"),
        ("create_or_select_stack", "mlplat-model-churn-model", "dev"),
    ]
    assert stacks.projects["mlplat"].methods() == ["outputs", "export_stack"]
    assert stacks.stack.methods() == ["export_stack", "up", "outputs"]
    args, context = deployed_args(stacks)
    assert context == "kind-mlplat"
    assert (args.name, args.image, args.model_name) == ("churn-model", "churn_model:1.2.0", "churn")
    assert args.tracking_uri == "http://mlflow.mlplat-registry.svc.cluster.local:5000"
    assert (args.alias, args.canary, args.version) == ("champion", None, None)
    assert args.records == RecordsStore()  # a platform without models_s3_* outputs: defaults
    assert ui.progress_titles == ["Deploying model churn (stack dev)"]
    assert result.reach() == [
        "Reach it: kubectl --context kind-mlplat -n mlplat-models port-forward "
        "svc/churn-model-predictor 8080:80",
        "then POST http://localhost:8080/v2/models/churn/infer (Open Inference Protocol V2)",
    ]


def test_records_go_to_the_object_store_the_platform_names(stacks: Opened, project: Path) -> None:
    outputs = stacks.projects["mlplat"].outputs_map
    outputs["models_s3_endpoint"] = auto.OutputValue("https://s3.example.org", False)
    outputs["models_s3_bucket"] = auto.OutputValue("team-bucket", False)
    outputs["models_s3_region"] = auto.OutputValue("eu-west-1", False)
    outputs["models_s3_secret"] = auto.OutputValue("mlplat-s3", False)
    deploy(options(project), RecordingUi())
    args, _ = deployed_args(stacks)
    assert args.records == RecordsStore(
        endpoint="https://s3.example.org", bucket="team-bucket", region="eu-west-1"
    )


def test_image_and_replicas_flags(stacks: Opened, project: Path) -> None:
    deploy(options(project, image="ghcr.io/acme/churn:sha-1", min_replicas=2, max_replicas=4))
    args, _ = deployed_args(stacks)
    assert (args.image, args.min_replicas, args.max_replicas) == ("ghcr.io/acme/churn:sha-1", 2, 4)


def test_canary_pins_both_versions(stacks: Opened, project: Path, mlflow: dict[str, Any]) -> None:
    deploy(options(project, canary=10, tracking_uri=mlflow["url"]))
    args, _ = deployed_args(stacks)
    assert args.version == "3"
    assert (args.canary.percent, args.canary.alias, args.canary.version) == (10, "challenger", "4")
    assert mlflow["posts"] == []


def test_promote_moves_the_champion_alias_after_confirmation(
    stacks: Opened, project: Path, mlflow: dict[str, Any]
) -> None:
    ui = RecordingUi(answers=[False])
    with pytest.raises(MlplatError, match="not confirmed"):
        deploy(
            options(
                project,
                promote=True,
                tracking_uri=mlflow["url"],
                stack=StackOptions(stack="dev", interactive=True),
            ),
            ui,
        )
    assert mlflow["posts"] == []
    result = deploy(options(project, promote=True, tracking_uri=mlflow["url"]), RecordingUi())
    assert mlflow["posts"] == [{"name": "churn", "alias": "champion", "version": "4"}]
    args, _ = deployed_args(stacks)
    assert (args.alias, args.version, args.canary) == ("champion", "4", None)
    assert result.promoted_version == "4"


def test_canary_without_a_reachable_mlflow_names_the_port_forward(
    stacks: Opened, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with pytest.raises(UsageError) as info:
        deploy(options(project, canary=5))
    assert info.value.message.startswith("--canary reads the champion and challenger versions")
    assert info.value.hint == (
        "Run `kubectl --context kind-mlplat -n mlplat-registry port-forward svc/mlflow "
        "5000:5000` in another terminal, then pass --tracking-uri http://localhost:5000."
    )


def test_missing_challenger_is_reported(
    stacks: Opened, project: Path, mlflow: dict[str, Any]
) -> None:
    del mlflow["aliases"][("churn", "challenger")]
    with pytest.raises(MlplatError) as info:
        deploy(options(project, promote=True, tracking_uri=mlflow["url"]))
    assert info.value.message == "model 'churn' has no version with alias 'challenger' in MLflow"
    assert "create_or_select_stack" not in [kind for kind, _ in stacks.calls]


def test_unregistered_model_is_reported(
    stacks: Opened, project: Path, mlflow: dict[str, Any]
) -> None:
    mlflow["aliases"].clear()
    with pytest.raises(MlplatError) as info:
        deploy(options(project, canary=10, tracking_uri=mlflow["url"]))
    assert info.value.message == "model 'churn' is not registered in MLflow"
    assert "pipeline" in (info.value.hint or "")


def test_unreachable_mlflow(stacks: Opened, project: Path) -> None:
    with pytest.raises(MlplatError, match="MLflow at http://127.0.0.1:9 is unreachable"):
        deploy(options(project, canary=5, tracking_uri="http://127.0.0.1:9"))


def test_no_platform_stack_is_exit_6(opened: Opened, project: Path) -> None:
    platform = FakeStack()
    platform.errors["select_stack"] = command_error(
        auto.StackNotFoundError, stderr="error: no stack named 'dev' found"
    )
    opened.projects["mlplat"] = platform
    with pytest.raises(MlplatError) as info:
        deploy(options(project))
    assert info.value.exit_code == ExitCode.STACK_NOT_FOUND
    assert info.value.message == "there is no platform stack 'dev' in this backend to deploy onto"
    assert "`mlplat up --stack dev`" in (info.value.hint or "")


def test_empty_platform_stack(opened: Opened, project: Path) -> None:
    opened.projects["mlplat"] = FakeStack()
    with pytest.raises(MlplatError, match="platform stack 'dev' has no platform deployed"):
        deploy(options(project))


def test_outside_a_project(stacks: Opened, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="mlplat new"):
        deploy(options(tmp_path))
    assert stacks.calls == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"canary": 5, "promote": True}, "--canary and --promote cannot be combined"),
        ({"canary": 150}, "is not a percentage"),
        ({"min_replicas": 3}, "--min-replicas"),
    ],
)
def test_bad_rollout_flags(overrides: dict[str, Any], message: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=message):
        options(tmp_path, **overrides)


def test_cli_flags_reach_the_core(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    import mlplat.stack.deploy as core

    seen: list[DeployOptions] = []

    def fake(opts: DeployOptions, ui: Any = None) -> Any:
        seen.append(opts)
        raise MlplatError("stop here", exit_code=ExitCode.RESOURCE)

    monkeypatch.setattr(core, "deploy", fake)
    result = runner.invoke(
        app,
        [
            "deploy",
            "--project",
            str(project),
            "--image",
            "churn:2",
            "--canary",
            "15",
            "--tracking-uri",
            "http://localhost:5000",
            "--stack",
            "prod",
            "--platform-stack",
            "platform",
            "--backend",
            "s3://b",
            "--min-replicas",
            "2",
            "--max-replicas",
            "3",
            "--yes",
        ],
    )
    assert result.exit_code == 4
    assert seen == [
        DeployOptions(
            stack=StackOptions(stack="prod", backend="s3://b", yes=True, project=project),
            image="churn:2",
            platform_stack="platform",
            canary=15,
            tracking_uri="http://localhost:5000",
            min_replicas=2,
            max_replicas=3,
        )
    ]


def test_deploy_without_yes_off_a_terminal_is_exit_2(stacks: Opened, project: Path) -> None:
    result = runner.invoke(app, ["deploy", "--project", str(project)])
    assert result.exit_code == 2
    assert "refusing to deploy the model without confirmation" in result.stderr
    assert [kind for kind, _ in stacks.calls] == ["select_stack"]  # the platform, read only


def test_preview_changes_nothing_and_needs_no_confirmation(
    stacks: Opened, project: Path, mlflow: dict[str, Any]
) -> None:
    """What a pull request's workflow runs: no --yes off a terminal, no update, no alias move."""
    result = deploy(
        options(
            project,
            promote=True,
            tracking_uri=mlflow["url"],
            preview=True,
            stack=StackOptions(stack="dev", interactive=False),
        ),
        RecordingUi(),
    )
    assert "up" not in stacks.stack.methods() and "preview" in stacks.stack.methods()
    assert mlflow["posts"] == [] and result.promoted_version is None
    assert result.up.deployed is False


def test_preview_flag_reaches_the_core(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    import mlplat.stack.deploy as core

    seen: list[DeployOptions] = []

    def fake(opts: DeployOptions, ui: Any = None) -> Any:
        seen.append(opts)
        raise MlplatError("stop here")

    monkeypatch.setattr(core, "deploy", fake)
    result = runner.invoke(app, ["deploy", "--project", str(project), "--preview"])
    assert result.exit_code == 1
    assert seen == [DeployOptions(stack=StackOptions(project=project), preview=True)]


ISVC = {
    "urn": "urn:pulumi:dev::mlplat-model-churn-model::mlplat:index:ModelDeployment$"
    "kubernetes:serving.kserve.io/v1beta1:InferenceService::churn-model",
    "type": "kubernetes:serving.kserve.io/v1beta1:InferenceService",
}


def test_down_project_destroys_only_the_deployment_stack(opened: Opened, project: Path) -> None:
    """Removing a model reads neither the platform's stack nor MLflow: it works after the
    platform is gone, and never touches the platform's resources."""
    opened.projects["mlplat"] = FakeStack(errors={"select_stack": RuntimeError("not read")})
    opened.stack.deployment = {"resources": [PROVIDER, ISVC]}
    opened.stack.after_destroy = {"resources": []}
    ui = RecordingUi()
    result = core_api.down(StackOptions(stack="dev", yes=True, project=project), ui)
    assert [(kind, k["project_name"]) for kind, k in opened.calls] == [
        ("select_stack", "mlplat-model-churn-model")
    ]
    assert opened.stack.methods() == ["export_stack", "destroy", "export_stack"]
    assert opened.stack.kwargs("destroy")["exclude_protected"] is True
    assert ui.progress_titles == ["Destroying model churn (stack dev)"]
    assert (result.kept, result.stack) == (0, "dev")


def test_down_project_asks_first(opened: Opened, project: Path) -> None:
    opened.stack.deployment = {"resources": [PROVIDER, ISVC]}
    ui = RecordingUi(answers=[False])
    with pytest.raises(MlplatError, match="not confirmed; nothing changed"):
        core_api.down(StackOptions(stack="dev", interactive=True, project=project), ui)
    assert ui.questions == [
        "Destroy stack 'dev' on kube context 'kind-mlplat': 1 resources, keeping the 0 "
        "protected data resources?"
    ]
    assert "destroy" not in opened.stack.methods()


def test_status_project_reads_the_deployment_stack(stacks: Opened, project: Path) -> None:
    stacks.stack.deployment = {"resources": [PROVIDER, ISVC]}
    result = core_api.status(StackOptions(stack="dev", project=project), RecordingUi())
    assert [(kind, k["project_name"]) for kind, k in stacks.calls] == [
        ("select_stack", "mlplat-model-churn-model")
    ]
    assert result.outputs.public["infer_path"] == "/v2/models/churn/infer"
    assert (result.resources, result.kube_context) == (1, "kind-mlplat")


def test_down_and_status_project_cli(monkeypatch: pytest.MonkeyPatch, project: Path) -> None:
    seen: list[tuple[str, StackOptions]] = []

    def fake(name: str) -> Any:
        def run(opts: StackOptions, ui: Any = None) -> Any:
            seen.append((name, opts))
            raise MlplatError("stop here", exit_code=ExitCode.RESOURCE)

        return run

    monkeypatch.setattr(core_api, "down", fake("down"))
    monkeypatch.setattr(core_api, "status", fake("status"))
    down = runner.invoke(app, ["down", "--project", str(project), "--stack", "prod", "--yes"])
    status = runner.invoke(app, ["status", "--project", str(project), "--backend", "s3://b"])
    assert (down.exit_code, status.exit_code) == (4, 4)
    assert seen == [
        ("down", StackOptions(stack="prod", yes=True, project=project)),
        ("status", StackOptions(stack="dev", backend="s3://b", project=project)),
    ]


def test_down_project_outside_a_project_is_exit_2(opened: Opened, tmp_path: Path) -> None:
    result = runner.invoke(app, ["down", "--project", str(tmp_path), "--yes"])
    assert result.exit_code == 2
    assert "is not inside a project made by `mlplat new`" in result.stderr
    assert opened.calls == []


@pytest.mark.parametrize("command", ["status", "down"])
def test_status_and_down_of_a_model_never_deployed_say_how_to_deploy_it(
    opened: Opened, project: Path, command: str
) -> None:
    # Seen for real: `mlplat status --project .` before any deploy told the user to run
    # `mlplat up`, which deploys the platform, not the model.
    opened.stack.errors["select_stack"] = command_error(
        auto.StackNotFoundError, code=6, stderr="error: no stack named 'dev' found"
    )
    run = core_api.status if command == "status" else core_api.down
    with pytest.raises(MlplatError) as info:
        run(StackOptions(stack="dev", yes=True, project=project), RecordingUi())
    assert info.value.exit_code == ExitCode.STACK_NOT_FOUND
    assert info.value.message == "model churn has no deployment (stack 'dev') in this backend"
    assert info.value.hint == (
        "Deploy it with `mlplat deploy --stack dev` in the project, or pass the --backend "
        "it lives in."
    )
