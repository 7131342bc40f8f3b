"""Stability patterns, each driven deterministically through gates rather than timing."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from synthetic_project import FEATURES

from mlplat_runtime.serving.batcher import CostModel
from mlplat_runtime.serving.metrics import Metrics, shared_array
from mlplat_runtime.serving.monitor import DriftMonitor, FileSink, PredictionLog
from mlplat_runtime.serving.resilience import CircuitBreaker, RetryPolicy


class GateStep:
    """A pass-through pipeline step that records batch sizes and can hold or slow the model."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.open = threading.Event()
        self.open.set()
        self.entered = threading.Event()
        self.delay_s = delay_s
        self.seen: list[int] = []

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        self.seen.append(X.shape[0])
        self.entered.set()
        self.open.wait(30)
        if self.delay_s:
            time.sleep(self.delay_s)
        return X


def gated(model, gate):
    estimator = Pipeline([("gate", gate), *model.estimator.steps])
    return replace(model, estimator=estimator)


def until(predicate, what):
    for _ in range(3000):
        if predicate():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def blocked_server(start_server, model, **overrides):
    gate = GateStep()
    server = start_server(lambda: gated(model, gate), **overrides)
    gate.open.clear()
    gate.entered.clear()
    gate.seen.clear()
    return server, gate


def test_readiness_false_until_the_model_is_loaded_and_warmed(start_server, model, rows):
    loaded = threading.Event()

    def slow_loader():
        loaded.wait(30)
        return model

    server = start_server(slow_loader, ready=False)
    assert server.request("GET", "/v2/health/live").status == 200
    ready = server.request("GET", "/v2/health/ready")
    assert ready.status == 503
    assert ready.json == {"ready": False, "reason": "the model is still loading"}
    model_ready = server.request("GET", "/v2/models/test-model/ready")
    assert model_ready.status == 503 and model_ready.json["ready"] is False
    assert server.request("GET", "/v2/models/test-model").status == 503
    early = server.infer(rows[:1])
    assert early.status == 503 and early.headers["retry-after"] == "1"
    loaded.set()
    server.wait_ready()
    assert server.request("GET", "/v2/health/ready").status == 200
    assert server.infer(rows[:1]).status == 200


def test_bulkhead_health_and_metrics_answer_while_the_model_is_busy(start_server, model, rows):
    server, gate = blocked_server(start_server, model)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(server.infer, rows[:1])
        assert gate.entered.wait(10)
        assert server.request("GET", "/v2/health/live").status == 200
        assert server.request("GET", "/v2/health/ready").status == 200
        assert "model_server_inflight" in server.request("GET", "/metrics").raw.decode()
        assert not pending.done()
        gate.open.set()
        assert pending.result().status == 200


def test_expired_work_is_dropped_before_predicting(start_server, model, rows):
    server, gate = blocked_server(start_server, model)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(server.infer, rows[:1])
        assert gate.entered.wait(10)
        late = pool.submit(server.infer, rows[1:3], headers={"X-Request-Timeout-Ms": "200"})
        until(lambda: server.app.batcher.inflight == 2, "the second request to queue")
        time.sleep(0.3)  # let the queued request's deadline pass; nothing is asserted on timing
        gate.open.set()
        assert first.result().status == 200
        dropped = late.result()
    assert dropped.status == 504 and "deadline" in dropped.json["error"]
    assert gate.seen == [1]  # the expired rows never reached the model
    assert server.metrics.get("deadline_exceeded") == 1


def test_load_is_shed_when_the_queue_delay_exceeds_the_deadline(start_server, model, rows):
    gate = GateStep(delay_s=0.05)
    server = start_server(lambda: gated(model, gate))
    shed = server.infer(rows[:1], headers={"X-Request-Timeout-Ms": "10"})
    assert shed.status == 503
    assert int(shed.headers["retry-after"]) >= 1
    assert "queue delay" in shed.json["error"]
    assert server.infer(rows[:1]).status == 200  # the default deadline fits
    assert server.metrics.get("shed_queue_delay") == 1


def test_concurrency_cap(start_server, model, rows):
    server, gate = blocked_server(start_server, model, max_inflight=1)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(server.infer, rows[:1])
        assert gate.entered.wait(10)
        refused = server.infer(rows[:1])
        gate.open.set()
        assert first.result().status == 200
    assert refused.status == 503 and "cap" in refused.json["error"]
    assert refused.headers["retry-after"] == "1"


def test_a_bad_request_fails_alone_when_batched_with_good_ones(
    start_server, model, rows, bounded_feature
):
    server, gate = blocked_server(start_server, model)
    column = bounded_feature
    bad = rows[:1].copy()
    bad[0, FEATURES.index(column.name)] = column.maximum + 1000
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(server.infer, rows[:1])
        assert gate.entered.wait(10)
        bad_reply = pool.submit(server.infer, bad)
        good_reply = pool.submit(server.infer, rows[1:2])
        until(lambda: server.app.batcher.inflight == 3, "both requests to queue")
        gate.open.set()
        assert first.result().status == 200
        assert bad_reply.result().status == 400
        assert good_reply.result().status == 200


class FailOnRow:
    """A pipeline step that raises on one exact row, as a model may on input the contract allows."""

    def __init__(self, row):
        self.row = row

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        if (X == self.row).all(axis=1).any():
            raise ValueError("the model cannot handle this row")
        return X


def test_a_model_failure_fails_only_its_own_request(start_server, model, rows):
    gate = GateStep()
    steps = [("fail", FailOnRow(rows[10])), *gated(model, gate).estimator.steps]
    fragile = replace(model, estimator=Pipeline(steps))
    server = start_server(lambda: fragile)
    gate.open.clear()
    gate.entered.clear()
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(server.infer, rows[:1])
        assert gate.entered.wait(10)
        bad_reply = pool.submit(server.infer, rows[10:11])
        good_reply = pool.submit(server.infer, rows[1:3])
        until(lambda: server.app.batcher.inflight == 3, "both requests to queue")
        gate.open.set()
        assert first.result().status == 200
        assert bad_reply.result().status == 500
        assert good_reply.result().status == 200


def test_readiness_false_while_draining_and_in_flight_work_completes(start_server, model, rows):
    server, gate = blocked_server(start_server, model, drain_grace_s=1.0)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(server.infer, rows[:1])
        assert gate.entered.wait(10)
        server.loop.call_soon_threadsafe(server.worker.request_stop)
        until(lambda: server.app.draining, "the drain to start")
        ready = server.request("GET", "/v2/health/ready")
        assert ready.status == 503 and ready.json == {"ready": False, "reason": "draining"}
        gate.open.set()
        done = pending.result()
    assert done.status == 200 and done.headers.get("connection") == "close"
    server.thread.join(10)
    assert server.worker.stopped.result() == 0


def test_reload_swaps_the_model_and_a_failed_reload_keeps_the_old_one(start_server, model, rows):
    versions = iter([replace(model, version="7"), replace(model, version="8"), None])

    def loader():
        nxt = next(versions)
        if nxt is None:
            raise RuntimeError("registry unreachable")
        return nxt

    server = start_server(loader)
    assert server.infer(rows[:1]).headers["x-model-version"] == "7"
    server.loop.call_soon_threadsafe(server.app.start_loading)
    until(lambda: server.app.model.version == "8", "the reload")
    assert server.infer(rows[:1]).json["model_version"] == "8"
    server.loop.call_soon_threadsafe(server.app.start_loading)
    until(lambda: server.app.load_error is not None, "the failed reload")
    assert server.request("GET", "/v2/health/ready").status == 200
    assert server.infer(rows[:1]).headers["x-model-version"] == "8"


def test_prediction_log_queue_is_bounded_drops_and_counts(rows):
    metrics = Metrics(shared_array(1), 0)
    log = PredictionLog(
        sink=None,
        metrics=metrics,
        sample_rate=1.0,
        capacity=2,
        breaker=CircuitBreaker("sink"),
        policy=RetryPolicy(),
    )
    for _ in range(5):
        log.offer("7", None, rows[:1], np.zeros(1), None)
    assert metrics.get("log_enqueued") == 2
    assert metrics.get("log_dropped") == 3


class BrokenDrift:
    def update(self, rows):
        raise ValueError("bad window")


def test_the_log_writer_survives_a_failing_batch(rows, tmp_path):
    metrics = Metrics(shared_array(1), 0)
    log = PredictionLog(
        sink=FileSink(tmp_path, worker=0),
        metrics=metrics,
        sample_rate=1.0,
        capacity=10,
        breaker=CircuitBreaker("sink"),
        policy=RetryPolicy(),
        flush_s=0.01,
    )
    log.drift = BrokenDrift()
    log.start()
    log.offer("7", None, rows[:1], np.zeros(1), None)
    until(lambda: metrics.get("log_sink_errors") == 1, "the failed batch")
    log.drift = None
    log.offer("7", None, rows[:1], np.zeros(1), None)
    log.stop(10.0)
    assert metrics.get("log_written") == 1


class FailingSink:
    def __init__(self):
        self.calls = 0

    def write(self, lines):
        self.calls += 1
        raise OSError("disk full")


def test_a_failing_log_sink_opens_its_breaker_and_never_fails_a_request(server, rows):
    sink = FailingSink()
    plog = server.worker.plog
    plog.sink = sink
    plog.breaker = CircuitBreaker("log_sink", failure_threshold=2, reset_s=3600)
    plog.policy = RetryPolicy(attempts=2, timeout_s=5, backoff_s=0.001)
    for _ in range(5):
        assert server.infer(rows[:1]).status == 200
    plog.stop(10.0)
    assert plog.breaker.state == "open"
    assert sink.calls == 2  # later writes fail fast without touching the sink
    assert server.metrics.get("log_sink_errors") >= 1


def test_drift_check_flags_a_shifted_feature(model, sample):
    features = list(FEATURES)
    live = sample[features].to_numpy(dtype=float)
    monitor = DriftMonitor(features, model.reference_profile, window=len(live))
    assert monitor.update(live)
    assert max(monitor.last_psi) < 0.1
    shifted = live.copy()
    shifted[:, 0] = shifted[:, 0].max()
    assert monitor.update(shifted)
    assert monitor.last_psi[0] > 0.2


def test_queue_delay_estimate_follows_the_measured_drain_rate_under_backlog():
    cost = CostModel(fixed_s=0.001, per_row_s=0.0)
    assert cost.queue_delay(100, 1, now=10.0) == pytest.approx(0.001)  # model time alone
    cost.observe_backlog(rows=10, seconds=0.01, now=10.0)  # saturated: 1 ms per row end to end
    assert cost.queue_delay(100, 1, now=10.0) == pytest.approx(0.001)  # one cycle: too little
    for step in range(1, 10):
        cost.observe_backlog(rows=10, seconds=0.01, now=10.0 + step * 0.01)
    assert cost.queue_delay(100, 1, now=10.5) == pytest.approx(0.1)
    cost.observe_backlog(rows=10, seconds=0.0, now=10.5)  # ignored: no time passed
    assert cost.row_period_s == pytest.approx(0.001)
    assert cost.queue_delay(100, 1, now=12.0) == pytest.approx(0.001)  # stale: model time again
