"""A full source row is accepted: columns that are neither a feature nor the key are ignored.

As batch scoring ignores them (it reads the feature columns and the key), so the row a user has
in their table (the key, the target, attributes, text columns) gets the same answer from the
server as from ``batch``, and /metrics counts what was ignored by request format, never by name.
Missing features stay a 400 that names every missing column.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd
import pytest
from synthetic_project import FEATURES, INFER, KEY, TARGET

from mlplat_runtime.batch import score_file

F = list(FEATURES)
#: Columns of a source row that the model does not take: the target and two attributes.
EXTRA = (TARGET, "city", "signed_up")


@pytest.fixture
def full_rows(sample: pd.DataFrame) -> pd.DataFrame:
    """Rows as the user's table has them: key, features, target and non-numeric attributes."""
    frame = sample.head(12).copy()
    frame["city"] = ["Lyon", "Oslo, Norway", "São Paulo"] * 4  # text, with a comma to quote
    frame["signed_up"] = "2024-01-31"
    return frame[["city", *F[::-1], KEY, TARGET, "signed_up"]]  # any column order


def _csv(frame: pd.DataFrame) -> bytes:
    out = io.StringIO()
    frame.to_csv(out, index=False, quoting=csv.QUOTE_MINIMAL)
    return out.getvalue().encode()


def _counter(text: str, metric: str, source: str) -> float:
    found = re.search(rf'^{metric}{{input="{source}"}} (\S+)$', text, re.M)
    assert found, f"{metric}{{input={source!r}}} is not on /metrics"
    return float(found[1])


def _expected(server, frame: pd.DataFrame) -> list[float]:
    body = {"dataframe_split": {"columns": F, "data": frame[F].to_numpy().tolist()}}
    resp = server.request("POST", "/invocations", body)
    assert resp.status == 200, resp.json
    return resp.json["predictions"]


def test_every_format_answers_a_full_row_as_its_features(server, full_rows):
    expected = _expected(server, full_rows)
    keys = full_rows[KEY].tolist()
    records = full_rows.to_dict(orient="records")
    split = {"columns": list(full_rows.columns), "data": full_rows.to_numpy().tolist()}
    bodies = [
        ({"dataframe_records": records}, {}),
        ({"dataframe_split": split}, {}),
        ({"instances": records}, {}),
        ({"inputs": full_rows.to_dict(orient="list")}, {}),
        (_csv(full_rows), {"Content-Type": "text/csv"}),
    ]
    for body, headers in bodies:
        resp = server.request("POST", "/invocations", body, headers=headers)
        assert resp.status == 200, (body, resp.json)
        assert resp.json["predictions"] == expected
        assert resp.json["keys"] == keys  # the key is kept: it is the prediction record's key


def test_v2_tensor_per_column_ignores_the_other_columns(server, full_rows):
    tensors = [
        {"name": f, "shape": [len(full_rows)], "datatype": "FP64", "data": full_rows[f].tolist()}
        for f in F
    ]
    tensors += [
        {"name": c, "shape": [len(full_rows)], "datatype": "BYTES", "data": full_rows[c].tolist()}
        for c in (KEY, "city", "signed_up")
    ]
    tensors.append(
        {"name": TARGET, "shape": [len(full_rows)], "datatype": "INT64", "data": [0, 1] * 6}
    )
    resp = server.request("POST", INFER, {"inputs": tensors[::-1]})
    assert resp.status == 200, resp.json
    outputs = {o["name"]: o["data"] for o in resp.json["outputs"]}
    assert outputs["predict"] == _expected(server, full_rows)
    assert outputs[KEY] == full_rows[KEY].tolist()


def test_ignored_columns_are_counted_by_format_never_by_name(server, full_rows):
    before = server.request("GET", "/metrics").raw.decode()
    records = full_rows.to_dict(orient="records")
    for _ in range(2):
        resp = server.request("POST", "/invocations", {"dataframe_records": records})
        assert resp.status == 200, resp.json
    resp = server.request(
        "POST", "/invocations", _csv(full_rows), headers={"Content-Type": "text/csv"}
    )
    assert resp.status == 200, resp.json
    features_only = {"dataframe_records": full_rows[[KEY, *F]].to_dict(orient="records")}
    assert server.request("POST", "/invocations", features_only).status == 200
    after = server.request("GET", "/metrics").raw.decode()

    def grew(metric: str, source: str) -> float:
        return _counter(after, metric, source) - _counter(before, metric, source)

    # Each request counts its distinct ignored columns once, however many rows carry them.
    assert grew("model_server_ignored_columns_total", "json") == 2 * len(EXTRA)
    assert grew("model_server_ignored_requests_total", "json") == 2
    assert grew("model_server_ignored_columns_total", "csv") == len(EXTRA)
    assert grew("model_server_ignored_requests_total", "csv") == 1
    assert grew("model_server_ignored_requests_total", "v2") == 0
    assert "city" not in after and "signed_up" not in after


MISSING = [F[0], F[2]]


def _without_missing(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=MISSING)


@pytest.mark.parametrize("fmt", ["dataframe_records", "dataframe_split", "csv", "v2"])
def test_missing_features_are_a_400_naming_each_of_them(server, full_rows, fmt):
    partial = _without_missing(full_rows)
    headers: dict[str, str] = {}
    path = "/invocations"
    if fmt == "dataframe_records":
        body: object = {fmt: partial.to_dict(orient="records")}
    elif fmt == "dataframe_split":
        body = {fmt: {"columns": list(partial.columns), "data": partial.to_numpy().tolist()}}
    elif fmt == "csv":
        body, headers = _csv(partial), {"Content-Type": "text/csv"}
    else:
        path = INFER
        body = {
            "inputs": [
                {"name": c, "shape": [len(partial)], "datatype": "FP64", "data": [1.0] * 12}
                for c in F
                if c not in MISSING
            ]
        }
    resp = server.request("POST", path, body, headers=headers)
    assert resp.status == 400, resp.json
    message = resp.json["error"]
    assert all(repr(name) in message for name in MISSING), message
    assert "city" not in message  # what is ignored is not what is missing


def test_the_server_ignores_what_batch_scoring_ignores(
    model_dir, model, full_rows, start_server, tmp_path
):
    source = tmp_path / "table.csv"
    source.write_bytes(_csv(full_rows))
    scored = score_file(model, source, tmp_path / "scored.parquet")
    assert scored == len(full_rows)
    batch = pd.read_parquet(tmp_path / "scored.parquet")
    server = start_server(lambda: model)
    resp = server.request(
        "POST", "/invocations", source.read_bytes(), headers={"Content-Type": "text/csv"}
    )
    assert resp.status == 200, resp.json
    assert resp.json["keys"] == batch[KEY].tolist()
    np.testing.assert_array_equal(resp.json["predictions"], batch["prediction"].to_numpy())
