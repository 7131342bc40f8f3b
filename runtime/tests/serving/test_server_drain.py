"""A real server process: SIGTERM drains with zero failed in-flight requests.

The server is the synthetic project's entry (``python -m synthetic_project``) with two workers,
each loading the model through MLflow, as ``python -m <package>.serving`` runs in an image.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cloudpickle
from sklearn.pipeline import Pipeline
from synthetic_project import FEATURES

#: The directory of the synthetic project's serving entry (``python -m synthetic_project``).
HERE = Path(__file__).resolve().parent


class FlagDelay:
    """Pass-through step that sleeps while a flag file exists (warm-up stays fast)."""

    def __init__(self, flag: str, delay_s: float) -> None:
        self.flag = flag
        self.delay_s = delay_s

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        if os.path.exists(self.flag):
            time.sleep(self.delay_s)
        return X


def get(port: int, path: str, method: str = "GET", body: bytes | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def wait_for(predicate, what, tries=3000):
    for _ in range(tries):
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def gauge_sum(port: int, name: str) -> float:
    try:
        _, text = get(port, "/metrics")
    except ConnectionRefusedError:  # workers bind their own SO_REUSEPORT sockets as they start
        return 0.0
    return sum(float(v) for v in re.findall(rf"^{name}{{[^}}]*}} (\S+)$", text.decode(), re.M))


def test_sigterm_drains_in_flight_requests(fitted, rows, tmp_path, isolated_project):
    import mlflow.sklearn

    flag = tmp_path / "slow"
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    model_path = tmp_path / "model"
    mlflow.sklearn.save_model(
        Pipeline([("delay", FlagDelay(str(flag), 0.5)), *fitted.steps]),
        str(model_path),
        metadata={"features": list(FEATURES)},
        serialization_format="cloudpickle",
    )
    log = (tmp_path / "server.log").open("w")
    env = os.environ | {
        "ML_PROJECT_ROOT": str(isolated_project),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "synthetic_project",
            "--model-uri",
            str(model_path),
            "--port",
            "0",
            "--workers",
            "2",
            "--drain-grace-s",
            "1",
            "--log-dir",
            str(tmp_path / "predictions"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=isolated_project,
        start_new_session=True,
    )
    try:
        text = lambda: (tmp_path / "server.log").read_text()  # noqa: E731
        port = int(
            wait_for(
                lambda: re.search(r"listening on http://[\d.]+:(\d+)", text()),
                "the server to listen",
            )[1]
        )
        wait_for(lambda: gauge_sum(port, "model_server_ready") == 2, "both workers ready")
        flag.touch()
        body = json.dumps({"instances": [rows[0].tolist()]}).encode()
        with ThreadPoolExecutor(6) as pool:
            replies = [pool.submit(get, port, "/invocations", "POST", body) for _ in range(6)]
            wait_for(lambda: gauge_sum(port, "model_server_inflight") == 6, "6 in flight")
            proc.send_signal(signal.SIGTERM)
            status, ready = wait_for(
                lambda: (lambda r: r if r[0] == 503 else None)(get(port, "/v2/health/ready")),
                "readiness to turn false",
            )
            answer = json.loads(ready)  # this worker, or another one, is draining
            assert answer["ready"] is False and "draining" in answer["reason"]
            results = [r.result() for r in replies]
        assert [s for s, _ in results] == [200] * 6, results
        assert proc.wait(timeout=30) == 0
        assert "drained" in text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the workers too
            proc.wait()
        log.close()
