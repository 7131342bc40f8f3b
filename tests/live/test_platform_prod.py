"""The prod profile with a domain and OIDC: the *first* ``mlplat up`` succeeds, for real.

The platform's namespaces have fixed names, so prod gets a control plane of its own (three
simulated nodes: prod runs two replicas of each server with disruption budgets) rather than
sharing the dev scenario's after a ``down --delete-data``; starting one costs seconds, a
destroy minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.conftest import require_control_plane
from tests.live.live_helpers import (
    PLATFORM_NAMESPACES,
    Deployer,
    deployer,
    existing_namespaces,
    missing_objects,
    pod_security_problems,
    rendered_objects,
    require_deploy_toolchain,
)
from toolchain.cluster import Cluster, ClusterOptions, down, up

pytestmark = [pytest.mark.live, pytest.mark.slow]

PROD = """\
profile: prod
domain: ml.example.test
oidc:
  issuer: https://login.example.test/realms/ml
  client_id: mlplat
"""


@pytest.fixture(scope="module")
def prod_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_control_plane()
    require_deploy_toolchain()  # before starting a cluster nothing could deploy to
    directory = tmp_path_factory.mktemp("prod-cluster")
    cluster = up(ClusterOptions(directory=directory, nodes=3))
    try:
        yield cluster
    finally:
        down(directory)


@pytest.fixture(scope="module")
def prod(
    request: pytest.FixtureRequest, prod_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Deployer:
    mlplat = deployer(request, prod_cluster, tmp_path_factory.mktemp("live-prod"))
    mlplat.env["MLPLAT_OIDC_CLIENT_SECRET"] = "live-tests-only-client-secret"
    (mlplat.cwd / "prod.yaml").write_text(PROD, encoding="utf-8")
    return mlplat


def test_first_prod_up_with_domain_and_oidc(
    prod: Deployer, prod_cluster: Cluster, tmp_path: Path
) -> None:
    result = prod("up", "--yes", "--stack", "prod", "--config", "prod.yaml", "--json").json()
    assert result["deployed"]
    assert result["outputs"]["mlflow_url"] == "https://mlflow.ml.example.test"

    prod("render", "--config", "prod.yaml", "--out", str(tmp_path / "render"))
    assert missing_objects(prod_cluster, rendered_objects(tmp_path / "render")) == []
    namespaces = sorted(set(PLATFORM_NAMESPACES) & existing_namespaces(prod_cluster))
    assert "mlplat-features" in namespaces and "mlplat-gateway" in namespaces
    assert pod_security_problems(prod_cluster, namespaces) == []

    status = prod("status", "--stack", "prod", "--json").json()
    assert status["outputs"]["profile"] == "prod"
    assert "oidc_client_secret" not in str(status["outputs"])
