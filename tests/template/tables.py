"""Five tables the template never saw, built deterministically (seeded numpy, nothing downloaded).

They are the "any tabular dataset" cases of issue 18: a multiclass target with text labels; a
regression with a text ``city`` column and 10% missing values; a 2%-positive binary target with
a datetime and an id; 200 columns without a key; and 1,000,000 rows. Each comes with the
``make contract`` arguments a user would pass and what the pipeline should make of it.
"""

from __future__ import annotations

__all__ = ["TABLES", "Table", "build"]

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


def multiclass_text(rows: int = 3000, seed: int = 1) -> pd.DataFrame:
    """Three text classes from a softmax over five numeric features; a customer id key."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5))
    weights = np.array([[1.5, -1.0, 0.0, 0.5, 0.0], [-0.5, 1.2, 1.0, 0.0, 0.0], [0.0] * 5])
    logits = x @ weights.T
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array(["bronze", "silver", "gold"])
    chosen = (proba.cumsum(axis=1) > rng.random((rows, 1))).argmax(axis=1)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(1, 6)]).round(4)
    frame.insert(0, "customer_id", [f"C{i:06d}" for i in range(rows)])
    frame["tier"] = labels[chosen]
    return frame


def regression_city(rows: int = 3000, seed: int = 2) -> pd.DataFrame:
    """A price driven by a text ``city`` and three numbers, 10% of each number missing."""
    rng = np.random.default_rng(seed)
    cities = np.array(["Lisbon", "Porto", "Madrid", "Seville", "Lyon", "Nantes", "Turin", "Genoa"])
    effect = dict(zip(cities, [40.0, 10.0, 55.0, -5.0, 20.0, 0.0, 30.0, -15.0], strict=True))
    city = cities[rng.integers(0, len(cities), rows)]
    area = rng.gamma(4.0, 20.0, rows)
    rooms = rng.integers(1, 7, rows).astype("float64")
    age = rng.uniform(0, 80, rows)
    price = (
        100 + 1.5 * area + 12 * rooms - 0.6 * age + np.vectorize(effect.get)(city)
    ) + rng.normal(0, 15, rows)
    frame = pd.DataFrame(
        {"city": city, "area_m2": area.round(1), "rooms": rooms, "age_years": age.round(1)}
    )
    for name in ("area_m2", "rooms", "age_years"):
        frame.loc[rng.random(rows) < 0.10, name] = np.nan
    frame["price"] = price.round(2)
    return frame


def fraud_imbalanced(rows: int = 20000, seed: int = 3) -> pd.DataFrame:
    """About 2% positives; a datetime, a unique transaction id, six numeric features."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6))
    logit = -5.4 + 1.4 * x[:, 0] - 1.0 * x[:, 1] + 0.8 * x[:, 2]
    fraud = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    start = np.datetime64("2025-01-01T00:00:00")
    seconds = np.sort(rng.integers(0, 365 * 24 * 3600, rows))
    frame = pd.DataFrame(x.round(4), columns=[f"v{i}" for i in range(1, 7)])
    frame.insert(0, "transaction_id", rng.permutation(rows) + 10_000_000)
    frame.insert(1, "created_at", (start + seconds.astype("timedelta64[s]")).astype(str))
    frame["amount"] = rng.gamma(2.0, 40.0, rows).round(2)
    frame["is_fraud"] = fraud
    return frame


def wide(rows: int = 2000, seed: int = 4, columns: int = 199) -> pd.DataFrame:
    """200 columns: 199 numeric features (ten informative) and a 0/1 target; no key."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, columns))
    logit = x[:, :10] @ np.linspace(1.0, 0.2, 10)
    target = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame(x.round(4), columns=[f"f{i:03d}" for i in range(columns)])
    frame["target"] = target
    return frame


def big(rows: int = 1_000_000, seed: int = 5, columns: int = 19) -> pd.DataFrame:
    """1,000,000 rows x 20 columns: 19 numeric features and a numeric target; no key."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, columns)).astype("float64")
    y = x @ np.linspace(2.0, 0.1, columns) + rng.normal(0, 1.0, rows)
    frame = pd.DataFrame(x.round(5), columns=[f"c{i:02d}" for i in range(columns)])
    frame["target"] = y.round(4)
    return frame


@dataclass(frozen=True, kw_only=True)
class Table:
    """One table and how a user would bring it.

    Attributes:
        name: Short id (test ids, file name).
        make: Builds the frame (deterministic).
        file: File name the table is written to (``.csv`` or ``.parquet``).
        contract_args: ``make contract`` variables besides ``SOURCE``.
        champion: Whether the data supports a promoted model with the default gates.
    """

    name: str
    make: Callable[[], pd.DataFrame]
    file: str
    contract_args: dict[str, str] = field(default_factory=dict)
    champion: bool = True


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            name="multiclass",
            make=multiclass_text,
            file="tiers.csv",
            contract_args={"TARGET": "tier"},
        ),
        Table(
            name="regression_city",
            make=regression_city,
            file="prices.csv",
            contract_args={"TARGET": "price"},
        ),
        Table(
            name="fraud",
            make=fraud_imbalanced,
            file="transactions.csv",
            contract_args={"TARGET": "is_fraud"},
        ),
        Table(name="wide", make=wide, file="wide.csv", contract_args={"TARGET": "target"}),
        Table(
            name="million",
            make=big,
            file="million.parquet",
            contract_args={"TARGET": "target"},
        ),
    )
}


def build(table: Table, directory: Path) -> Path:
    """Write ``table`` into ``directory`` and return the file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / table.file
    frame = table.make()
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path
