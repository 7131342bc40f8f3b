"""The serving core of one worker: routing, readiness, deadlines, loading and draining.

Why: the transport (http.py) only parses bytes; everything a reviewer needs to check the stability
patterns is here in one place. Health, readiness and metrics are answered inline on the event loop
and never enter the prediction queue (a bulkhead), so a busy model cannot make a healthy server
look dead; predictions go through the batcher, which sheds and drops by deadline.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from .batcher import Batcher, Job, Overloaded, measure_cost
from .codec import (
    Parsed,
    RequestError,
    datatype,
    encode_infer,
    encode_invocations,
    parse_infer,
    parse_invocations,
)
from .metrics import Metrics
from .model import LoadedModel
from .monitor import DriftMonitor, PredictionLog
from .predict import Predictions, predict_arrays
from .settings import ServeSettings

if TYPE_CHECKING:
    from .http import HttpConnection, _Slot

log = logging.getLogger(__name__)

Loader = Callable[[], LoadedModel]
_LIVE = orjson.dumps({"live": True})
_NOT_FOUND = (
    b"not found: the routes are /v2/health/{live,ready}, /v2/models/{name}[/ready|/infer], "
    b"/invocations, /metrics"
)


def _error(message: str) -> bytes:
    return orjson.dumps({"error": message})


class ServingApp:
    """One worker's state machine: loading -> ready -> draining -> stopped."""

    def __init__(
        self,
        *,
        settings: ServeSettings,
        metrics: Metrics,
        loader: Loader,
        prediction_log: PredictionLog,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.loader = loader
        self.plog = prediction_log
        self.loop = loop
        self.batcher = Batcher(
            loop=loop,
            metrics=metrics,
            max_inflight=settings.max_inflight,
            max_batch_rows=settings.max_batch_rows,
        )
        self.model: LoadedModel | None = None
        self.ready = False
        self.draining = False
        self.load_error: str | None = None
        self.version_header = b""
        self.connections: set[HttpConnection] = set()
        self.breakers: dict[str, Any] = {}
        self._deadline_s = settings.deadline_ms / 1000.0
        self._reload_lock = threading.Lock()
        self._closing_idle = False
        self.on_fatal: Callable[[], None] | None = None
        self._outputs: list[dict[str, Any]] = []

    # loading -----------------------------------------------------------------------------------
    def start_loading(self) -> None:
        """Load and warm the model in a thread; readiness turns true only when both are done."""
        threading.Thread(target=self._load, name="model-loader", daemon=True).start()

    def _load(self) -> None:
        if not self._reload_lock.acquire(blocking=False):
            log.warning("a model load is already running; ignoring this request")
            return
        try:
            model = self.loader()
            cost = measure_cost(model, _warm_rows(model))
            sample = predict_arrays(model.estimator, _warm_rows(model))
        except Exception as exc:  # reported on readiness and in the log; the old model stays
            self.load_error = str(exc)
            log.error("model load failed: %s", exc)
            self.loop.call_soon_threadsafe(self._load_failed)
            return
        finally:
            self._reload_lock.release()
        self.loop.call_soon_threadsafe(self._install, model, cost, sample)

    def _load_failed(self) -> None:
        if self.model is None and self.on_fatal is not None:
            self.on_fatal()

    def _install(self, model: LoadedModel, cost: Any, sample: Predictions) -> None:
        self._outputs = [{"name": "predict", "datatype": datatype(sample.predict), "shape": [-1]}]
        if sample.proba is not None:
            self._outputs.append(
                {
                    "name": "predict_proba",
                    "datatype": "FP64",
                    "shape": [-1, sample.proba.shape[1]],
                    "parameters": {"classes": sample.classes},
                }
            )
        self.model = model
        self.batcher.model = model
        self.batcher.cost = cost
        self.plog.model_name = model.name
        self.plog.features = model.features
        self.plog.drift = DriftMonitor(
            model.features, model.reference_profile, window=self.settings.drift_window
        )
        self.version_header = b"x-model-version: %s\r\n" % model.version.encode()
        self.load_error = None
        gc.collect()
        gc.freeze()
        if not self.draining:
            self.ready = True
            self.metrics.set("ready", 1)
        log.info(
            "serving model %s version %s from %s (batch cost %.0f us + %.1f us/row)",
            model.name,
            model.version,
            model.uri,
            cost.fixed_s * 1e6,
            cost.per_row_s * 1e6,
        )

    # connections -------------------------------------------------------------------------------
    def accept_connection(self, conn: HttpConnection) -> bool:
        """Admit a new connection unless the per-worker cap is reached."""
        if len(self.connections) >= self.settings.max_connections:
            return False
        self.connections.add(conn)
        return True

    def connection_closed(self, conn: HttpConnection) -> None:
        """Forget a closed connection."""
        self.connections.discard(conn)

    def sweep(self) -> None:
        """Close connections that are idle too long or too slow to send a request."""
        now = time.monotonic()
        for conn in list(self.connections):
            started = conn.request_started
            if started is not None and now - started > self.settings.read_timeout_s:
                conn._reject(408, f"request not received within {self.settings.read_timeout_s}s")
            elif conn.idle() and (
                self._closing_idle or now - conn.last_active > self.settings.keepalive_s
            ):
                conn.shutdown()

    # requests ----------------------------------------------------------------------------------
    def reject(self, conn: HttpConnection, slot: _Slot, status: int, message: str) -> None:
        """Answer a request refused by the transport (413, 414, 431, 408, 400)."""
        self.metrics.response(status)
        conn.respond(slot, status, _error(message))

    def handle(
        self,
        conn: HttpConnection,
        slot: _Slot,
        method: bytes,
        path: bytes,
        headers: dict[bytes, bytes],
        body: bytes,
    ) -> None:
        """Route one request; every request is answered, even when routing itself fails.

        An exception escaping here would leave the request's response slot unfilled: the client
        would wait forever and the connection would never be swept. So it is logged and answered.
        """
        try:
            self._route(conn, slot, method, path, headers, body)
        except Exception:
            log.exception("unexpected error answering %s %r", method.decode(), path)
            if slot.data is None:
                self._send(conn, slot, 500, _error("internal error; see the server log"))

    def _route(
        self,
        conn: HttpConnection,
        slot: _Slot,
        method: bytes,
        path: bytes,
        headers: dict[bytes, bytes],
        body: bytes,
    ) -> None:
        if method == b"POST":
            if path == b"/invocations":
                return self._predict(
                    conn, slot, headers, body, parse_invocations, encode_invocations
                )
            if path.startswith(b"/v2/models/") and path.endswith(b"/infer"):
                if self._model_path(path[11:-6]):
                    return self._predict(conn, slot, headers, body, parse_infer, encode_infer)
                return self._send(conn, slot, 404, _error(self._unknown_model(path)))
        elif method == b"GET":
            answer = self._get(path)
            if answer is not None:
                status, payload, ctype = answer
                return self._send(conn, slot, status, payload, content_type=ctype)
        else:
            return self._send(conn, slot, 405, _error("method not allowed"))
        self._send(conn, slot, 404, _error(_NOT_FOUND.decode()))

    def _model_path(self, rest: bytes) -> bool:
        model = self.model
        if model is None:
            return True  # answered as 503 (not loaded) by _predict
        name, _, version = rest.decode("utf-8", "replace").partition("/versions/")
        return name == model.name and (not version or version == model.version)

    def _unknown_model(self, path: bytes) -> str:
        name = self.model.name if self.model else "?"
        return f"unknown model or version in {path.decode('utf-8', 'replace')!r}; serving {name!r}"

    def _get(self, path: bytes) -> tuple[int, bytes, bytes] | None:
        js = b"application/json"
        if path == b"/v2/health/live":
            return 200, _LIVE, js
        if path in (b"/v2/health/ready", b"/ping", b"/health"):
            return (200 if self.ready else 503), orjson.dumps({"ready": self.ready}), js
        if path == b"/metrics":
            return 200, self._render_metrics(), b"text/plain; version=0.0.4"
        if path == b"/v2":
            return (
                200,
                orjson.dumps({"name": "mlplat-model-server", "version": "1", "extensions": []}),
                js,
            )
        if path.startswith(b"/v2/models/"):
            rest = path[11:]
            wants_ready = rest.endswith(b"/ready")
            if wants_ready:
                rest = rest[:-6]
            if self.model is None:  # the name is not known before the model is loaded
                reason = self.load_error or "the model is still loading"
                if wants_ready:
                    name = rest.decode("utf-8", "replace")
                    return 503, orjson.dumps({"name": name, "ready": False}), js
                return 503, _error(f"not ready: {reason}"), js
            if not self._model_path(rest):
                return 404, _error(self._unknown_model(path)), js
            if wants_ready:
                return (
                    (200 if self.ready else 503),
                    orjson.dumps({"name": self.model.name, "ready": self.ready}),
                    js,
                )
            return 200, self._model_metadata(self.model), js
        return None

    def _model_metadata(self, model: LoadedModel) -> bytes:
        outputs = self._outputs
        return orjson.dumps(
            {
                "name": model.name,
                "versions": [model.version],
                "platform": "sklearn",
                "inputs": [
                    {
                        "name": "input-0",
                        "datatype": "FP64",
                        "shape": [-1, len(model.features)],
                        "parameters": {"columns": list(model.features)},
                    }
                ]
                + [
                    {
                        "name": model.key,
                        "datatype": "BYTES",
                        "shape": [-1],
                        "parameters": {"optional": True},
                    }
                ],
                "outputs": outputs,
            }
        )

    def _render_metrics(self) -> bytes:
        model = self.model
        return self.metrics.render(
            model_name=model.name if model else "",
            model_version=model.version if model else "",
            features=model.features if model else (),
            breakers={name: b.state for name, b in self.breakers.items()},
        )

    def _send(
        self,
        conn: HttpConnection,
        slot: _Slot,
        status: int,
        body: bytes,
        extra: bytes = b"",
        content_type: bytes = b"application/json",
    ) -> None:
        self.metrics.response(status)
        conn.respond(slot, status, body, extra, content_type)

    def _predict(
        self,
        conn: HttpConnection,
        slot: _Slot,
        headers: dict[bytes, bytes],
        body: bytes,
        parse: Callable[[bytes, LoadedModel], Parsed],
        encode: Callable[[LoadedModel, Parsed, Predictions], bytes],
    ) -> None:
        model = self.model
        if model is None or not self.ready and not self.draining:
            reason = self.load_error or "the model is still loading"
            return self._send(
                conn, slot, 503, _error(f"not ready: {reason}"), b"retry-after: 1\r\n"
            )
        ctype = headers.get(b"content-type")
        if parse is parse_invocations and (
            ctype is None or not ctype.startswith(b"application/json")
        ):
            return self._send(conn, slot, 415, _error("send the body as application/json"))
        started = self.loop.time()
        try:
            deadline = started + self._deadline(headers)
            parsed = parse(body, model)
        except RequestError as exc:
            return self._send(conn, slot, exc.status, _error(exc.message))
        except Exception as exc:  # the body is the only input here: a shape the checks missed
            log.warning("unreadable request body (%s: %s)", type(exc).__name__, exc)
            return self._send(conn, slot, 400, _error(f"could not read the request: {exc}"))
        if parsed.features.shape[0] == 0:
            return self._send(conn, slot, 400, _error("the request has no rows"))

        def done(out: Predictions | None, status: int, message: str) -> None:
            if out is None:
                return self._send(conn, slot, status, _error(message))
            self.metrics.observe_latency(self.loop.time() - started)
            # Queued before the reply goes out: a client that saw the reply can rely on the record.
            self.plog.offer(model.version, parsed.keys, parsed.features, out.predict, out.proba)
            try:
                payload = encode(model, parsed, out)
            except Exception:  # runs as a loop callback: an escaping error would hang the client
                log.exception("could not encode the response")
                return self._send(conn, slot, 500, _error("internal error; see the server log"))
            self._send(conn, slot, 200, payload)

        try:
            self.batcher.submit(Job(parsed.features, deadline, done))
        except Overloaded as exc:
            self._send(
                conn,
                slot,
                503,
                _error(f"overloaded: {exc.reason}; retry later"),
                b"retry-after: %d\r\n" % max(1, round(exc.retry_after_s)),
            )
        self.metrics.set("inflight", self.batcher.inflight)

    def _deadline(self, headers: dict[bytes, bytes]) -> float:
        raw = headers.get(b"x-request-timeout-ms")
        if raw is None:
            return self._deadline_s
        try:
            value = float(raw)
        except ValueError:
            raise RequestError(
                400, "X-Request-Timeout-Ms: expected a number of milliseconds"
            ) from None
        if not value > 0:
            raise RequestError(400, "X-Request-Timeout-Ms: must be positive")
        return min(value, self.settings.max_deadline_ms) / 1000.0

    # draining ----------------------------------------------------------------------------------
    async def drain(self, server: asyncio.AbstractServer) -> None:
        """Readiness false, keep serving for the grace period, stop accepting, finish in flight."""
        self.draining = True
        self.ready = False
        self.metrics.set("ready", 0)
        self.metrics.set("draining", 1)
        log.info("draining: readiness false; finishing in-flight requests")
        await asyncio.sleep(self.settings.drain_grace_s)
        server.close()
        self._closing_idle = True
        end = self.loop.time() + self.settings.drain_timeout_s
        while self.loop.time() < end:
            self.sweep()
            if not self.connections and not self.batcher.inflight:
                break
            await asyncio.sleep(0.01)
        for conn in list(self.connections):
            conn.shutdown()
        self.batcher.shutdown()
        await self.loop.run_in_executor(None, self.plog.stop, 5.0)
        log.info("drained; exiting")


def _warm_rows(model: LoadedModel) -> np.ndarray:
    """One plausible row: the midpoint of each feature's reference range, else zeros."""
    row = []
    for feature in model.features:
        edges = model.reference_profile.get(feature, {}).get("edges") or [0.0, 0.0]
        row.append((float(edges[0]) + float(edges[-1])) / 2)
    return np.asarray([row], dtype=np.float64)


__all__ = ["Loader", "ServingApp"]
