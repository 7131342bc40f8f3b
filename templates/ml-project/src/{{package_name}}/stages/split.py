"""Stage 3, split: each row's split is a pure function of its key, so it never moves.

The row goes to test when ``sha256(salt + key)`` maps below ``test_fraction``. Adding rows, removing
others or reordering the file leaves every existing row where it was; changing the salt is the only
way to reshuffle, and that is a visible config change. A contract without a key hashes each
row's values instead (``rules.Contract.row_keys``).
"""

from __future__ import annotations

__all__ = ["assign", "run"]

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..context import RunContext, read_json, require_same_snapshot
from ..contract import CONTRACT, validate_frame
from ..errors import PipelineError


def assign(keys: Iterable[object], *, test_fraction: float, salt: str) -> np.ndarray:
    """Boolean mask: ``True`` where the key belongs to the test split."""
    buckets = [
        int.from_bytes(hashlib.sha256(f"{salt}:{key}".encode()).digest()[:8], "big") / 2**64
        for key in keys
    ]
    return np.asarray(buckets) < test_fraction


def run(ctx: RunContext) -> dict[str, Any]:
    """Split the validated snapshot into ``train_set`` and ``test_set``."""
    report = read_json(ctx.require("validation_report"))
    snapshot = read_json(ctx.require("snapshot"))
    require_same_snapshot(snapshot["data_hash"], {"validation_report": report.get("data_hash")})
    if not report.get("passed"):
        raise PipelineError(
            "the snapshot failed validation: fix the data, then rerun with --resume "
            "(make pipeline RESUME=1)"
        )
    df = validate_frame(pd.read_parquet(ctx.resolve(snapshot["path"])))
    is_test = assign(
        CONTRACT.row_keys(df),
        test_fraction=ctx.config.split.test_fraction,
        salt=ctx.config.split.salt,
    )
    for name, rows in (("train_set", df.loc[~is_test]), ("test_set", df.loc[is_test])):
        rows = rows.copy()
        rows.attrs["data_hash"] = snapshot["data_hash"]  # travels in the Parquet metadata
        rows.to_parquet(ctx.path(name), index=False)
    return {"train_rows": int((~is_test).sum()), "test_rows": int(is_test.sum())}
