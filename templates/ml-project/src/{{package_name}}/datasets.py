"""Offline sample sources: each returns the same DataFrame on every call, on every machine.

``builtin:credit`` is a synthetic credit-application set with a ``group`` column, generated from a
fixed seed, so the fairness gate has a sensitive attribute to check. ``builtin:diabetes`` is
scikit-learn's bundled diabetes set (no download) with ``sex`` as its sensitive column. Replace the
``data.source`` in ``config.toml`` with a Parquet or CSV path to train on your own data.
"""

from __future__ import annotations

__all__ = ["BUILTIN", "load_source", "read_table"]

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from mlplat_runtime.tables import read_table

from .errors import PipelineError

_CREDIT_SEED = 20240607


def _credit(n_rows: int) -> pd.DataFrame:
    """Synthetic credit applications; approval depends on finances only, never on ``group``."""
    rng = np.random.default_rng(_CREDIT_SEED)
    group = rng.choice(np.array(["A", "B"]), size=n_rows, p=[0.6, 0.4])
    age = rng.integers(18, 76, size=n_rows)
    income_k = np.clip(rng.lognormal(np.log(45.0), 0.5, n_rows), 5, 500).round(1)
    debt_ratio = np.clip(rng.beta(2.0, 5.0, n_rows) * 1.2, 0, 1.5).round(3)
    history = np.clip(age - 18 - rng.integers(0, 10, n_rows), 0, 60).astype(float)
    late = np.clip(rng.poisson(0.8, n_rows), 0, 30)
    loan_k = np.clip(rng.lognormal(np.log(15.0), 0.6, n_rows), 1, 200).round(1)
    logit = (
        0.4
        + 1.2 * np.log(income_k / 45.0)
        - 3.0 * (debt_ratio - 0.3)
        + 0.05 * (history - 10.0)
        - 0.6 * late
        - 0.5 * np.log(loan_k / 15.0)
    )
    approved = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-logit))).astype("int64")
    return pd.DataFrame(
        {
            "applicant_id": [f"APP-{i:06d}" for i in range(n_rows)],
            "group": group,
            "age": age.astype("int64"),
            "income_k": income_k,
            "debt_ratio": debt_ratio,
            "credit_history_years": history,
            "late_payments": late.astype("int64"),
            "loan_amount_k": loan_k,
            "approved": approved,
        }
    )


def _diabetes(n_rows: int) -> pd.DataFrame:
    """scikit-learn's bundled diabetes set in original units, keyed by a hash of each row."""
    from sklearn.datasets import load_diabetes

    del n_rows  # the bundled set has a fixed size (442 rows)
    frame: pd.DataFrame = load_diabetes(as_frame=True, scaled=False).frame
    frame = frame.rename(columns={"target": "progression"})
    keys = [
        hashlib.sha256(np.ascontiguousarray(row).tobytes()).hexdigest()[:16]
        for row in frame.to_numpy(dtype="float64")
    ]
    frame.insert(0, "patient_id", keys)
    result: pd.DataFrame = frame.reset_index(drop=True)
    return result


BUILTIN: dict[str, Callable[[int], pd.DataFrame]] = {"credit": _credit, "diabetes": _diabetes}


def load_source(source: str, *, root: Path, n_rows: int) -> pd.DataFrame:
    """Read the configured source: ``builtin:<name>``, or a ``.parquet`` / ``.csv`` file.

    Raises:
        PipelineError: The builtin name is unknown, or the file cannot be used (see
            :func:`read_table`); the message names ``data.source``.
    """
    if source.startswith("builtin:"):
        name = source.removeprefix("builtin:")
        if name not in BUILTIN:
            raise PipelineError(
                f"data.source '{source}' is unknown: use one of "
                + ", ".join(f"builtin:{n}" for n in BUILTIN)
                + " or a .parquet/.csv path"
            )
        return BUILTIN[name](n_rows)
    return read_table((root / source).resolve(), what="data.source")
