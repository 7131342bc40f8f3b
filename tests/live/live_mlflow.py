"""A real MLflow tracking server on loopback, for ``mlplat deploy --canary/--promote``.

MLflow is not a dependency of mlplat (``deploy`` speaks its REST API), so the server runs
from an environment of its own, ``.venv-mlflow``, at the release the platform deploys.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.tools import REPO_ROOT, unavailable

#: The MLflow release the platform deploys and the generated projects pin.
MLFLOW_VERSION = "3.17.2"


def mlflow_executable() -> str:
    """The ``mlflow`` CLI of the MLflow environment .ci/run installs (``.venv-mlflow``).

    ``MLPLAT_TEST_MLFLOW`` names another one. MLflow is not a dependency of mlplat (``deploy``
    speaks its REST API), so it lives in an environment of its own, like checkov.
    """
    named = os.environ.get("MLPLAT_TEST_MLFLOW")
    path = Path(named) if named else REPO_ROOT / ".venv-mlflow" / "bin" / "mlflow"
    if not path.is_file():
        unavailable(
            f"MLflow {MLFLOW_VERSION} is not installed: python -m venv .venv-mlflow && "
            f".venv-mlflow/bin/pip install mlflow=={MLFLOW_VERSION} (or run .ci/run)"
        )
    return str(path)


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MlflowServer:
    """A real ``mlflow server`` on loopback with a SQLite store, and the REST calls tests need."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def wait_ready(self, timeout: float = 180) -> None:
        """Wait until ``/health`` answers; raise with the log's tail if it dies or times out."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.url + "/health", timeout=2).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    tail = self.log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"mlflow server did not start:\n{tail}") from None
                time.sleep(0.5)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One REST call; the decoded JSON answer."""
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def register(self, model: str, aliases: Sequence[str]) -> dict[str, str]:
        """Register ``model`` with one version per alias; returns alias -> version."""
        self.call("POST", "/api/2.0/mlflow/registered-models/create", {"name": model})
        versions: dict[str, str] = {}
        for alias in aliases:
            created = self.call(
                "POST",
                "/api/2.0/mlflow/model-versions/create",
                {"name": model, "source": f"s3://mlflow/live/{model}/{alias}"},
            )
            version = str(created["model_version"]["version"])
            self.call(
                "POST",
                "/api/2.0/mlflow/registered-models/alias",
                {"name": model, "alias": alias, "version": version},
            )
            versions[alias] = version
        return versions

    def alias(self, model: str, alias: str) -> str:
        """The version ``model@alias`` points at."""
        query = urllib.parse.urlencode({"name": model, "alias": alias})
        answer = self.call("GET", f"/api/2.0/mlflow/registered-models/alias?{query}")
        return str(answer["model_version"]["version"])


@contextmanager
def mlflow_server(directory: Path) -> Iterator[MlflowServer]:
    """Start ``mlflow server`` on a free loopback port; stop it (its process group) after.

    It is started, not waited for: it takes most of a minute to start on a busy machine, so
    a scenario starts it first and `MlflowServer.wait_ready` is called where it is needed.
    """
    executable = mlflow_executable()
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    log = (directory / "mlflow.log").open("wb")
    process = subprocess.Popen(
        [
            executable,
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{directory / 'mlflow.db'}",
            "--default-artifact-root",
            (directory / "artifacts").as_uri(),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield MlflowServer(
            url=f"http://127.0.0.1:{port}", process=process, log=directory / "mlflow.log"
        )
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
