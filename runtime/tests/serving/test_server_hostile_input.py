"""Malformed and hostile input is answered with a 4xx naming the problem, never a 5xx."""

from __future__ import annotations

import socket

import pytest
from synthetic_project import FEATURES, KEY

from mlplat_runtime.serving import app as app_module

F = list(FEATURES)
N = len(F)
INFER = "/v2/models/test-model/infer"


def tensor(**overrides):
    base = {"name": "x", "shape": [1, N], "datatype": "FP64", "data": [1.0] * N}
    return {"inputs": [base | overrides]}


BAD_INFER = [
    (b"not json", "not valid JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"inputs": []}', "inputs"),
    (b'{"inputs": "x"}', "inputs"),
    (b'{"inputs": [5]}', "inputs[0]"),
    (tensor(shape=[1, N + 1]), "shape"),
    (tensor(shape=[10**18, N]), "data"),
    (tensor(shape=[-1, N]), "shape"),
    (tensor(shape="big"), "shape"),
    (tensor(data=[1.0] * (N - 1)), "data"),
    (tensor(data=["a"] * N), "data"),
    (tensor(data=[[1.0], [2.0, 3.0]]), "data"),
    (tensor(data={"a": 1}), "data"),
    (tensor(datatype="BYTES"), "datatype"),
    (tensor(datatype="COMPLEX"), "datatype"),
    (tensor(datatype=["FP64"]), "datatype"),
    (tensor(datatype={"a": 1}), "datatype"),
    (tensor(name=7), "name"),
    (b'{"inputs": [{"name": "x", "shape": [1, 1], "datatype": "FP64", "data": [1e999]}]}', ""),
    ({"inputs": [{"name": F[0], "shape": [1], "datatype": "FP64", "data": [1.0]}]}, "missing"),
    (
        {
            "inputs": [
                {"name": "x", "shape": [1, N], "datatype": "FP64", "data": [1.0] * N},
                {
                    "name": KEY,
                    "shape": [2],
                    "datatype": "BYTES",
                    "data": ["a", "b"],
                },
            ]
        },
        "keys",
    ),
    (
        {
            "inputs": [
                {"name": "x", "shape": [1, N], "datatype": "FP64", "data": [1.0] * N},
                {
                    "name": KEY,
                    "shape": [1],
                    "datatype": "BYTES",
                    "data": [{"nested": 1}],
                },
            ]
        },
        "keys",
    ),
    (b"[" * 5000 + b"]" * 5000, "JSON"),
    (b'{"inputs": [{"name": "x", "shape": [0, %d], "datatype": "FP64", "data": []}]}' % N, "rows"),
]


@pytest.mark.parametrize(("body", "needle"), BAD_INFER)
def test_bad_infer_bodies_get_400_naming_the_field(server, body, needle):
    resp = server.request("POST", INFER, body)
    assert resp.status == 400, (resp.status, resp.json)
    assert needle.lower() in resp.json["error"].lower()


BAD_INVOCATIONS = [
    ({"nothing": 1}, "exactly one of"),
    ({"dataframe_split": {"columns": F, "data": [[1.0] * (N - 1)]}}, "values"),
    ({"dataframe_split": {"columns": F[:-1], "data": [[1.0] * (N - 1)]}}, F[-1]),
    ({"dataframe_split": {"columns": [*F, "extra"], "data": [[1.0] * N]}}, "values"),
    ({"dataframe_records": [dict.fromkeys(F[1:], 1.0)]}, F[0]),
    ({"dataframe_records": [5]}, "dataframe_records[0]"),
    ({"dataframe_split": {"columns": [[1]], "data": [[1.0]]}}, "columns"),
    ({"dataframe_split": {"columns": [{"a": 1}], "data": [[1.0]]}}, "columns"),
    ({"dataframe_records": "x"}, "list"),
    ({"instances": [[1.0] * (N + 2)]}, "instances"),
    ({"instances": [[1.0] * N], "inputs": [[1.0] * N]}, "exactly one of"),
]


@pytest.mark.parametrize(("body", "needle"), BAD_INVOCATIONS)
def test_bad_invocations_get_400_naming_the_field(server, body, needle):
    resp = server.request("POST", "/invocations", body)
    assert resp.status == 400, (resp.status, resp.json)
    assert needle.lower() in resp.json["error"].lower()


def test_contract_violation_names_the_column(server, rows, bounded_feature):
    bad = rows[:3].copy()
    column = bounded_feature
    bad[1, F.index(column.name)] = column.maximum * 10 + 1000
    resp = server.infer(bad)
    assert resp.status == 400
    assert column.name in resp.json["error"] and "maximum" in resp.json["error"]


def test_null_is_rejected_by_the_contract(server, rows):
    body = {"dataframe_records": [dict.fromkeys(F, None)]}
    resp = server.request("POST", "/invocations", body)
    assert resp.status == 400 and "null" in resp.json["error"]


def test_wrong_content_type_for_invocations(server):
    resp = server.request("POST", "/invocations", b"a=1", headers={"Content-Type": "text/plain"})
    assert resp.status == 415 and "text/csv" in resp.json["error"]


def test_bad_deadline_header(server, rows):
    for value in ("soon", "-5", "0", "nan"):
        resp = server.infer(rows[:1], headers={"X-Request-Timeout-Ms": value})
        assert resp.status == 400 and "X-Request-Timeout-Ms" in resp.json["error"]


def test_body_cap_413(start_server, model):
    small = start_server(lambda: model, max_body_bytes=1000)
    assert small.request("POST", INFER, b"x" * 5000).status == 413


def raw(server, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(payload)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
        return b"".join(chunks)


def test_chunked_body_over_the_cap_413(start_server, model):
    small = start_server(lambda: model, max_body_bytes=1000)
    chunk = b"x" * 800
    payload = (
        b"POST " + INFER.encode() + b" HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        b"\r\n" + (b"320\r\n" + chunk + b"\r\n") * 3 + b"0\r\n\r\n"
    )
    assert raw(small, payload).startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", b"4"),
        (b"GET /v2/health/live HTTP/1.1\r\n" + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n", b"431"),
        (b"GET /v2/health/live HTTP/1.1\r\n" + b"X: a\r\n" * 1000 + b"\r\n", b"431"),
        (b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", b"414"),
        (b"DELETE /v2/health/live HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", b"405"),
    ],
)
def test_hostile_http_gets_4xx(server, payload, status):
    answer = raw(server, payload)
    assert answer.startswith(b"HTTP/1.1 " + status), answer[:80]


def test_server_survives_hostile_input(server, rows):
    raw(server, b"\x00\xff" * 1000)
    server.request("POST", INFER, b"[" * 100000)
    assert server.infer(rows[:1]).status == 200
    text = server.request("GET", "/metrics").raw.decode()
    assert 'model_server_responses_total{code="500"} 0' in text


def test_unexpected_parse_error_is_a_400_and_the_connection_answers(server, rows, monkeypatch):
    def broken(body, model):
        raise TypeError("unhashable type: 'list'")

    monkeypatch.setattr(app_module, "parse_infer", broken)
    resp = server.request("POST", INFER, tensor(), timeout=5)
    assert resp.status == 400 and "could not read the request" in resp.json["error"]


def test_a_bug_in_routing_is_still_answered_and_the_server_survives(server, rows, monkeypatch):
    def broken(self, path):
        raise RuntimeError("boom")

    monkeypatch.setattr(app_module.ServingApp, "_get", broken)
    resp = server.request("GET", "/v2/health/ready", timeout=5)
    assert resp.status == 500 and "internal error" in resp.json["error"]
    monkeypatch.undo()
    assert server.infer(rows[:1]).status == 200


def test_a_failing_encoder_is_answered_and_the_server_survives(server, rows, monkeypatch):
    def broken(model, parsed, out):
        raise ValueError("cannot encode")

    monkeypatch.setattr(app_module, "encode_infer", broken)
    resp = server.request("POST", INFER, tensor(data=rows[0].tolist()), timeout=5)
    assert resp.status == 500 and "internal error" in resp.json["error"]
    monkeypatch.undo()
    assert server.infer(rows[:1]).status == 200


def test_pipelined_requests_are_answered_in_order(server):
    one = b"GET /v2/health/live HTTP/1.1\r\nHost: a\r\n\r\n"
    last = b"GET /v2/models/test-model/ready HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    answer = raw(server, one * 3 + last)
    assert answer.count(b"HTTP/1.1 200") == 4
    assert answer.rstrip().endswith(b'"ready":true}')


def test_expect_100_continue_is_answered_before_the_body(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"{}")
        assert b"400 Bad Request" in sock.recv(65536)
