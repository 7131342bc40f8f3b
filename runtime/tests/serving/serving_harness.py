"""An in-process server harness: the real worker on an event loop in a background thread.

The harness runs the real worker (HTTP protocol, app, batcher, prediction log) on a free port of
127.0.0.1, with a loader chosen by the test, so each stability pattern can be driven
deterministically (gates instead of timing).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from mlplat_runtime.serving.metrics import shared_array
from mlplat_runtime.serving.model import LoadedModel
from mlplat_runtime.serving.server import OnlineFactory, Worker, bind
from mlplat_runtime.serving.settings import ServeSettings


class Response:
    """Status, lower-cased headers and the decoded JSON body (or text)."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json: Any = json.loads(body) if body else None
        except ValueError:
            self.json = None


class Harness:
    """A real worker on a background event loop; `request` talks HTTP to it."""

    def __init__(
        self,
        loader: Callable[[], LoadedModel],
        settings: ServeSettings,
        online: OnlineFactory | None = None,
    ) -> None:
        self.loop = asyncio.new_event_loop()
        sock = bind("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        self.worker = Worker(
            settings,
            table=shared_array(1),
            index=0,
            make_loader=lambda _breaker: loader,
            loop=self.loop,
            make_online=online,
        )
        self.app = self.worker.app
        self.metrics = self.worker.metrics
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.worker.start(sock))
            started.set()
            self.loop.run_until_complete(self.worker.stopped)

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait(10)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        data = body if isinstance(body, bytes | None) else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json"} | (headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        out = Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        conn.close()
        return out

    def infer(self, matrix: np.ndarray, **kw: Any) -> Response:
        body = {
            "inputs": [
                {
                    "name": "input-0",
                    "shape": list(matrix.shape),
                    "datatype": "FP64",
                    "data": matrix.ravel().tolist(),
                }
            ]
        }
        return self.request("POST", "/v2/models/test-model/infer", body, **kw)

    def wait_ready(self) -> None:
        for _ in range(500):
            if self.app.ready:
                return
            threading.Event().wait(0.01)
        raise AssertionError("server did not become ready")

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.worker.request_stop)
        self.thread.join(30)
