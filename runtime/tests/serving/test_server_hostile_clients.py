"""Clients that misbehave on purpose: each test drives one hostile pattern against a real worker.

The limits follow nginx's documented behaviour where it has one: a bounded request head
(`large_client_header_buffers`), a timeout for a client that sends no request
(`client_header_timeout`), one for a client that stops reading (`send_timeout`), and idle
keep-alive connections given up first when connections run out.
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest

from mlplat_runtime.serving.batcher import CostModel
from mlplat_runtime.serving.model import ModelLoadError, load_model
from mlplat_runtime.serving.resilience import CircuitBreaker, RetryPolicy
from mlplat_runtime.serving.server import bind, serve
from mlplat_runtime.serving.settings import ServeSettings

INFER = "/v2/models/test-model/infer"
LIVE = b"GET /v2/health/live HTTP/1.1\r\nHost: a\r\n\r\n"
LAST = b"GET /v2/health/live HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


def until(predicate, what, timeout_s=10.0):
    end = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.01)


def on_loop(server, fn):
    """Run `fn` on the worker's loop and return its result (the loop owns the transports)."""
    future: concurrent.futures.Future = concurrent.futures.Future()

    def call():
        try:
            future.set_result(fn())
        except Exception as exc:  # pragma: no cover - surfaced by result()
            future.set_exception(exc)

    server.loop.call_soon_threadsafe(call)
    return future.result(10)


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while data := sock.recv(65536):
        chunks.append(data)
    return b"".join(chunks)


def exchange(server, payload: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(payload)
        return read_all(sock)


# 1. A header line that never ends --------------------------------------------------------------
def test_an_unfinished_header_line_is_refused_at_the_head_cap(server):
    """The cap counts raw bytes before the parser sees them: no CRLF is needed to trip it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: a\r\nX-Endless: ")
        sent = 0
        try:
            while sent < 256 << 10:
                sock.sendall(b"a" * 4096)
                sent += 4096
        except OSError:  # refused and closed while we were still sending
            pass
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:80]
    assert server.request("GET", "/v2/health/live").status == 200


def test_a_header_section_trickled_forever_gets_408(start_server, model):
    small = start_server(lambda: model, read_timeout_s=1.0)
    with socket.create_connection(("127.0.0.1", small.port), timeout=10) as sock:
        sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nX-Slow: ")
        start = time.monotonic()
        answer = b""
        while time.monotonic() - start < 8 and not answer:
            try:
                sock.sendall(b"a")
                sock.settimeout(0.2)
                answer = sock.recv(1024)
            except TimeoutError:
                continue
            except OSError:
                break
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]


# 2. A client that never reads ------------------------------------------------------------------
def test_a_client_that_never_reads_pins_a_bounded_buffer_and_is_aborted(server):
    server.worker.transport.limits = replace(server.worker.transport.limits, send_timeout_s=1.0)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.settimeout(2.0)
    metrics = b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
    try:
        sock.sendall(metrics * 4000)  # about 20 MiB of responses, none of them read
    except OSError:  # the server stopped reading: that is the point
        pass
    time.sleep(0.5)
    buffered = on_loop(
        server,
        lambda: [c.transport.get_write_buffer_size() for c in server.worker.transport.connections],
    )
    assert max(buffered, default=0) < 2 << 20, buffered
    # The sweep gives up on it after the send timeout: abort, not a close waiting for a flush.
    until(lambda: not server.worker.transport.connections, "the stuck connection to go", 8)
    sock.close()
    assert server.request("GET", "/v2/health/live").status == 200


# 3. Mixed request sizes are not shed when capacity allows -------------------------------------
def test_mixed_sizes_are_not_shed_when_the_server_keeps_up(server, rows):
    big = np.repeat(rows, 20, axis=0)[:1000]
    sizes = [big if i % 2 else rows[:1] for i in range(120)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(server.infer, sizes))
    statuses = [r.status for r in answers]
    shed = server.metrics.get("shed_queue_delay")
    refused = [r.json for r in answers if r.status != 200][:3]
    assert statuses.count(200) == len(statuses), ({s: statuses.count(s) for s in statuses}, refused)
    assert shed == 0


# 4. Upgrade and CONNECT: one response, then close ----------------------------------------------
@pytest.mark.parametrize(
    "first",
    [
        b"GET /v2/health/live HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    ],
)
def test_an_upgrade_request_gets_one_response_and_the_connection_closes(server, first):
    answer = exchange(server, first + LIVE)
    assert answer.count(b"HTTP/1.1 ") == 1, answer
    assert b"connection: close" in answer


# 5. The registry down at start-up --------------------------------------------------------------
def test_a_hung_outbound_call_does_not_hold_the_process_at_exit(tmp_path):
    script = textwrap.dedent(
        """
        import time
        from mlplat_runtime.serving.resilience import CircuitBreaker, RetryPolicy, guarded_call
        try:
            guarded_call(lambda: time.sleep(120), breaker=CircuitBreaker("registry"),
                         policy=RetryPolicy(attempts=1, timeout_s=0.2))
        except TimeoutError:
            print("gave up")
        """
    )
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert "gave up" in done.stdout, done.stderr
    assert time.monotonic() - start < 30  # not the 120 s the abandoned call would take


def test_an_unreachable_registry_fails_fast_instead_of_retrying_inside_mlflow(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # discard: refused
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    import mlflow  # noqa: F401  (imported before timing: the import is slow, not the subject)

    start = time.monotonic()
    with pytest.raises(ModelLoadError, match="could not load model"):
        load_model(
            "models:/absent@champion",
            default_name="absent",
            features=("a",),
            key="key",
            check=lambda rows: [],
            breaker=CircuitBreaker("registry"),
            policy=RetryPolicy(attempts=1, timeout_s=20.0),
        )
    assert time.monotonic() - start < 10


def _serve_failing(settings: ServeSettings) -> None:
    def make_loader(_breaker):
        def load():
            raise RuntimeError("registry unreachable")

        return load

    sys.exit(serve(settings, make_loader))


def _free_port() -> int:
    probe = bind("127.0.0.1", 0)
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_workers_that_cannot_load_the_model_stop_the_server_with_a_failure():
    settings = ServeSettings(
        port=_free_port(), workers=2, log_dir=None, cpu_affinity=False, drain_timeout_s=1.0
    )
    proc = multiprocessing.get_context("fork").Process(
        target=_serve_failing, args=(settings,), daemon=True
    )
    proc.start()
    proc.join(30)
    if proc.is_alive():
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(5)
    assert proc.exitcode not in (0, None)


def test_readiness_says_why_it_is_false(start_server, model):
    gate = threading.Event()

    def slow():
        gate.wait(10)
        return model

    loading = start_server(slow, ready=False)
    try:
        resp = loading.request("GET", "/v2/health/ready")
        assert resp.status == 503
        assert "loading" in resp.json["reason"]
    finally:
        gate.set()


# 6. A second server on a port in use -----------------------------------------------------------
def _serve_model(settings: ServeSettings, model) -> None:
    try:
        code = serve(settings, lambda _breaker: lambda: model)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 7
    sys.exit(code)


def test_a_second_server_on_a_port_in_use_is_refused(model):
    port = _free_port()
    # What each worker of a running multi-worker server holds: a listening SO_REUSEPORT socket.
    other = bind("127.0.0.1", port, reuse_port=True)
    settings = ServeSettings(
        port=port, workers=2, log_dir=None, cpu_affinity=False, drain_timeout_s=1.0
    )
    proc = multiprocessing.get_context("fork").Process(
        target=_serve_model, args=(settings, model), daemon=True
    )
    proc.start()
    proc.join(20)
    if proc.is_alive():
        os.kill(proc.pid, signal.SIGTERM)
        proc.join(10)
        other.close()
        pytest.fail("the second server started on a port another server holds")
    other.close()
    assert proc.exitcode == 7


# 7. Smaller protocol and visibility defects ----------------------------------------------------
def test_head_is_answered_without_a_body(server):
    answer = exchange(server, b"HEAD /v2/health/live HTTP/1.1\r\nHost: a\r\n\r\n" + LAST)
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"content-length: " in head
    assert rest.startswith(b"HTTP/1.1 200"), rest[:80]  # the next response, no body in between


def test_an_absolute_form_target_is_routed_by_its_path(server):
    answer = exchange(server, b"GET http://a/v2/health/live HTTP/1.1\r\nHost: a\r\n\r\n" + LAST)
    assert answer.startswith(b"HTTP/1.1 200") and b'{"live":true}' in answer


def test_silent_connections_do_not_lock_out_clients_at_the_cap(start_server, model):
    small = start_server(lambda: model, max_connections=4)
    silent = [socket.create_connection(("127.0.0.1", small.port)) for _ in range(4)]
    try:
        until(lambda: len(small.worker.transport.connections) == 4, "the silent connections")
        assert small.request("GET", "/v2/health/live", timeout=5).status == 200
    finally:
        for sock in silent:
            sock.close()


def test_a_connection_that_never_sends_is_closed_after_the_read_timeout(start_server, model):
    small = start_server(lambda: model, read_timeout_s=1.0)
    with socket.create_connection(("127.0.0.1", small.port), timeout=8) as sock:
        start = time.monotonic()
        assert sock.recv(1) == b""  # closed by the server, without an answer
    assert time.monotonic() - start < 6  # not the 75 s keep-alive


def test_a_failed_reload_is_counted_and_visible_while_the_old_model_serves(start_server, model):
    versions = iter([model, None])

    def loader():
        nxt = next(versions)
        if nxt is None:
            raise RuntimeError("registry unreachable")
        return nxt

    server = start_server(loader)
    server.loop.call_soon_threadsafe(server.app.start_loading)
    until(lambda: server.metrics.get("model_load_failures") == 1, "the failed reload")
    ready = server.request("GET", "/v2/health/ready")
    assert ready.status == 200  # the last good model still serves
    assert "registry unreachable" in ready.json["last_load_error"]
    text = server.request("GET", "/metrics").raw.decode()
    assert "model_server_model_load_failures_total 1" in text


class FailingSink:
    def write(self, lines):
        raise OSError("disk full")


def test_records_lost_to_a_failing_sink_are_counted(server, rows):
    plog = server.worker.plog
    plog.sink = FailingSink()
    plog.breaker = CircuitBreaker("log_sink", failure_threshold=100)
    plog.policy = RetryPolicy(attempts=1, timeout_s=5, backoff_s=0.001)
    for _ in range(3):
        assert server.infer(rows[:2]).status == 200
    plog.stop(10.0)
    assert server.metrics.get("log_lost") == 6
    text = server.request("GET", "/metrics").raw.decode()
    assert "model_server_log_lost_total 6" in text


def test_readiness_without_a_load_error_is_the_plain_answer(server):
    assert json.loads(server.request("GET", "/v2/health/ready").raw) == {"ready": True}


def test_the_drain_rate_prices_rows_not_the_requests_parsed_meanwhile():
    cost = CostModel(fixed_s=0.00002, per_row_s=0.000001)
    now = 10.0
    for _ in range(10):  # 1,000-row and 1-row requests interleaved, 3 ms per cycle end to end
        now += 0.003
        cost.observe_backlog(rows=1000, seconds=0.003, now=now)
        now += 0.003
        cost.observe_backlog(rows=1, seconds=0.003, now=now)
    # About 6 ms per 1,001 rows: 1,000 queued rows drain in a few ms, not in seconds.
    assert cost.queue_delay(1000, 2, now=now) < 0.05
