"""Prediction records reach the object store, and a slow or dead store costs the server nothing.

The store is `fake_s3.FakeS3`, an HTTP server in the test process that checks every request's
SigV4 signature; nothing leaves the machine. Waits are on conditions (a gate, a counter), never
on durations.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from fake_s3 import CREDENTIALS, FakeS3
from serving_harness import Harness
from synthetic_project import FEATURES, KEY

from mlplat_runtime.evaluation import read_records
from mlplat_runtime.evaluation.records import compact
from mlplat_runtime.serving.metrics import Metrics, shared_array
from mlplat_runtime.serving.resilience import CircuitBreaker
from mlplat_runtime.serving.s3 import Credentials, S3Target, authorization, load_credentials
from mlplat_runtime.serving.shipper import RecordShipper, ShipperLimits, s3_upload

PREFIX = "monitor/demo/prediction-logs"
NAME = re.compile(
    rf"^mlplat/{PREFIX}/predictions-\d{{8}}T\d{{6}}\.\d{{3}}Z-[^/]+-w0-(\d{{6}})\.jsonl\.gz$"
)


def wait_for(predicate: Callable[[], object], what: str, state: Callable[[], object] = str) -> None:
    for _ in range(3000):
        if predicate():
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"gave up waiting for {what}: {state()}")


def metric(server: Harness, name: str) -> float:
    text = server.request("GET", "/metrics").raw.decode()
    found = re.findall(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return sum(float(v) for v in found)


def keyed_body(keys: list[str], rows: np.ndarray) -> dict[str, object]:
    return {
        "inputs": [
            {"name": KEY, "shape": [len(keys)], "datatype": "BYTES", "data": keys},
            {
                "name": "input-0",
                "shape": list(rows.shape),
                "datatype": "FP64",
                "data": rows.ravel().tolist(),
            },
        ]
    }


@pytest.fixture
def store() -> Iterator[FakeS3]:
    fake = FakeS3()
    yield fake
    fake.close()


@pytest.fixture
def shipping_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Point the server's shipper at an endpoint, with the fake's credentials in a file."""

    def point(endpoint: str) -> None:
        monkeypatch.setenv("MLPLAT_RECORDS_S3_URL", f"s3://mlplat/{PREFIX}")
        monkeypatch.setenv("MLPLAT_RECORDS_S3_ENDPOINT", endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS.access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS.secret_access_key)

    return point


def dead_endpoint() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there: connection refused
    return f"http://127.0.0.1:{port}"


# SigV4 --------------------------------------------------------------------------------------
AWS_EXAMPLE = Credentials(
    access_key_id="AKIAIOSFODNN7EXAMPLE",
    secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
)


def test_sigv4_matches_aws_published_put_object_example() -> None:
    # Amazon S3 API Reference, "Signature Calculations for the Authorization Header",
    # example PUT Object.
    body = b"Welcome to Amazon S3."
    digest = hashlib.sha256(body).hexdigest()
    assert digest == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    header = authorization(
        method="PUT",
        path="/test$file.text",
        headers={
            "Host": "examplebucket.s3.amazonaws.com",
            "Date": "Fri, 24 May 2013 00:00:00 GMT",
            "x-amz-date": "20130524T000000Z",
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
            "x-amz-content-sha256": digest,
        },
        payload_sha256=digest,
        credentials=AWS_EXAMPLE,
        region="us-east-1",
    )
    assert header == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
        "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    )


def test_sigv4_matches_aws_published_get_object_example() -> None:
    empty = hashlib.sha256(b"").hexdigest()
    header = authorization(
        method="GET",
        path="/test.txt",
        headers={
            "Host": "examplebucket.s3.amazonaws.com",
            "Range": "bytes=0-9",
            "x-amz-date": "20130524T000000Z",
            "x-amz-content-sha256": empty,
        },
        payload_sha256=empty,
        credentials=AWS_EXAMPLE,
        region="us-east-1",
    )
    assert header.endswith(
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def test_credentials_come_from_the_shared_file_and_are_never_in_a_repr(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[default]\naws_access_key_id = AK\naws_secret_access_key = SK\n")
    found = load_credentials({"AWS_SHARED_CREDENTIALS_FILE": str(path)})
    assert (found.access_key_id, found.secret_access_key) == ("AK", "SK")
    assert "SK" not in repr(found)
    with pytest.raises(Exception, match="no S3 credentials"):
        load_credentials({})


def test_a_malformed_target_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="s3://BUCKET/PREFIX"):
        S3Target.parse("mlplat/monitor", endpoint="", region="us-east-1")
    with pytest.raises(ValueError, match="endpoint"):
        S3Target.parse("s3://mlplat/x", endpoint="seaweedfs:8333", region="us-east-1")


# the server ---------------------------------------------------------------------------------
def test_records_land_under_time_ordered_keys_and_the_monitor_reads_them(
    start_server, model, rows, store, shipping_env, tmp_path
) -> None:
    shipping_env(store.endpoint)
    server = start_server(lambda: model, ship_batch_records=4)
    keys = [f"A-{i}" for i in range(12)]
    for i in range(0, 12, 2):
        resp = server.request(
            "POST", "/v2/models/test-model/infer", keyed_body(keys[i : i + 2], rows[i : i + 2])
        )
        assert resp.status == 200, resp.json
    wait_for(
        lambda: metric(server, "model_server_ship_batches_total") >= 3,
        "three batches",
        lambda: (
            server.request("GET", "/metrics").raw.decode(),
            store.requests,
            store.bad_signatures,
        ),
    )
    shipped = store.keys()
    assert len(shipped) >= 3 and store.bad_signatures == 0
    sequences = [int(NAME.match(k)[1]) for k in shipped]  # type: ignore[index]
    assert sequences == sorted(sequences) == list(range(len(shipped)))
    # What the monitor's Argo step downloads into its log directory, it reads and compacts.
    logs = tmp_path / "downloaded"
    logs.mkdir()
    for key in shipped:
        (logs / key.rsplit("/", 1)[1]).write_bytes(store.objects[key])
    table = read_records(logs).frame
    assert sorted(table["key"]) == sorted(keys)
    assert (
        compact(logs, tmp_path / "store")
        and len(read_records(logs, tmp_path / "store").frame) == 12
    )
    assert metric(server, 'model_server_breaker_open{dependency="object_store"}') == 0


def test_a_dead_store_fails_no_request_and_the_backlog_stays_bounded(
    start_server, model, rows, shipping_env
) -> None:
    shipping_env(dead_endpoint())
    server = start_server(lambda: model, ship_batch_records=1, ship_backlog=3)
    for i in range(40):
        assert server.infer(rows[i : i + 1]).status == 200
    wait_for(lambda: metric(server, "model_server_ship_failed_batches_total") >= 1, "a failure")
    wait_for(lambda: metric(server, "model_server_ship_dropped_batches_total") >= 1, "drops")
    assert metric(server, "model_server_ship_backlog") <= 3
    assert metric(server, "model_server_ship_batches_total") == 0
    assert metric(server, "model_server_ship_dropped_records_total") >= 1
    wait_for(
        lambda: metric(server, 'model_server_breaker_open{dependency="object_store"}') == 1,
        "the breaker to open",
    )
    assert server.infer(rows[:5]).status == 200  # still serving, breaker open


def test_a_store_that_never_answers_holds_no_request(
    start_server, model, rows, store, shipping_env
) -> None:
    shipping_env(store.endpoint)
    store.mode = "hang"
    server = start_server(lambda: model, ship_batch_records=1, ship_read_timeout_s=600.0)
    assert server.infer(rows[:1]).status == 200
    wait_for(store.hanging.is_set, "an upload held by the store")
    # The uploader is stuck inside a PUT; requests go on being answered meanwhile.
    replies = [server.infer(rows[i : i + 1]).status for i in range(30)]
    assert replies == [200] * 30
    assert store.hanging.is_set() and metric(server, "model_server_ship_batches_total") == 0
    assert metric(server, "model_server_ship_backlog") >= 1
    store.mode = "ok"
    store.gate.set()  # the store lets go of the held request (dropped without an answer)


def test_the_drain_ships_what_is_pending(start_server, model, rows, store, shipping_env) -> None:
    shipping_env(store.endpoint)
    server = start_server(lambda: model, ship_batch_records=1000, ship_batch_age_s=3600.0)
    for i in range(5):
        assert server.infer(rows[i : i + 1]).status == 200
    wait_for(lambda: metric(server, "model_server_log_written_total") == 5, "records written")
    assert store.keys() == []  # neither full nor old: nothing shipped before the drain
    server.stop()  # what SIGTERM starts (Worker.request_stop)
    (key,) = store.keys()
    lines = gzip.decompress(store.objects[key]).splitlines()
    assert len(lines) == 5 and all(json.loads(line)["model_name"] for line in lines)


# the shipper --------------------------------------------------------------------------------
def shipper(
    upload: Callable[[str, bytes], None],
    *,
    spool: Path | None = None,
    breaker: CircuitBreaker | None = None,
    backlog: int = 4,
) -> tuple[RecordShipper, Metrics]:
    metrics = Metrics(shared_array(1), 0)
    limits = ShipperLimits(batch_records=2, batch_age_s=3600.0, backlog=backlog, max_backoff_s=0.02)
    ship = RecordShipper(
        upload=upload,
        metrics=metrics,
        breaker=breaker or CircuitBreaker("object_store", failure_threshold=2, reset_s=0.02),
        limits=limits,
        spool=spool,
        source="pod-a",
    )
    return ship, metrics


def test_the_breaker_opens_on_a_failing_store_and_closes_when_it_recovers() -> None:
    healthy = threading.Event()
    got: dict[str, bytes] = {}
    breaker = CircuitBreaker("object_store", failure_threshold=2, reset_s=0.02)
    opened = threading.Event()

    def upload(name: str, body: bytes) -> None:
        if not healthy.is_set():
            if breaker.opened_total:
                opened.set()
            raise OSError("connection refused")
        got[name] = body

    ship, metrics = shipper(upload, breaker=breaker)
    ship.start()
    ship.write([b'{"n": 1}', b'{"n": 2}'])
    wait_for(opened.is_set, "the breaker to open and be probed again")
    assert metrics.get("ship_failed_batches") >= 2 and got == {}
    healthy.set()
    wait_for(lambda: metrics.get("ship_batches") == 1, "the batch after recovery")
    assert breaker.state == "closed"
    ship.stop(5.0)
    assert gzip.decompress(next(iter(got.values()))) == b'{"n": 1}\n{"n": 2}\n'


def test_a_spooled_backlog_is_bounded_and_survives_a_restart(tmp_path: Path) -> None:
    def down(name: str, body: bytes) -> None:
        raise OSError("connection refused")

    ship, metrics = shipper(down, spool=tmp_path, backlog=3)
    for n in range(5):  # five batches of two; three fit the backlog
        ship.write([b'{"n": %d}' % n, b'{"n": %d}' % n])
    assert metrics.get("ship_dropped_batches") == 2 and metrics.get("ship_dropped_records") == 4
    assert len(list(tmp_path.glob("predictions-*.jsonl.gz"))) == 3
    spooled = sorted(p.name for p in tmp_path.glob("predictions-*.jsonl.gz"))
    got: list[str] = []
    again, metrics = shipper(lambda name, body: got.append(name), spool=tmp_path)
    again.start()
    wait_for(lambda: metrics.get("ship_batches") == 3, "the leftovers")
    again.stop(5.0)
    assert got == spooled  # oldest first
    assert list(tmp_path.glob("predictions-*")) == []


def test_s3_upload_puts_signed_objects_under_the_prefix(store: FakeS3, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS.secret_access_key)
    target = S3Target.parse(f"s3://mlplat/{PREFIX}", endpoint=store.endpoint, region="us-east-1")
    upload = s3_upload(target, ShipperLimits())
    upload("predictions-x.jsonl.gz", b"body")
    assert store.objects == {f"mlplat/{PREFIX}/predictions-x.jsonl.gz": b"body"}
    store.mode = "fail"
    with pytest.raises(Exception, match="503 SlowDown"):
        upload("predictions-y.jsonl.gz", b"body")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    store.mode = "ok"
    with pytest.raises(Exception, match="403 SignatureDoesNotMatch"):
        upload("predictions-z.jsonl.gz", b"body")


def test_a_shipped_file_cut_short_keeps_the_records_before_the_cut(tmp_path: Path) -> None:
    record = {"ts": 1.7e9, "model_version": "1", "prediction": 1, "key": "k", "features": {}}
    body = gzip.compress(b"\n".join(json.dumps(record).encode() for _ in range(200)) + b"\n")
    (tmp_path / "predictions-20261207T000000.000Z-pod-w0-000000.jsonl.gz").write_bytes(
        body[: len(body) * 3 // 4]
    )
    table = read_records(tmp_path)
    assert 0 < len(table.frame) < 200 and table.skipped == 1
    assert "unreadable" in table.problems[0]


def test_sigterm_ships_every_worker_s_pending_records_before_exiting(
    fitted, rows, tmp_path, isolated_project, store
) -> None:
    """A real server process (``python -m synthetic_project``, two workers), as in an image."""
    import mlflow.sklearn

    model_path = tmp_path / "model"
    mlflow.sklearn.save_model(fitted, str(model_path), metadata={"features": list(FEATURES)})
    creds = tmp_path / "credentials"
    creds.write_text(
        f"[default]\naws_access_key_id = {CREDENTIALS.access_key_id}\n"
        f"aws_secret_access_key = {CREDENTIALS.secret_access_key}\n"
    )
    env = os.environ | {
        "ML_PROJECT_ROOT": str(isolated_project),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")])
        ),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "MLPLAT_RECORDS_S3_URL": f"s3://mlplat/{PREFIX}",
        "MLPLAT_RECORDS_S3_ENDPOINT": store.endpoint,
        "AWS_SHARED_CREDENTIALS_FILE": str(creds),
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        env.pop(name, None)
    out = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "synthetic_project", "--model-uri", str(model_path),
         "--port", "0", "--workers", "2", "--log-dir", str(tmp_path / "logs"),
         "--log-sample-rate", "1", "--ship-batch-age-s", "3600", "--no-cpu-affinity"],
        stdout=out, stderr=subprocess.STDOUT, env=env, cwd=isolated_project,
        start_new_session=True,
    )  # fmt: skip
    try:
        text = lambda: (tmp_path / "server.log").read_text()  # noqa: E731
        listening = lambda: re.search(r"listening on http://[\d.]+:(\d+)", text())  # noqa: E731
        wait_for(listening, "the server to listen", text)
        port = int(listening()[1])  # type: ignore[index]

        def both_ready() -> bool:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/metrics")
                body = conn.getresponse().read().decode()
                conn.close()
            except OSError:
                return False
            found = re.findall(r"^model_server_ready{[^}]*} (\S+)$", body, re.M)
            return sum(float(v) for v in found) == 2

        wait_for(both_ready, "both workers ready", text)
        sent = 0
        for i in range(40):  # new connections: the kernel spreads them over both workers
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            body = json.dumps({"instances": [rows[i].tolist()]}).encode()
            conn.request("POST", "/invocations", body, {"Content-Type": "application/json"})
            assert conn.getresponse().status == 200
            conn.close()
            sent += 1
        assert store.keys() == []  # a batch an hour old or 5000 records: none yet
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.close()
    shipped = store.keys()
    assert shipped and store.bad_signatures == 0
    lines = [line for key in shipped for line in gzip.decompress(store.objects[key]).splitlines()]
    assert len(lines) == sent
    # Each worker ships its own records under its own names (SO_REUSEPORT spreads the 40
    # connections over both: all on one would have odds of 2**-39).
    assert {re.search(r"-w(\d)-\d{6}\.jsonl\.gz$", k)[1] for k in shipped} == {"0", "1"}  # type: ignore[index]
    assert not list((tmp_path / "logs" / "outbox").rglob("predictions-*"))  # nothing left behind
