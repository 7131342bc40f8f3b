"""A model with a text and a date feature, served: every input format takes strings and dates.

The server's answer for each format must equal the fitted pipeline's own predict on the same rows
as a DataFrame (what training and batch scoring run), including an unseen city and missing cells.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from serving_harness import Harness
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlplat_runtime.profile import build_profile
from mlplat_runtime.rules import Column, Contract
from mlplat_runtime.serving.model import LoadedModel
from mlplat_runtime.transforms import ExpandColumns, FillMissing, SelectFeatures

FEATURES = ("area", "city", "listed")
CONTRACT = Contract(
    (
        Column(name="id", dtype="str", role="key", unique=True),
        Column(name="area", dtype="float", role="feature", nullable=True),
        Column(name="city", dtype="str", role="feature", nullable=True),
        Column(name="listed", dtype="date", role="feature", nullable=True),
        Column(name="price", dtype="float", role="target"),
    )
)
ROWS: list[list[Any]] = [
    [80.0, "Lisbon", "2024-03-01"],
    [120.5, "Atlantis", "2025-07-14T18:30:00+02:00"],  # a city training never saw
    [None, None, None],  # every cell missing
    [45.0, "Porto", "2024-12-31T23:59:00"],
]
CSV = "id,area,city,listed\na,80,Lisbon,2024-03-01\nb,120.5,Atlantis,2025-07-14T18:30:00+02:00\n"
CSV += "c,,,\nd,45,Porto,2024-12-31T23:59:00\n"


def _train() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 300
    city = np.array(["Lisbon", "Porto", "Madrid"])[rng.integers(0, 3, n)]
    area = rng.uniform(20, 200, n).round(1)
    listed = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 600, n), unit="D")
    bump = np.vectorize({"Lisbon": 40.0, "Porto": 10.0, "Madrid": 55.0}.get)(city)
    frame = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(n)],
            "area": area,
            "city": city,
            "listed": listed.strftime("%Y-%m-%d"),
            "price": 100 + 1.5 * area + bump + rng.normal(0, 5, n),
        }
    )
    return CONTRACT.validate_frame(frame)


@pytest.fixture(scope="module")
def typed_model() -> LoadedModel:
    frame = _train()
    dates = CONTRACT.date_features
    transform = Pipeline(
        [
            ("select", SelectFeatures(FEATURES, text=CONTRACT.text_features, dates=tuple(dates))),
            ("expand", ExpandColumns([1], {2: dates["listed"]})),
            ("scale", StandardScaler()),
            ("fill", FillMissing()),
        ]
    )
    fitted = Pipeline([("features", transform), ("model", Ridge())]).fit(frame, frame["price"])
    return LoadedModel(
        name="test-model",
        version="1",
        uri="memory:",
        estimator=fitted,
        features=FEATURES,
        key="id",
        problem_type="regression",
        check=CONTRACT.check_batch,
        reference_profile=build_profile(frame, CONTRACT.numeric_features),
    )


@pytest.fixture
def typed_server(start_server: Callable[..., Harness], typed_model: LoadedModel) -> Harness:
    return start_server(lambda: typed_model)


@pytest.fixture(scope="module")
def expected(typed_model: LoadedModel) -> np.ndarray:
    frame = pd.DataFrame(ROWS, columns=list(FEATURES))
    return np.asarray(typed_model.estimator.predict(frame))


def _v2(server: Harness, inputs: list[dict[str, Any]]) -> list[float]:
    resp = server.request("POST", "/v2/models/test-model/infer", {"inputs": inputs})
    assert resp.status == 200, resp.json
    return next(o["data"] for o in resp.json["outputs"] if o["name"] == "predict")


def test_v2_one_bytes_matrix(typed_server: Harness, expected: np.ndarray) -> None:
    flat = [cell for row in ROWS for cell in row]
    got = _v2(typed_server, [{"name": "x", "shape": [4, 3], "datatype": "BYTES", "data": flat}])
    np.testing.assert_allclose(got, expected)


def test_v2_one_tensor_per_feature(typed_server: Harness, expected: np.ndarray) -> None:
    inputs = [
        {
            "name": name,
            "shape": [4],
            "datatype": "FP64" if name == "area" else "BYTES",
            "data": [row[j] for row in ROWS],
        }
        for j, name in enumerate(FEATURES)
    ]
    np.testing.assert_allclose(_v2(typed_server, inputs), expected)


@pytest.mark.parametrize("fmt", ["dataframe_records", "dataframe_split", "instances"])
def test_invocations_json(typed_server: Harness, expected: np.ndarray, fmt: str) -> None:
    records = [dict(zip(FEATURES, row, strict=True)) for row in ROWS]
    payload: Any = {
        "dataframe_records": records,
        "dataframe_split": {"columns": list(reversed(FEATURES)), "data": [r[::-1] for r in ROWS]},
        "instances": ROWS,
    }[fmt]
    resp = typed_server.request("POST", "/invocations", {fmt: payload})
    assert resp.status == 200, resp.json
    np.testing.assert_allclose(resp.json["predictions"], expected)


def test_invocations_csv(typed_server: Harness, expected: np.ndarray) -> None:
    resp = typed_server.request(
        "POST", "/invocations", CSV.encode(), headers={"Content-Type": "text/csv"}
    )
    assert resp.status == 200, resp.json
    np.testing.assert_allclose(resp.json["predictions"], expected)
    assert resp.json["keys"] == ["a", "b", "c", "d"]


def test_a_date_that_is_not_iso_is_a_400_naming_the_column(typed_server: Harness) -> None:
    records = [{"area": 1.0, "city": "Porto", "listed": "14/07/2025"}]
    resp = typed_server.request("POST", "/invocations", {"dataframe_records": records})
    assert resp.status == 400 and "listed" in resp.json["error"]
    assert "ISO 8601" in resp.json["error"]


def test_a_numeric_feature_sent_as_text_is_a_400(typed_server: Harness) -> None:
    records = [{"area": "big", "city": "Porto", "listed": "2025-01-01"}]
    resp = typed_server.request("POST", "/invocations", {"dataframe_records": records})
    assert resp.status == 400 and "area" in resp.json["error"]


def test_batch_scoring_gives_the_same_answers(
    typed_model: LoadedModel, expected: np.ndarray, tmp_path: Any
) -> None:
    from mlplat_runtime.batch import score_file

    source = tmp_path / "rows.csv"
    source.write_text(CSV)
    target = tmp_path / "scored.parquet"
    assert score_file(typed_model, source, target) == 4
    np.testing.assert_allclose(pd.read_parquet(target)["prediction"], expected)


def test_metadata_names_one_tensor_per_feature_bytes_for_text_and_dates(
    typed_server: Harness,
) -> None:
    meta = typed_server.request("GET", "/v2/models/test-model").json
    inputs = {t["name"]: (t["datatype"], t["shape"]) for t in meta["inputs"]}
    assert inputs == {
        "area": ("FP64", [-1]),
        "city": ("BYTES", [-1]),
        "listed": ("BYTES", [-1]),
        "id": ("BYTES", [-1]),  # the key, optional
    }
    kinds = [t["parameters"].get("kind") for t in meta["inputs"]]
    assert kinds == ["number", "text", "date", None]


def test_a_full_source_row_is_served_its_other_columns_ignored_and_counted(
    typed_server: Harness, expected: np.ndarray
) -> None:
    """The key, the target and a column the model never saw travel with a text/date model's row
    as with a numeric one: the answer is the features-only answer, and /metrics counts them."""
    extra = {"price": 1.0, "agent": "Ana, Lda"}  # a comma inside a quoted CSV cell
    records = [
        {"id": k, **dict(zip(FEATURES, row, strict=True)), **extra}
        for k, row in zip("abcd", ROWS, strict=True)
    ]
    resp = typed_server.request("POST", "/invocations", {"dataframe_records": records})
    assert resp.status == 200, resp.json
    np.testing.assert_allclose(resp.json["predictions"], expected)

    columns = ["agent", "id", *FEATURES, "price"]
    split = {"columns": columns, "data": [[r[c] for c in columns] for r in records]}
    resp = typed_server.request("POST", "/invocations", {"dataframe_split": split})
    assert resp.status == 200, resp.json
    np.testing.assert_allclose(resp.json["predictions"], expected)

    csv = CSV.replace("id,area,city,listed\n", "id,area,city,listed,agent,price\n")
    lines = csv.splitlines()
    csv = "\n".join([lines[0], *(f'{line},"Ana, Lda",1.0' for line in lines[1:])]) + "\n"
    resp = typed_server.request(
        "POST", "/invocations", csv.encode(), headers={"Content-Type": "text/csv"}
    )
    assert resp.status == 200, resp.json
    np.testing.assert_allclose(resp.json["predictions"], expected)

    inputs = [
        {
            "name": name,
            "shape": [4],
            "datatype": "FP64" if name in ("area", "price") else "BYTES",
            "data": [r[name] for r in records],
        }
        for name in columns
    ]
    np.testing.assert_allclose(_v2(typed_server, inputs), expected)

    metrics = typed_server.request("GET", "/metrics").raw.decode()
    counted = {
        (m[1], m[2]): float(m[3])
        for m in re.finditer(
            r'^model_server_ignored_(\w+)_total\{input="(\w+)"\} (\S+)$', metrics, re.MULTILINE
        )
    }
    # Two JSON requests (records, split), one CSV, one V2, each with price and agent left out.
    assert counted == {
        ("requests", "json"): 2,
        ("columns", "json"): 4,
        ("requests", "csv"): 1,
        ("columns", "csv"): 2,
        ("requests", "v2"): 1,
        ("columns", "v2"): 2,
    }
    assert "agent" not in metrics
