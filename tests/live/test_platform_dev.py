"""The dev platform for real, through the CLI as a user types it, on the local control plane.

One ordered scenario on one cluster (each real ``up`` costs minutes): doctor; ``up --profile
dev`` creates every object ``render`` lists, with every pod admitted under its namespace's Pod
Security level; ``preview`` and a second ``up`` change nothing; ``status --json``; a changed
size updates in place; a generated project's model is deployed, rolled out as a canary,
promoted against a real MLflow server, inspected and removed; ``down`` keeps the data holders,
and ``up`` after it (interrupted by Ctrl-C, SIGKILL and the API server stopping, each resumed
the way mlplat says) finds them again; ``down --delete-data`` leaves no mlplat object.

A step that fails makes the later ones skip: they build on its state.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.live.live_helpers import (
    PLATFORM_NAMESPACES,
    Deployer,
    cluster_scoped,
    deployer,
    existing_namespaces,
    kubectl_json,
    missing_objects,
    pod_security_problems,
    rendered_objects,
    require_deploy_toolchain,
)
from tests.live.live_mlflow import MlflowServer, mlflow_executable, mlflow_server
from toolchain.cluster import Cluster

pytestmark = [pytest.mark.live, pytest.mark.slow]

UP = ("up", "--yes", "--profile", "dev", "--json")

#: Seconds an interrupted ``up`` runs before its signal: well inside a full deploy.
INTERRUPT_AFTER = 20

#: A size change: more memory for MLflow and the database, a larger database volume.
RESIZED = """\
profile: dev
sizing:
  mlflow_memory: 640Mi
  database_memory: 320Mi
  database_size: 3Gi
"""


@dataclass
class Scenario:
    """What the ordered steps share: the runner, and the first failure (later steps skip)."""

    mlplat: Deployer
    cluster: Cluster
    mlflow: MlflowServer
    baseline: set[str] = field(default_factory=set)
    broken: str | None = None
    config: tuple[str, ...] = ()
    data_uids: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self.broken:
            pytest.skip(f"an earlier step failed: {self.broken}")
        try:
            yield
        except BaseException:
            self.broken = name
            raise


@pytest.fixture(scope="module")
def scenario(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    require_deploy_toolchain()  # before the cluster: skip fast where nothing can deploy
    mlflow_executable()
    cluster: Cluster = request.getfixturevalue("local_cluster")
    home = tmp_path_factory.mktemp("live-dev")
    mlplat = deployer(request, cluster, home)
    with mlflow_server(home / "mlflow") as mlflow:  # starts now, used by the deploy step
        yield Scenario(
            mlplat=mlplat, cluster=cluster, mlflow=mlflow, baseline=cluster_scoped(cluster)
        )


def changed(result: dict[str, Any]) -> dict[str, int]:
    return {op: n for op, n in result["changes"].items() if op != "same" and n}


def data_holders(cluster: Cluster) -> dict[str, str]:
    """UID of every data holder: the database, the object store's volume, their secrets."""
    uids: dict[str, str] = {}
    for namespace in ("mlplat-database", "mlplat-storage"):
        for kind in ("persistentvolumeclaims", "secrets", "clusters.postgresql.cnpg.io"):
            if kind.startswith("clusters") and namespace != "mlplat-database":
                continue
            for item in kubectl_json(cluster, "get", kind, "-n", namespace)["items"]:
                meta = item["metadata"]
                uids[f"{kind} {namespace}/{meta['name']}"] = meta["uid"]
    return uids


def test_doctor_passes(scenario: Scenario) -> None:
    with scenario.step("doctor"):
        run = scenario.mlplat("doctor")
        assert "PASS  pulumi CLI" in run.stdout


def test_up_dev_creates_what_render_lists(scenario: Scenario, tmp_path: Path) -> None:
    with scenario.step("up"):
        result = scenario.mlplat(*UP).json()
        assert result["deployed"] and result["changes"].get("create", 0) > 0
        scenario.mlplat("render", "--profile", "dev", "--out", str(tmp_path / "render"))
        wanted = rendered_objects(tmp_path / "render")
        assert len(wanted) > 50
        assert missing_objects(scenario.cluster, wanted) == []
        namespaces = sorted(set(PLATFORM_NAMESPACES) & existing_namespaces(scenario.cluster))
        assert pod_security_problems(scenario.cluster, namespaces) == []
        scenario.data_uids = data_holders(scenario.cluster)


def test_preview_and_second_up_change_nothing(scenario: Scenario) -> None:
    with scenario.step("no-op"):
        preview = scenario.mlplat("preview", "--profile", "dev", "--json").json()
        assert changed(preview) == {}
        again = scenario.mlplat(*UP).json()
        assert changed(again) == {}


def test_status_json_shows_outputs(scenario: Scenario) -> None:
    with scenario.step("status"):
        status = scenario.mlplat("status", "--json").json()
        outputs = status["outputs"]
        assert outputs["mlflow_internal_url"].startswith("http://mlflow.mlplat-registry")
        assert outputs["models_namespace"] == "mlplat-models"
        assert "auth_password" in status["secret_outputs"]
        assert "auth_password" not in outputs


def test_changed_size_updates_in_place(scenario: Scenario) -> None:
    with scenario.step("resize"):
        config = scenario.mlplat.cwd / "resized.yaml"
        config.write_text(RESIZED, encoding="utf-8")
        scenario.config = ("--config", str(config))
        result = scenario.mlplat("up", "--yes", "--json", *scenario.config).json()
        assert changed(result).keys() == {"update"}, result["changes"]
        mlflow = kubectl_json(scenario.cluster, "get", "deploy/mlflow", "-n", "mlplat-registry")
        limits = mlflow["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
        assert limits["memory"] == "640Mi"
        database = kubectl_json(
            scenario.cluster, "get", "clusters.postgresql.cnpg.io", "-n", "mlplat-database"
        )["items"][0]
        assert database["spec"]["storage"]["size"] == "3Gi"
        assert data_holders(scenario.cluster) == scenario.data_uids


def test_project_model_deploy_canary_promote_and_down(scenario: Scenario) -> None:
    with scenario.step("deploy"):
        mlplat, cluster, mlflow = scenario.mlplat, scenario.cluster, scenario.mlflow
        mlplat("new", "churn", "--defaults", "--no-git")
        project = mlplat.cwd / "churn"
        mlflow.wait_ready()
        versions = mlflow.register("churn", ["champion", "challenger"])
        track = ("--tracking-uri", mlflow.url)

        mlplat("deploy", "--yes", "--json", cwd=project)
        isvc = kubectl_json(cluster, "get", "inferenceservices", "-n", "mlplat-models")["items"]
        assert [i["metadata"]["name"] for i in isvc] == ["churn"]
        assert kubectl_json(cluster, "get", "servingruntimes", "-n", "mlplat-models")["items"]

        mlplat("deploy", "--yes", "--json", "--canary", "10", *track, cwd=project)
        spec = kubectl_json(cluster, "get", "inferenceservice/churn", "-n", "mlplat-models")
        assert "10" in str(spec["spec"]), spec["spec"]

        promoted = mlplat("deploy", "--yes", "--json", "--promote", *track, cwd=project).json()
        assert promoted["promoted_version"] == versions["challenger"]
        assert mlflow.alias("churn", "champion") == versions["challenger"]

        status = mlplat("status", "--project", str(project), "--json").json()
        assert status["outputs"]
        mlplat("down", "--project", str(project), "--yes")
        assert not kubectl_json(cluster, "get", "inferenceservices", "-n", "mlplat-models")["items"]


def test_down_keeps_the_data_holders(scenario: Scenario) -> None:
    with scenario.step("down"):
        scenario.mlplat("down", "--yes", "--json")
        cluster = scenario.cluster
        assert data_holders(cluster) == scenario.data_uids
        gone = cluster.kubectl("get", "deploy/mlflow", "-n", "mlplat-registry", check=False)
        assert gone.returncode != 0


def _interrupted_up(scenario: Scenario, sig: signal.Signals, after: float) -> Any:
    """Start ``up`` and send ``sig`` once it has been deploying for ``after`` seconds."""
    mlplat = scenario.mlplat
    args = ("up", "--yes", *scenario.config)
    started = time.monotonic()
    with mlplat.started(*args) as process:
        time.sleep(after)
        assert process.poll() is None, "up finished before it could be interrupted"
        if sig is signal.SIGKILL:
            os.killpg(process.pid, sig)  # mlplat and the Pulumi CLI die together
        else:
            os.kill(process.pid, sig)
        return mlplat.finish(process, args, started)


def test_ctrl_c_during_up_cancels_and_saves_state(scenario: Scenario) -> None:
    with scenario.step("ctrl-c"):
        run = _interrupted_up(scenario, signal.SIGINT, after=INTERRUPT_AFTER)
        assert run.code == 8, run.describe()
        assert "cancelled" in run.stderr and "Traceback" not in run.stderr
        status = scenario.mlplat("status", "--json").json()
        assert status["locked"] is False


def test_api_server_stopped_during_up(scenario: Scenario) -> None:
    with scenario.step("api-server"):
        cluster, mlplat = scenario.cluster, scenario.mlplat
        args = ("up", "--yes", *scenario.config)
        started = time.monotonic()
        with mlplat.started(*args) as process:
            time.sleep(INTERRUPT_AFTER)
            assert process.poll() is None, "up finished before the API server stopped"
            cluster.stop_component("kube-apiserver")
            try:
                run = mlplat.finish(process, args, started)
            finally:
                scenario.cluster = cluster.start_component("kube-apiserver")
        assert run.code != 0
        assert "Traceback" not in run.stderr, run.describe()
        assert "127.0.0.1" in run.stderr or "connect" in run.stderr, run.describe()


def test_sigkill_then_up_as_the_messages_say_converges(scenario: Scenario) -> None:
    with scenario.step("sigkill"):
        _interrupted_up(scenario, signal.SIGKILL, after=INTERRUPT_AFTER)
        flags: list[str] = []
        for _ in range(3):
            run = scenario.mlplat("up", "--yes", "--json", *scenario.config, *flags, expect=None)
            if run.code == 0:
                break
            assert "Traceback" not in run.stderr, run.describe()
            hinted = [f for f in ("--force-unlock", "--recover") if f in run.stderr]
            assert hinted and not set(hinted) <= set(flags), run.describe()
            flags += [f for f in hinted if f not in flags]
        assert run.code == 0, run.describe()
        scenario.mlplat.report(f"live: the messages after SIGKILL asked for {flags}")
        # up after down finds the data again: the same objects, not new ones.
        assert data_holders(scenario.cluster) == scenario.data_uids
        again = scenario.mlplat("preview", "--json", *scenario.config).json()
        assert changed(again) == {}


def test_down_delete_data_leaves_no_mlplat_object(scenario: Scenario) -> None:
    with scenario.step("delete-data"):
        scenario.mlplat("down", "--yes", "--delete-data")
        deadline = time.monotonic() + 120
        while True:  # namespaces finish terminating after the API says they are deleted
            left = cluster_scoped(scenario.cluster) - scenario.baseline
            if not any(name.startswith("namespace/") for name in left):
                break
            if time.monotonic() > deadline:
                break
            time.sleep(2)
        # Documented keeps: Argo's CRDs (retain_on_delete: teams' workflows survive a down).
        left = {name for name in left if not name.endswith(".argoproj.io")}
        assert left == set()
