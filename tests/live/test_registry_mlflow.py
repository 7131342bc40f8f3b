"""``mlplat deploy``'s MLflow calls against a real MLflow server (the release the platform runs).

``--canary`` reads ``@champion`` and ``@challenger`` and ``--promote`` moves ``champion`` to the
challenger's version through MLflow's REST API (`mlplat.stack.registry`); the unit tests
play those calls against a stand-in, this runs them against ``mlflow server`` itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlplat.errors import MlplatError
from mlplat.stack.registry import Registry, alias_version, move_alias
from tests.live.live_mlflow import MlflowServer, mlflow_server

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as server:
        server.wait_ready()
        yield server


def test_versions_are_read_and_champion_is_promoted(mlflow: MlflowServer) -> None:
    versions = mlflow.register("churn", ["champion", "challenger"])
    registry = Registry(url=mlflow.url)
    assert alias_version(registry, "churn", "champion") == versions["champion"]
    assert alias_version(registry, "churn", "challenger") == versions["challenger"]
    moved = move_alias(registry, "churn", source="challenger", target="champion")
    assert moved == versions["challenger"]
    assert mlflow.alias("churn", "champion") == versions["challenger"]


def test_a_missing_alias_and_model_are_clear_errors(mlflow: MlflowServer) -> None:
    mlflow.register("fraud", ["champion"])
    registry = Registry(url=mlflow.url)
    with pytest.raises(MlplatError, match="no version with alias 'challenger'"):
        alias_version(registry, "fraud", "challenger")
    with pytest.raises(MlplatError, match="model 'no-such-model' is not registered in MLflow"):
        alias_version(registry, "no-such-model", "champion")
