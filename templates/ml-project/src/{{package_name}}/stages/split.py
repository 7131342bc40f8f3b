"""Stage 3, split: each row's split is a pure function of its key, so it never moves.

A row goes to test when the salted hash of its key maps below ``test_fraction``. Adding rows,
removing others or reordering the file leaves every existing row where it was; changing the salt
is the only way to reshuffle, and that is a visible config change. A contract without a key hashes
each row's values instead (``rules.Contract.row_keys``). ``split.stratify`` (classification)
trades that for exact class shares in the test split (``assign_stratified``).
"""

from __future__ import annotations

__all__ = ["assign", "assign_stratified", "run"]

from typing import Any

from mlplat_runtime.frames import read_frame, write_frame
from mlplat_runtime.splits import assign, assign_stratified

from ..context import RunContext, read_json, require_same_snapshot
from ..contract import CONTRACT, validate_frame
from ..errors import PipelineError


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
    df = validate_frame(read_frame(ctx.resolve(snapshot["path"])))
    keys = CONTRACT.row_keys(df)
    config = ctx.config.split
    if config.stratify and ctx.config.problem_type == "classification":
        labels = df[CONTRACT.target].to_numpy()
        is_test = assign_stratified(
            keys, labels, test_fraction=config.test_fraction, salt=config.salt
        )
    else:
        is_test = assign(keys, test_fraction=config.test_fraction, salt=config.salt)
    for name, mask in (("train_set", ~is_test), ("test_set", is_test)):
        rows = df.loc[mask]  # a new frame already: its attrs are its own, no second copy
        rows.attrs["data_hash"] = snapshot["data_hash"]  # travels in the Parquet metadata
        write_frame(rows, ctx.path(name))
    return {"train_rows": int((~is_test).sum()), "test_rows": int(is_test.sum())}
