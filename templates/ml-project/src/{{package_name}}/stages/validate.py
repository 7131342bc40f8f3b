"""Stage 2, validate: the data contract and the distribution check, or the run stops.

On the first run there is no reference profile yet: the stage saves one from this snapshot
(``validate.reference_profile``, meant to be committed) and says so. Later snapshots are compared
with it.
"""

from __future__ import annotations

__all__ = ["run"]

from typing import Any

import pandas as pd

from ..context import RunContext, read_json, write_json
from ..contract import FEATURES, validate_frame
from ..errors import ContractViolation, PipelineError
from ..profile import build_profile, drift_violations


def run(ctx: RunContext) -> dict[str, Any]:
    """Validate the snapshot; write a report either way, raise on any violation."""
    snapshot = read_json(ctx.require("snapshot", producer="ingest"))
    df = pd.read_parquet(snapshot["path"])
    report: dict[str, Any] = {"data_hash": snapshot["data_hash"], "rows": len(df)}
    try:
        validated = validate_frame(df)
    except ContractViolation as error:
        _fail(ctx, report, error)
    reference_path = ctx.root / ctx.config.validate_.reference_profile
    if reference_path.exists():
        reference = read_json(reference_path)
        if set(reference) != set(FEATURES):
            raise PipelineError(
                f"reference profile {reference_path} describes other features than the "
                "contract: delete it to save a new one from this snapshot"
            )
        drift = drift_violations(validated, reference, max_psi=ctx.config.validate_.max_psi)
        if drift:
            _fail(ctx, report, ContractViolation(drift, where="snapshot distribution"))
        report["reference_profile"] = "compared"
    else:
        write_json(reference_path, build_profile(validated, FEATURES))
        report["reference_profile"] = f"created {reference_path} (commit it)"
    report["passed"] = True
    write_json(ctx.path("validation_report"), report)
    return {"rows": len(df), "reference": report["reference_profile"]}


def _fail(ctx: RunContext, report: dict[str, Any], error: ContractViolation) -> None:
    report["passed"] = False
    report["violations"] = [
        {"column": v.column, "rule": v.rule, "rows": v.rows} for v in error.violations
    ]
    write_json(ctx.path("validation_report"), report)
    raise error
