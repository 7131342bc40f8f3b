"""The wire protocol: OIP V2 routes, MLflow /invocations, keyed predictions, versions, metrics.

Every test runs against a classifier and a regressor (their outputs differ: labels with class
probabilities, or numbers alone).
"""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_project import FEATURES

from mlplat_runtime.serving.predict import predict_arrays

F = list(FEATURES)


@pytest.fixture
def model(any_model):
    """The served model: each problem type in turn."""
    return any_model


def test_health_and_metadata(server, model):
    assert server.request("GET", "/v2/health/live").json == {"live": True}
    ready = server.request("GET", "/v2/health/ready")
    assert ready.status == 200 and ready.json == {"ready": True}
    meta = server.request("GET", "/v2/models/test-model")
    assert meta.status == 200
    assert meta.json["versions"] == ["7"]
    assert meta.json["inputs"][0]["parameters"]["columns"] == F
    outputs = {o["name"]: o for o in meta.json["outputs"]}
    assert outputs["predict"]["datatype"] in ("INT64", "FP64", "BYTES", "BOOL")
    if model.problem_type == "classification":
        assert outputs["predict_proba"]["shape"] == [-1, len(model.estimator.classes_)]
    assert server.request("GET", "/v2/models/test-model/ready").json["ready"] is True
    assert server.request("GET", "/v2/models/other").status == 404
    assert server.request("GET", "/nope").status == 404


def test_infer_matrix_matches_the_pure_function(server, model, rows):
    resp = server.infer(rows[:5])
    assert resp.status == 200
    assert resp.headers["x-model-version"] == "7"
    assert resp.json["model_version"] == "7" and resp.json["model_name"] == "test-model"
    expected = predict_arrays(model.estimator, rows[:5])
    out = {o["name"]: o for o in resp.json["outputs"]}
    np.testing.assert_allclose(out["predict"]["data"], expected.predict)
    if expected.proba is not None:
        assert out["predict_proba"]["shape"] == list(expected.proba.shape)
        np.testing.assert_allclose(out["predict_proba"]["data"], expected.proba.ravel())


def test_infer_one_tensor_per_column_and_id_echo(server, model, rows):
    inputs = [
        {"name": f, "shape": [3], "datatype": "FP64", "data": rows[:3, F.index(f)].tolist()}
        for f in reversed(F)
    ]
    resp = server.request("POST", "/v2/models/test-model/infer", {"id": "req-1", "inputs": inputs})
    assert resp.status == 200, resp.json
    assert resp.json["id"] == "req-1"
    np.testing.assert_allclose(
        resp.json["outputs"][0]["data"], predict_arrays(model.estimator, rows[:3]).predict
    )


def test_versioned_route(server, rows):
    body = {
        "inputs": [
            {"name": "x", "shape": [1, len(F)], "datatype": "FP64", "data": rows[0].tolist()}
        ]
    }
    assert server.request("POST", "/v2/models/test-model/versions/7/infer", body).status == 200
    assert server.request("POST", "/v2/models/test-model/versions/8/infer", body).status == 404


def test_keyed_predictions_oip(server, rows, row_keys):
    body = {
        "inputs": [
            {
                "name": "x",
                "shape": [4, len(F)],
                "datatype": "FP64",
                "data": rows[:4].ravel().tolist(),
            },
            {"name": server.app.model.key, "shape": [4], "datatype": "BYTES", "data": row_keys[:4]},
        ]
    }
    resp = server.request("POST", "/v2/models/test-model/infer", body)
    assert resp.status == 200
    keys = next(o for o in resp.json["outputs"] if o["name"] == server.app.model.key)
    assert keys["data"] == row_keys[:4]


@pytest.mark.parametrize("fmt", ["dataframe_split", "dataframe_records", "instances"])
def test_invocations_formats_with_keys(server, model, rows, row_keys, fmt):
    key = model.key
    records = [
        {key: k, **dict(zip(F, r.tolist(), strict=True))}
        for k, r in zip(row_keys[:3], rows[:3], strict=True)
    ]
    if fmt == "dataframe_split":
        body = {
            fmt: {"columns": [key, *F], "data": [[r[key], *[r[f] for f in F]] for r in records]}
        }
    else:
        body = {fmt: records}
    resp = server.request("POST", "/invocations", body)
    assert resp.status == 200, resp.json
    assert resp.json["keys"] == row_keys[:3]
    assert resp.json["model_version"] == "7"
    np.testing.assert_allclose(
        resp.json["predictions"], predict_arrays(model.estimator, rows[:3]).predict
    )


def test_invocations_plain_instances(server, model, rows):
    resp = server.request("POST", "/invocations", {"instances": rows[:2].tolist()})
    assert resp.status == 200 and "keys" not in resp.json
    assert len(resp.json["predictions"]) == 2


def test_metrics_count_requests_and_rows(server, rows):
    server.infer(rows[:3])
    text = server.request("GET", "/metrics").raw.decode()
    assert 'model_server_responses_total{code="200"}' in text
    assert "model_server_rows_total 3" in text
    assert 'model_info{name="test-model",version="7",runtime="sklearn"} 1' in text
    assert "model_drift_measured{" in text


def test_prediction_records_are_written_with_version_and_key(server, rows, row_keys):
    body = {
        "inputs": [
            {
                "name": "x",
                "shape": [2, len(F)],
                "datatype": "FP64",
                "data": rows[:2].ravel().tolist(),
            },
            {"name": server.app.model.key, "shape": [2], "datatype": "BYTES", "data": row_keys[:2]},
        ]
    }
    assert server.request("POST", "/v2/models/test-model/infer", body).status == 200
    server.worker.plog.stop(5.0)  # flushes
    path = server.app.settings.log_dir / "predictions-0.jsonl"
    import json

    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["key"] for r in records] == row_keys[:2]
    assert {r["model_version"] for r in records} == {"7"}
    assert list(records[0]["features"]) == F
