"""The local control plane for live tests: one per session, started once, stopped at the end.

Use it by asking for the ``local_cluster`` fixture and marking the test ``live``::

    @pytest.mark.live
    def test_something(local_cluster: Cluster) -> None:
        local_cluster.kubectl("get", "nodes")                  # kubectl against the cluster
        subprocess.run(["mlplat", "up", "--yes"], env=local_cluster.env(), check=True)
        local_cluster.kubeconfig, local_cluster.context       # for a client of your own

``env()`` carries KUBECONFIG and puts the toolchain's binaries first on PATH. Without a built
toolchain (``python -m toolchain.build``) live tests skip locally and fail in CI, like the
validators in ``tests/tools``. The cluster is shared: namespace what you create.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tools import unavailable
from toolchain import build
from toolchain.cluster import Cluster, ClusterOptions, down, up

#: The binaries the control plane runs.
CONTROL_PLANE = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kubectl",
)


def require_control_plane() -> None:
    """Skip (locally) or fail (CI) unless every control-plane binary is built."""
    for name in CONTROL_PLANE:
        try:
            build.binary(name)
        except build.ToolchainError as error:
            unavailable(str(error))


@pytest.fixture(scope="session")
def local_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A running local control plane with one simulated 2 CPU / 4 GiB node."""
    require_control_plane()
    directory = tmp_path_factory.mktemp("local-cluster")
    cluster = up(ClusterOptions(directory=directory))
    try:
        yield cluster
    finally:
        down(directory)
