"""Defects found under load, each reproduced black-box over HTTP before it was fixed.

- readiness with several workers: ready only when every worker that gets connections can serve;
- SIGTERM under load: no request on an established connection fails, whatever the grace (the
  listener refuses new handshakes before it closes, since closing resets the queued ones);
- an oversized body: the client reads the 413 (lingering close) instead of a reset;
- OIP `id` must be a string; GET on an infer route is 405; text/csv on /invocations;
- drift is "not measured" before a window; settings refuse bad values wherever they are built.
"""

from __future__ import annotations

import gc
import http.client
import json
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import weakref
from dataclasses import replace

import pytest
from synthetic_project import FEATURES, KEY

from mlplat_runtime.serving.http import refuse_handshakes
from mlplat_runtime.serving.server import bind, serve
from mlplat_runtime.serving.settings import ServeSettings

INFER = "/v2/models/test-model/infer"


def infer_body(rows) -> bytes:
    tensor = {"name": "input-0", "shape": list(rows.shape), "datatype": "FP64"}
    return json.dumps({"inputs": [tensor | {"data": rows.ravel().tolist()}]}).encode()


def test_an_id_that_is_not_a_string_is_refused(server, rows):
    body = json.loads(infer_body(rows[:1]))
    for bad in (7, ["a"], {"x": 1}, True):
        resp = server.request("POST", INFER, body | {"id": bad})
        assert resp.status == 400 and "id" in resp.json["error"], bad
    ok = server.request("POST", INFER, body | {"id": "req-1"})
    assert ok.status == 200 and ok.json["id"] == "req-1"


def test_get_on_an_infer_route_is_405(server):
    for path in (INFER, "/invocations"):
        resp = server.request("GET", path)
        assert resp.status == 405 and resp.headers["allow"] == "POST", path


def test_invocations_takes_text_csv_like_mlflow(server, model, rows, row_keys):
    header = ",".join([KEY_NAME(), *reversed(FEATURES)])  # any column order
    lines = [header] + [
        ",".join([str(k), *(repr(v) for v in reversed(r.tolist()))])
        for k, r in zip(row_keys[:3], rows[:3], strict=True)
    ]
    resp = server.request(
        "POST", "/invocations", "\n".join(lines).encode(), headers={"Content-Type": "text/csv"}
    )
    assert resp.status == 200, resp.json
    expected = model.predict(rows[:3]).predict.tolist()
    # Equal up to the last bit: BLAS may sum a copied matrix in another order.
    assert resp.json["predictions"] == pytest.approx(expected, rel=1e-12)
    assert resp.json["keys"] == row_keys[:3]
    bad = server.request("POST", "/invocations", b"nope\n1\n", headers={"Content-Type": "text/csv"})
    assert bad.status == 400


def KEY_NAME() -> str:
    return KEY


def test_drift_is_not_measured_before_a_window(server, rows):
    text = server.request("GET", "/metrics").raw.decode()
    assert 'model_drift_measured{worker="0"} 0' in text
    assert "model_drift_psi{" not in text  # absent, not 0: no window was measured yet


@pytest.mark.parametrize("profile", [True, False])
def test_drift_without_a_reference_profile_stays_not_measured(start_server, model, rows, profile):
    served = model if profile else replace(model, reference_profile={})
    server = start_server(lambda: served, drift_window=10)
    for _ in range(4):
        assert server.infer(rows[:10]).status == 200
    expected = f'model_drift_measured{{worker="0"}} {int(profile)}'
    for _ in range(300):  # the log writer measures a window within its flush interval
        text = server.request("GET", "/metrics").raw.decode()
        if expected in text:
            break
        time.sleep(0.02)
    assert expected in text
    assert ("model_drift_psi{" in text) is profile


class Cycle:
    """Garbage only the cyclic collector can free (as a model's object graph often is)."""

    def __init__(self) -> None:
        self.me = self


def test_a_reload_leaves_the_previous_model_collectable(start_server, model):
    refs: list[weakref.ref] = []

    def loader():
        cycle = Cycle()
        refs.append(weakref.ref(cycle))
        profile = {**model.reference_profile, "_cycle": cycle}
        return replace(model, version=str(len(refs)), reference_profile=profile)

    server = start_server(loader)
    server.loop.call_soon_threadsafe(server.app.start_loading)
    for _ in range(1000):  # polls the version: holding the old cycle here would keep it alive
        if server.app.model.version == "2":
            break
        time.sleep(0.01)
    gc.collect()
    assert refs[0]() is None  # a frozen generation that is never unfrozen keeps it for good


@pytest.mark.parametrize(
    "field", ["max_inflight", "max_connections", "max_body_bytes", "deadline_ms", "workers"]
)
def test_settings_refuse_zero_wherever_they_are_built(field):
    with pytest.raises(ValueError, match=field.replace("_", "-")):
        ServeSettings(**{field: 0})


def test_an_oversized_body_gets_a_readable_413(start_server, model):
    small = start_server(lambda: model, max_body_bytes=64 << 10)
    body = b"x" * (4 << 20)  # far more than the socket buffers hold: the server must read it
    conn = http.client.HTTPConnection("127.0.0.1", small.port, timeout=20)
    conn.request("POST", INFER, body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 413 and b"larger than" in resp.read()
    conn.close()


def _post(port: int, body: bytes, conn: http.client.HTTPConnection | None = None):
    own = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    own.request("POST", INFER, body=body, headers={"Content-Type": "application/json"})
    resp = own.getresponse()
    resp.read()
    if resp.getheader("connection") == "close" or conn is None:
        own.close()
        return resp.status, None
    return resp.status, own


@pytest.mark.parametrize("grace_s", [0.0, 0.3])
def test_sigterm_under_load_fails_no_request_on_an_established_connection(
    start_server, model, rows, grace_s
):
    server = start_server(lambda: model, drain_grace_s=grace_s, drain_timeout_s=5.0)
    body = infer_body(rows[:1])
    failures: list[str] = []
    answered = [0]
    stop = threading.Event()

    def client(keepalive: bool) -> None:
        conn = None
        while not stop.is_set():
            try:
                if conn is None:
                    try:
                        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
                        conn.connect()
                    except ConnectionRefusedError:
                        return  # the listener is closed: a new connection is refused, not failed
                status, conn = _post(server.port, body, conn)
                conn = conn if keepalive else None
                answered[0] += 1
                if status != 200:
                    failures.append(f"status {status}")
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                return

    threads = [threading.Thread(target=client, args=(i % 2 == 0,)) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    server.loop.call_soon_threadsafe(server.worker.request_stop)
    for t in threads:
        t.join(30)
    stop.set()
    assert answered[0] > 50
    assert failures == [], failures[:5]


def test_closing_a_listener_resets_the_connections_it_has_not_accepted():
    """The failure the drain avoids: the kernel completes handshakes on its own, so a client's
    connect succeeds, and closing the listener before accepting it resets that connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname(), timeout=5)
    client.sendall(b"POST")
    listener.close()
    with pytest.raises(ConnectionResetError):
        client.recv(1)
    client.close()


@pytest.mark.skipif(sys.platform != "linux", reason="socket filters are Linux only")
def test_a_listener_refusing_handshakes_keeps_its_queue_and_establishes_nothing_new():
    """After `refuse_handshakes` no new connection can be established, so none can be reset by
    the close; a connection the kernel completed before is still accepted and served."""
    listener = socket.create_server(("127.0.0.1", 0))
    queued = socket.create_connection(listener.getsockname(), timeout=5)
    assert refuse_handshakes(listener)
    late = socket.socket()
    late.settimeout(0.3)
    with pytest.raises(TimeoutError):  # the SYN is dropped: not established, nothing to reset
        late.connect(listener.getsockname())
    late.close()
    served, _ = listener.accept()
    queued.sendall(b"x")
    assert served.recv(1) == b"x"
    served.sendall(b"y")
    assert queued.recv(1) == b"y"
    for sock in (served, queued, listener):
        sock.close()


def _serve_two_workers(port_file: str, counter, settings: ServeSettings, model) -> None:
    def make_loader(_breaker):
        def load():
            with counter.get_lock():
                counter.value += 1
                mine = counter.value
            if mine > 1:  # every worker but the first loads slowly
                time.sleep(2.0)
            return model

        return load

    serve(settings, make_loader)


def test_ready_means_every_worker_that_gets_connections_can_serve(model, rows, tmp_path):
    probe = bind("127.0.0.1", 0)
    port = probe.getsockname()[1]
    probe.close()
    settings = ServeSettings(
        port=port, workers=2, log_dir=None, cpu_affinity=False, drain_timeout_s=2.0
    )
    context = multiprocessing.get_context("fork")
    counter = context.Value("i", 0)
    proc = context.Process(
        target=_serve_two_workers, args=(str(tmp_path), counter, settings, model), daemon=True
    )
    proc.start()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = _get(port, "/v2/health/ready")
            except OSError:
                status = 0
            if status == 200:
                break
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.02)
        body = infer_body(rows[:1])
        statuses = [_post(port, body)[0] for _ in range(200)]  # each on a new connection
        assert statuses.count(200) == len(statuses), {s: statuses.count(s) for s in statuses}
    finally:
        if proc.pid is not None:
            os.kill(proc.pid, signal.SIGTERM)
        proc.join(20)


def _get(port: int, path: str):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, data


def test_lingering_close_survives_a_client_that_stops_reading(start_server, model):
    small = start_server(lambda: model, max_body_bytes=1024)
    with socket.create_connection(("127.0.0.1", small.port), timeout=10) as sock:
        sock.sendall(b"POST " + INFER.encode() + b" HTTP/1.1\r\nHost: a\r\n")
        sock.sendall(b"Content-Length: 100000\r\nContent-Type: application/json\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 413")
    assert small.request("GET", "/v2/health/live").status == 200
