"""What a real deploy does on this machine before the providers: the real Pulumi CLI built from
source, the real engine and the local control plane, through the CLI as a user types it.

``doctor`` tells the truth about each prerequisite, and an ``up`` whose provider plugins are
missing (Pulumi may not download them) stops at once, names the plugin and how to install
it, creates nothing in the cluster, leaves no lock, and says the same again on the next try.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.conftest import require_control_plane
from tests.live.live_helpers import (
    PLATFORM_NAMESPACES,
    Deployer,
    deployer,
    existing_namespaces,
    provider_dirs,
    require_pulumi_cli,
)
from toolchain.cluster import Cluster, ClusterOptions, down, up

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A control plane of this module's own: its API server is stopped and started here,
    which would leave the session's ``local_cluster`` object naming a dead process."""
    require_control_plane()
    require_pulumi_cli()
    directory = tmp_path_factory.mktemp("prereq-cluster")
    started = up(ClusterOptions(directory=directory))
    try:
        yield started
    finally:
        down(directory)


@pytest.fixture(scope="module")
def mlplat(
    request: pytest.FixtureRequest, cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Deployer:
    home = tmp_path_factory.mktemp("live-prereq")
    return deployer(request, cluster, home, [require_pulumi_cli()])


def test_doctor_reports_each_prerequisite_truthfully(mlplat: Deployer) -> None:
    run = mlplat("doctor", "--json", expect=None)
    checks = {c["name"]: c for c in json.loads(run.stdout)["checks"]}
    assert checks["pulumi CLI"]["ok"], checks["pulumi CLI"]
    assert checks["pulumi CLI"]["detail"].startswith("v3.274.0 ")
    assert checks["kube context"]["ok"] and checks["Kubernetes version"]["ok"]
    assert checks["Kubernetes version"]["detail"] == "v1.35.4"
    assert checks["pulumi plugins"]["ok"] == bool(provider_dirs())
    assert run.code == (0 if provider_dirs() else 1)


def test_up_without_provider_plugins_stops_clearly_and_creates_nothing(
    mlplat: Deployer, tmp_path: Path
) -> None:
    # Whatever this machine has built: a PATH without the providers, an empty Pulumi home.
    bare = {
        "PATH": ":".join(
            d for d in mlplat.env["PATH"].split(":") if d and d not in provider_dirs()
        ),
        "PULUMI_HOME": str(tmp_path / "empty-pulumi-home"),
    }
    for attempt in (1, 2):  # the second try meets no lock and says the same
        run = mlplat("up", "--yes", "--profile", "dev", expect=1, extra_env=bare)
        assert "Traceback" not in run.stderr
        assert (
            "no resource plugin 'pulumi-resource-kubernetes' found in the workspace at version "
            "v4.34.2" in run.stderr
        ), run.describe()
        assert "`pulumi plugin install resource kubernetes v4.34.2`" in run.stderr
        assert run.seconds < 120, f"attempt {attempt} took {run.seconds:.0f} s"
    status = mlplat("status", "--json", extra_env=bare).json()
    assert status["locked"] is False
    assert status["resources"] == {"total": 0, "protected": 0, "pending_operations": 0}
    assert status["outputs"] == {}  # nothing was deployed: no way to reach it is offered


def test_nothing_of_the_platform_reached_the_cluster(mlplat: Deployer, cluster: Cluster) -> None:
    assert set(PLATFORM_NAMESPACES) & existing_namespaces(cluster) == set()


def test_api_server_down_is_a_clear_error_and_the_next_run_gets_as_far_as_before(
    mlplat: Deployer, cluster: Cluster
) -> None:
    cluster.stop_component("kube-apiserver")
    try:
        run = mlplat("up", "--yes", "--profile", "dev", expect=1)
        doctor = json.loads(mlplat("doctor", "--json", expect=1).stdout)
    finally:
        cluster.start_component("kube-apiserver")
    assert "Traceback" not in run.stderr
    assert "cluster of context 'mlplat-local' is unreachable" in run.stderr, run.describe()
    assert "Connection refused" in run.stderr
    reachable = next(c for c in doctor["checks"] if c["name"] == "cluster reachable")
    assert not reachable["ok"] and reachable["fix"]
    # A preview, not an up: with the providers built the dev scenario does the real ups.
    after = mlplat("preview", "--profile", "dev", expect=None)
    assert after.code == (0 if provider_dirs() else 1), after.describe()
    assert provider_dirs() or "no resource plugin 'pulumi-resource-kubernetes'" in after.stderr
