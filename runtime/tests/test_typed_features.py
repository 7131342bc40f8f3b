"""Text and date features: the contract's kinds, the shared encoding, make contract's proposal.

Through the public surface: ``Contract``/``Column``, the transform steps a project builds its
pipeline from, ``infer_contract`` (what ``make contract`` decides), ``render_contract`` and the
compile step's refusal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlplat_runtime.compiled import export_onnx
from mlplat_runtime.contract_file import render_contract
from mlplat_runtime.errors import ContractViolation, NotConvertible
from mlplat_runtime.infer import InferOptions, infer_contract
from mlplat_runtime.rules import Column, Contract
from mlplat_runtime.slices import groups
from mlplat_runtime.transforms import ExpandColumns, FillMissing, SelectFeatures

FEATURES = ("area", "city", "listed")
COLUMNS = (
    Column(name="area", dtype="float", role="feature", minimum=0, maximum=500, nullable=True),
    Column(name="city", dtype="str", role="feature", nullable=True),
    Column(
        name="listed",
        dtype="date",
        role="feature",
        date_parts=("year", "month", "dayofweek", "hour", "epoch_days"),
        nullable=True,
    ),
    Column(name="price", dtype="float", role="target"),
)
CONTRACT = Contract(COLUMNS)


def _frame(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cities = np.array(["Lisbon", "Porto", "Madrid", "Lyon"])
    city = cities[rng.integers(0, len(cities), rows)]
    area = rng.uniform(20, 200, rows).round(1)
    days = rng.integers(0, 700, rows)
    listed = pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D")
    effect = {"Lisbon": 40.0, "Porto": 10.0, "Madrid": 55.0, "Lyon": -5.0}
    price = 100 + 1.5 * area + np.vectorize(effect.get)(city) + rng.normal(0, 5, rows)
    return pd.DataFrame(
        {
            "area": area,
            "city": city,
            "listed": [t.strftime("%Y-%m-%dT%H:%M:%S") for t in listed],
            "price": price.round(2),
        }
    )


def _pipeline() -> Pipeline:
    text, dates = CONTRACT.text_features, CONTRACT.date_features
    transform = Pipeline(
        [
            ("select", SelectFeatures(FEATURES, text=text, dates=tuple(dates))),
            ("expand", ExpandColumns([1], {2: dates["listed"]})),
            ("scale", StandardScaler()),
            ("fill", FillMissing()),
        ]
    )
    return Pipeline([("features", transform), ("model", Ridge())])


@pytest.fixture(scope="module")
def trained() -> tuple[Pipeline, pd.DataFrame]:
    frame = CONTRACT.validate_frame(_frame())
    return _pipeline().fit(frame, frame["price"]), frame


def test_the_contract_accepts_text_and_date_features_and_names_their_encoding() -> None:
    assert CONTRACT.features == FEATURES
    assert CONTRACT.numeric_features == ("area",)
    assert CONTRACT.text_features == {"city": None}
    assert CONTRACT.date_features["listed"][-1] == "epoch_days"
    with pytest.raises(ValueError, match="date_parts .* must name some of"):
        Contract((Column(name="d", dtype="date", role="feature", date_parts=("week",)), COLUMNS[3]))
    with pytest.raises(ValueError, match="max_categories is for str features only"):
        Contract((Column(name="a", dtype="float", role="feature", max_categories=3), COLUMNS[3]))


def test_validation_types_iso_dates_and_names_the_ones_that_are_not() -> None:
    frame = _frame(10)
    assert pd.api.types.is_datetime64_any_dtype(CONTRACT.validate_frame(frame)["listed"])
    frame.loc[3, "listed"] = "03/15/2024"
    with pytest.raises(ContractViolation, match="listed.*ISO 8601"):
        CONTRACT.validate_frame(frame)


def test_text_learns_a_better_model_than_without_it(trained) -> None:
    model, frame = trained
    numeric_only = Pipeline([("scale", StandardScaler()), ("model", Ridge())])
    numeric_only.fit(frame[["area"]], frame["price"])
    with_city = np.abs(model.predict(frame) - frame["price"]).mean()
    without = np.abs(numeric_only.predict(frame[["area"]]) - frame["price"]).mean()
    assert with_city < without / 2


def test_unseen_and_missing_categories_and_dates_never_raise(trained) -> None:
    model, frame = trained
    odd = pd.DataFrame(
        {
            "area": [80.0, None, 80.0],
            "city": ["Atlantis", None, ""],
            "listed": ["2031-06-01T12:00:00+02:00", None, "2024-02-29"],
        }
    )
    out = model.predict(odd)
    assert np.isfinite(out).all()
    select = model.named_steps["features"].named_steps["select"]
    expand = model.named_steps["features"].named_steps["expand"]
    codes = select.transform(odd)
    assert codes[0, 1] == -1.0 and np.isnan(codes[1, 1]) and np.isnan(codes[2, 1])
    onehot = expand.transform(codes)[:, 1:7]  # 4 cities, other, missing
    assert onehot.tolist()[0] == [0, 0, 0, 0, 1, 0] and onehot.tolist()[1] == [0, 0, 0, 0, 0, 1]
    parts = expand.transform(codes)[:, 7:]
    assert parts[0, :4].tolist() == [2031, 6, 6, 10]  # 12:00+02:00 is 10:00 UTC, a Sunday
    assert np.isnan(parts[1]).all() and parts[2, :2].tolist() == [2024, 2]


def test_a_frame_an_object_array_and_the_served_codes_predict_alike(trained) -> None:
    model, frame = trained
    rows = frame.loc[:, list(FEATURES)].head(20)
    cells = np.array(
        [[r.area, r.city, r.listed.isoformat()] for r in rows.itertuples()], dtype=object
    )
    codes = model.named_steps["features"].named_steps["select"].encode(cells)
    np.testing.assert_allclose(model.predict(rows), model.predict(cells))
    np.testing.assert_allclose(model.predict(rows), model.predict(codes))


def test_high_cardinality_keeps_the_top_k_and_shares_other() -> None:
    values = pd.Series([f"m{i % 50}" for i in range(1000)] + ["m1"] * 30 + [None] * 5)
    select = SelectFeatures(("m",), text={"m": 10}).fit(values.to_frame("m"))
    assert len(select.vocabularies_["m"]) == 10 and select.vocabularies_["m"][0] == "m1"
    codes = select.transform(values.to_frame("m"))[:, 0]
    expand = ExpandColumns([0]).fit(codes[:, None])
    assert expand.transform(codes[:, None]).shape == (len(values), 12)
    assert (codes == -1).sum() == 40 * 20 and np.isnan(codes).sum() == 5
    shuffled = values.sample(frac=1, random_state=1).to_frame("m")
    again = SelectFeatures(("m",), text={"m": 10}).fit(shuffled)
    assert again.vocabularies_ == select.vocabularies_


def test_the_serving_check_counts_no_unseen_category_as_a_violation() -> None:
    X = np.array([[50.0, -1.0, 1.7e9], [50.0, np.nan, np.nan]])
    assert CONTRACT.check_batch(X) == []
    strict = Contract((Column(name="c", dtype="str", role="feature"), COLUMNS[3]))
    assert strict.check_batch(np.array([[np.nan]])) == ["c: 1 rows null (not nullable)"]


def test_compiling_a_pipeline_with_encoders_is_refused_by_name(trained) -> None:
    model, _ = trained
    with pytest.raises(NotConvertible, match="ExpandColumns.*one-hot text 'city'.*'listed'"):
        export_onnx(model, 3)


def _proposal(frame: pd.DataFrame, target: str) -> dict[str, Column]:
    draft = infer_contract(frame, InferOptions(target=target))
    return {c.name: c for c in draft.columns}


def test_make_contract_proposes_categories_dates_and_keeps_ids_out() -> None:
    rng = np.random.default_rng(3)
    rows = 600
    frame = _frame(rows)
    frame["listing_ref"] = [f"L-{i:05d}" for i in rng.permutation(rows)]
    frame["street"] = [f"street {i % 60}" for i in range(rows)]
    frame["day"] = ["03/15/2024"] * rows
    columns = _proposal(frame, "price")
    assert columns["city"].dtype == "str" and columns["city"].role == "feature"
    assert columns["city"].max_categories is None and columns["city"].allowed is None
    assert columns["street"].max_categories == 20
    assert columns["listed"].dtype == "date"
    assert columns["listed"].date_parts == ("year", "month", "dayofweek", "epoch_days")
    assert "listing_ref" not in columns and "day" not in columns
    draft = infer_contract(frame, InferOptions(target="price"))
    assert any("listing_ref" in line and "identifier" in line for line in draft.left_out)
    assert any("day" in line and "ISO 8601" in line for line in draft.left_out)


def test_dates_and_categories_held_as_object_dtype_are_proposed_alike() -> None:
    """pandas before 3 (a Feast project pins it) reads text as ``object``, not ``str``: the same
    columns must get the same proposal."""
    frame = _frame(600)
    as_str = _proposal(frame, "price")
    as_object = _proposal(frame.astype({"city": object, "listed": object}), "price")
    for name in ("city", "listed"):
        assert as_object[name] == as_str[name]
    assert as_object["listed"].dtype == "date"


def test_the_written_contract_shows_the_encodings_and_reads_back() -> None:
    text = render_contract(COLUMNS, source="data/raw/prices.csv")
    assert 'date_parts=("year", "month", "dayofweek", "hour", "epoch_days")' in text
    namespace: dict[str, object] = {}
    exec(compile(text, "contract.py", "exec"), namespace)
    assert namespace["COLUMNS"] == COLUMNS
    wide = (Column(name="merchant", dtype="str", role="feature", max_categories=20), COLUMNS[3])
    assert "max_categories=20" in render_contract(wide, source="x.csv")


def test_a_date_is_sliced_into_quartiles_and_never_the_fallback_slice() -> None:
    rows = 400
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "created_at": (
                pd.Timestamp("2025-01-01") + pd.to_timedelta(np.arange(rows) * 3600, unit="s")
            ).strftime("%Y-%m-%dT%H:%M:%S"),
            "v1": rng.normal(size=rows),
            "y": rng.integers(0, 2, rows),
        }
    )
    draft = infer_contract(frame, InferOptions(target="y"))
    assert draft.slices == ("v1",)  # a number cut into quartiles, not a slice per timestamp
    dates = pd.to_datetime(frame["created_at"], utc=True)
    labels = groups(dates)
    assert labels.nunique() == 4 and labels.iloc[0].startswith("[2024-12-31, 2025-01-")
