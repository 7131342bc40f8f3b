"""Our serving core as a raw ASGI callable, for uvicorn: the same app behind a well-kept server.

The generated project's core talks to its transport only through `serving/exchange.py`
(`Request` in, a `Reply` callable out), so this adapter is all it takes to run it under any ASGI
server. `run.py` starts it as
`uvicorn asgi_app:create_app --factory --http httptools --loop uvloop --workers N` to compare the
hand-written transport with uvicorn on the same core, same model, same load.

Environment: BENCH_PACKAGE (the generated package), BENCH_LOG_DIR; ML_PROJECT_ROOT and
MLFLOW_TRACKING_URI as for the project's own server.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
_KEEP = {b"content-type", b"x-request-timeout-ms"}


def create_app() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """Build the ASGI callable; the model loads during lifespan start-up."""
    pkg = os.environ["BENCH_PACKAGE"]
    config = importlib.import_module(f"{pkg}.config")
    contract = importlib.import_module(f"{pkg}.contract")
    guard = importlib.import_module("mlplat_runtime.serving.guard")
    exchange = importlib.import_module("mlplat_runtime.serving.exchange")
    model_mod = importlib.import_module("mlplat_runtime.serving.model")
    resilience = importlib.import_module("mlplat_runtime.serving.resilience")
    server = importlib.import_module("mlplat_runtime.serving.server")
    metrics = importlib.import_module("mlplat_runtime.serving.metrics")
    settings_mod = importlib.import_module("mlplat_runtime.serving.settings")
    name = config.load_config().registry.model_name
    settings = settings_mod.ServeSettings(
        model_uri=f"models:/{name}@champion",
        model_name=name,
        log_dir=Path(os.environ.get("BENCH_LOG_DIR", "prediction-logs")),
    )
    check = guard.contract_check(contract.CONTRACT)

    def make_loader(breaker: Any) -> Callable[[], Any]:
        def load() -> Any:
            return model_mod.load_model(
                settings.model_uri,
                default_name=name,
                features=tuple(contract.FEATURES),
                key=contract.KEY or "key",
                check=check,
                breaker=breaker,
                policy=resilience.RetryPolicy(attempts=3, timeout_s=60.0),
            )

        return load

    state: dict[str, Any] = {}

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                loop = asyncio.get_running_loop()
                worker = server.Worker(
                    settings,
                    table=metrics.shared_array(1),
                    index=0,
                    make_loader=make_loader,
                    loop=loop,
                    listen_early=False,
                )
                worker.plog.start()
                worker.app.start_loading()
                while not worker.app.ready:
                    await asyncio.sleep(0.05)
                state["app"] = worker.app
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return await lifespan(receive, send)
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        headers = {k: v for k, v in scope["headers"] if k in _KEEP}
        request = exchange.Request(
            scope["method"].encode(), scope["raw_path"].split(b"?")[0], headers, b"".join(chunks)
        )
        answer: asyncio.Future[tuple[int, bytes, Any, bytes]] = (
            asyncio.get_running_loop().create_future()
        )

        def reply(
            status: int, body: bytes, *, headers: Any = (), content_type: bytes = exchange.JSON
        ) -> None:
            if not answer.done():
                answer.set_result((status, body, headers, content_type))

        state["app"].handle(request, reply)
        status, body, extra, ctype = await answer
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", ctype),
                    (b"content-length", str(len(body)).encode()),
                    *extra,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app
