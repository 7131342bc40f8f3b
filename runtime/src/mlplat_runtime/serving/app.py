"""The serving core of one worker: routing, readiness, deadlines, loading.

Why: the transport (http.py) only parses bytes and talks to this module through `exchange.py`;
everything a reviewer needs to check the stability patterns is here in one place. Health,
readiness and metrics are answered inline on the event loop and never enter the prediction queue
(a bulkhead), so a busy model cannot make a healthy server look dead; predictions go through the
batcher, which sheds and drops by deadline.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import orjson

from . import typed
from .batcher import CONTRACT_REJECTED, Batcher, Job, Overloaded, measure_cost
from .codec import (
    Parsed,
    RequestError,
    datatype,
    encode_infer,
    encode_invocations,
    parse_csv,
    parse_infer,
    parse_invocations,
)
from .exchange import JSON, Headers, Reply, Request
from .metrics import Metrics
from .model import LoadedModel
from .monitor import DriftMonitor, PredictionLog
from .online import Lookup, OnlineFeatures, parse_keys_only, resolve
from .predict import Predictions
from .resilience import CircuitBreaker
from .settings import ServeSettings

log = logging.getLogger(__name__)

Loader = Callable[[], LoadedModel]
_LIVE = orjson.dumps({"live": True})
_NOT_FOUND = (
    "not found: the routes are /v2/health/{live,ready}, /v2/models/{name}[/ready|/infer], "
    "/invocations, /metrics"
)
_MODELS = b"/v2/models/"
_RETRY = ((b"retry-after", b"1"),)
#: The /metrics label of each request format's ignored columns (see Metrics.ignored_columns).
_INPUT: dict[Callable[[bytes, LoadedModel], Parsed], str] = {
    parse_infer: "v2",
    parse_invocations: "json",
    parse_csv: "csv",
}


def _error(message: str) -> bytes:
    return orjson.dumps({"error": message})


class ServingApp:
    """One worker's state machine: loading -> ready -> draining -> stopped.

    Args:
        settings: the server's settings.
        metrics: this worker's row of the shared metrics table.
        loader: loads (and may retry) the model; runs in a thread.
        prediction_log: the sampled prediction log and drift monitor.
        loop: the worker's event loop.
        breakers: outbound dependencies' breakers, reported on /metrics.
        on_ready: called on the loop when a model is first installed (the worker starts
            accepting connections then).
        on_fatal: called on the loop when the first load fails (the worker exits).
        online: the online-store client: requests with keys get their features from it
            (``online.py`` says where each row's features come from), else None.
    """

    def __init__(
        self,
        *,
        settings: ServeSettings,
        metrics: Metrics,
        loader: Loader,
        prediction_log: PredictionLog,
        loop: asyncio.AbstractEventLoop,
        breakers: Mapping[str, CircuitBreaker],
        on_ready: Callable[[], None] = lambda: None,
        on_fatal: Callable[[], None] = lambda: None,
        online: OnlineFeatures | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.loader = loader
        self.plog = prediction_log
        self.loop = loop
        self.breakers = dict(breakers)
        self.on_ready = on_ready
        self.on_fatal = on_fatal
        self.online = online
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
        self._version: Headers = ()
        self._deadline_s = settings.deadline_ms / 1000.0
        self._reload_lock = threading.Lock()
        self._outputs: list[dict[str, Any]] = []
        self._frozen = False

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
            if self.online is not None:
                self.online.prepare()
            warm = _warm_rows(model)
            cost = measure_cost(model, warm)
            sample = model.predict(warm)
        except Exception as exc:  # reported on readiness and in the log; the old model stays
            self.load_error = str(exc)
            log.error("model load failed: %s", exc)
            self.loop.call_soon_threadsafe(self._load_failed)
            return
        finally:
            self._reload_lock.release()
        self.loop.call_soon_threadsafe(self._install, model, cost, sample)

    def _load_failed(self) -> None:
        self.metrics.inc("model_load_failures")
        if self.model is None:
            self.on_fatal()
        else:  # the last good model keeps serving; readiness and /metrics show the failure
            log.error("reload failed; still serving version %s", self.model.version)

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
        first = self.model is None
        self.model = model
        self.batcher.model = model
        self.batcher.cost = cost
        self.plog.model_name = model.name
        self.plog.features = model.features
        self.plog.drift = DriftMonitor(
            model.features, model.reference_profile, window=self.settings.drift_window
        )
        self.metrics.clear_drift()
        self.metrics.set("compiled", 1.0 if model.compiled is not None else 0.0)
        self._version = ((b"x-model-version", model.version.encode()),)
        self.load_error = None
        # Long-lived objects out of the collector's way; unfreeze first, or every reload would
        # keep the previous model's objects in the permanent generation for good.
        if self._frozen:
            gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._frozen = True
        if not self.draining:
            self.ready = True
            self.metrics.set("ready", 1)
        log.info(
            "serving model %s version %s from %s on %s (batch cost %.0f us + %.1f us/row)",
            model.name,
            model.version,
            model.uri,
            model.runtime,
            cost.fixed_s * 1e6,
            cost.per_row_s * 1e6,
        )
        if first:
            self.on_ready()

    def serving_ready(self) -> bool:
        """Ready for traffic: this worker, and every worker that can receive a connection.

        A probe reaches one worker; it must not report ready while another worker that the
        kernel hands connections to would answer 503.
        """
        return self.ready and self.metrics.all_listening_ready()

    # requests ----------------------------------------------------------------------------------
    def handle(self, request: Request, reply: Reply) -> None:
        """Route one request; every request is answered, even when routing itself fails.

        An exception escaping here would leave the request unanswered: the client would wait
        forever and the connection would never be swept. So it is logged and answered.
        """
        try:
            self._route(request, reply)
        except Exception:
            log.exception("unexpected error answering %s %r", request.method, request.path)
            reply(500, _error("internal error; see the server log"))

    def _route(self, request: Request, reply: Reply) -> None:
        method, path = request.method, request.path
        if path == b"/invocations" or path.startswith(_MODELS) and path.endswith(b"/infer"):
            if method != b"POST":
                return reply(405, _error("use POST"), headers=((b"allow", b"POST"),))
            if path == b"/invocations":
                return self._predict_invocations(request, reply)
            if self._model_path(path.removeprefix(_MODELS).removesuffix(b"/infer")):
                return self._predict(request, reply, parse_infer, encode_infer)
            return reply(404, _error(self._unknown_model(path)))
        answer = self._get(path)
        if answer is None:
            return reply(404, _error(_NOT_FOUND))
        if method != b"GET":
            return reply(405, _error("use GET"), headers=((b"allow", b"GET"),))
        status, payload, ctype = answer
        reply(status, payload, content_type=ctype)

    def _predict_invocations(self, request: Request, reply: Reply) -> None:
        ctype = request.headers.get(b"content-type", b"")
        if ctype.startswith(b"application/json"):
            return self._predict(request, reply, parse_invocations, encode_invocations)
        if ctype.startswith(b"text/csv"):
            return self._predict(request, reply, parse_csv, encode_invocations)
        reply(415, _error("send the body as application/json or text/csv"))

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
        if path == b"/v2/health/live":
            return 200, _LIVE, JSON
        if path in (b"/v2/health/ready", b"/ping", b"/health"):
            return self._readiness()
        if path == b"/metrics":
            return 200, self._render_metrics(), b"text/plain; version=0.0.4"
        if path == b"/v2":
            about = {"name": "mlplat-model-server", "version": "1", "extensions": []}
            return 200, orjson.dumps(about), JSON
        if not path.startswith(_MODELS):
            return None
        rest = path.removeprefix(_MODELS)
        wants_ready = rest.endswith(b"/ready")
        rest = rest.removesuffix(b"/ready")
        if self.model is None:  # the name is not known before the model is loaded
            reason = self.load_error or "the model is still loading"
            if wants_ready:
                name = rest.decode("utf-8", "replace")
                return 503, orjson.dumps({"name": name, "ready": False}), JSON
            return 503, _error(f"not ready: {reason}"), JSON
        if not self._model_path(rest):
            return 404, _error(self._unknown_model(path)), JSON
        if wants_ready:
            ready = self.serving_ready()
            doc: dict[str, Any] = {"name": self.model.name, "ready": ready}
            return (200 if ready else 503), orjson.dumps(doc), JSON
        return 200, self._model_metadata(self.model), JSON

    def _readiness(self) -> tuple[int, bytes, bytes]:
        """Ready or not, and why not; a failed reload shows while the old model serves."""
        ready = self.serving_ready()
        doc: dict[str, Any] = {"ready": ready}
        if not ready:
            if self.draining:
                doc["reason"] = "draining"
            elif self.model is None:
                doc["reason"] = self.load_error or "the model is still loading"
            else:
                doc["reason"] = "another worker is loading or draining"
        elif self.load_error is not None:
            doc["last_load_error"] = self.load_error
        return (200 if ready else 503), orjson.dumps(doc), JSON

    def _model_metadata(self, model: LoadedModel) -> bytes:
        select = typed.encoder(model)
        features: list[dict[str, Any]] = (
            typed.input_tensors(select)
            if select is not None  # text or dates: one tensor per feature, BYTES for those
            else [
                {
                    "name": "input-0",
                    "datatype": "FP64",
                    "shape": [-1, len(model.features)],
                    "parameters": {"columns": list(model.features)},
                }
            ]
        )
        return orjson.dumps(
            {
                "name": model.name,
                "versions": [model.version],
                "platform": "onnxruntime" if model.compiled is not None else "sklearn",
                "inputs": [
                    *features,
                    {
                        "name": model.key,
                        "datatype": "BYTES",
                        "shape": [-1],
                        "parameters": {"optional": True},
                    },
                ],
                "outputs": self._outputs,
            }
        )

    def _render_metrics(self) -> bytes:
        model = self.model
        return self.metrics.render(
            model_name=model.name if model else "",
            model_version=model.version if model else "",
            runtime=model.runtime if model else "",
            features=model.features if model else (),
            breakers={name: b.state for name, b in self.breakers.items()},
        )

    def _predict(
        self,
        request: Request,
        reply: Reply,
        parse: Callable[[bytes, LoadedModel], Parsed],
        encode: Callable[[LoadedModel, Parsed, Predictions], bytes],
    ) -> None:
        model = self.model
        if model is None or not self.ready and not self.draining:
            reason = self.load_error or "the model is still loading"
            return reply(503, _error(f"not ready: {reason}"), headers=_RETRY)
        started = self.loop.time()
        has_features = True
        try:
            deadline = started + self._deadline(request.headers)
            try:
                parsed = parse(request.body, model)
            except RequestError:
                keys_only = None
                if self.online is not None:
                    keys_only = parse_keys_only(request.body, model, csv=parse is parse_csv)
                if keys_only is None:
                    raise
                parsed, has_features = keys_only, False
        except RequestError as exc:
            return reply(exc.status, _error(exc.message))
        except Exception as exc:  # the body is the only input here: a shape the checks missed
            log.warning("unreadable request body (%s: %s)", type(exc).__name__, exc)
            return reply(400, _error(f"could not read the request: {exc}"))
        if parsed.features.shape[0] == 0:
            return reply(400, _error("the request has no rows"))
        if parsed.ignored:
            self.metrics.ignored_columns(_INPUT[parse], parsed.ignored)
        online = self.online
        rid = _request_id(parsed, request.headers)
        if online is None or parsed.keys is None:
            return self._submit(model, parsed, deadline, started, reply, encode, self._version, rid)
        version = self._version

        def looked_up(outcome: Lookup) -> None:
            resolved = resolve(parsed, has_features, outcome, online.defaults, model.key)
            if resolved.parsed is None:
                retry = _RETRY if resolved.status == 503 else ()
                return reply(resolved.status, _error(resolved.message), headers=retry)
            source = ((b"x-feature-source", ",".join(resolved.sources).encode()),)
            headers = (*version, *source)
            self._submit(model, resolved.parsed, deadline, started, reply, encode, headers, rid)

        # Within the request's deadline: what the lookup does not use is the model's.
        budget = min(online.timeout_s, deadline - self.loop.time())
        online.lookup(list(parsed.keys), budget, self.loop, looked_up)

    def _submit(
        self,
        model: LoadedModel,
        parsed: Parsed,
        deadline: float,
        started: float,
        reply: Reply,
        encode: Callable[[LoadedModel, Parsed, Predictions], bytes],
        version: Headers,
        rid: str | None = None,
    ) -> None:
        """Queue the rows for the model; answer when the batch ran (or was shed).

        ``rid`` is the request id the prediction record carries (see :func:`_request_id`).
        """

        def done(out: Predictions | None, status: int, message: str) -> None:
            if out is None:
                if status == 400 and message.startswith(CONTRACT_REJECTED):
                    problems = message.removeprefix(CONTRACT_REJECTED).split("; ")
                    self.plog.offer_rejected(
                        model.version, parsed.keys, parsed.features, problems, request_id=rid
                    )
                return reply(status, _error(message))
            self.metrics.observe_latency(self.loop.time() - started)
            # Queued before the reply goes out: a client that saw the reply can rely on the record.
            self.plog.offer(
                model.version, parsed.keys, parsed.features, out.predict, out.proba, request_id=rid
            )
            try:
                payload = encode(model, parsed, out)
            except Exception:  # runs as a loop callback: an escaping error would hang the client
                log.exception("could not encode the response")
                return reply(500, _error("internal error; see the server log"))
            reply(200, payload, headers=version)

        try:
            self.batcher.submit(Job(parsed.features, deadline, done))
        except Overloaded as exc:
            retry = str(max(1, round(exc.retry_after_s))).encode()
            reply(
                503,
                _error(f"overloaded: {exc.reason}; retry later"),
                headers=((b"retry-after", retry),),
            )

    def _deadline(self, headers: Mapping[bytes, bytes]) -> float:
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
    def begin_drain(self) -> None:
        """Readiness false from now on; requests are still answered until the transport stops."""
        self.draining = True
        self.ready = False
        self.metrics.set("ready", 0)
        self.metrics.set("draining", 1)
        log.info("draining: readiness false; finishing in-flight requests")


def _request_id(parsed: Parsed, headers: Mapping[bytes, bytes]) -> str | None:
    """The id a prediction record carries: the OIP body's ``id``, else ``X-Request-Id``.

    ``None`` when the request has neither: the prediction log's writer makes one (off the hot
    path). A header id is cut to 128 characters (it is the client's text, stored per row).
    """
    if parsed.request_id is not None:
        return str(parsed.request_id)
    header = headers.get(b"x-request-id")
    return header.decode("utf-8", "replace")[:128] if header else None


def _warm_rows(model: LoadedModel) -> np.ndarray:
    """One plausible row: the midpoint of each feature's reference range, else zeros."""
    row = []
    for feature in model.features:
        edges = model.reference_profile.get(feature, {}).get("edges") or [0.0, 0.0]
        row.append((float(edges[0]) + float(edges[-1])) / 2)
    return np.asarray([row], dtype=np.float64)


__all__ = ["Loader", "ServingApp"]
