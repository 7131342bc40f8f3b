"""Stage 2, validate: the data contract and the distribution check, or the run stops.

Every snapshot is compared with the committed reference profile (``validate.reference_profile``;
the template ships one for its sample data, ``make contract`` writes one for yours). A missing
reference is a failure, never silently replaced by the profile of the data under test (which
would always pass); ``--save-reference`` saves this snapshot's profile as the new reference,
deliberately. A snapshot that passes loses its ``UNVALIDATED`` marker (see ``ingest``).
"""

from __future__ import annotations

__all__ = ["run"]

from typing import Any

from mlplat_runtime.frames import read_frame
from mlplat_runtime.profile import build_profile, drift_violations

from ..context import RunContext, read_json, write_json
from ..contract import CONTRACT, validate_frame
from ..errors import DRIFT_HINT, ContractViolation, PipelineError
from .ingest import UNVALIDATED


def run(ctx: RunContext) -> dict[str, Any]:
    """Validate the snapshot; write a report either way, raise on any violation."""
    snapshot = read_json(ctx.require("snapshot"))
    df = read_frame(ctx.resolve(snapshot["path"]))
    report: dict[str, Any] = {"data_hash": snapshot["data_hash"], "rows": len(df)}
    try:
        validated = validate_frame(df)
    except ContractViolation as error:
        _fail(ctx, report, error)
    reference_path = ctx.root / ctx.config.validate_.reference_profile
    if ctx.save_reference:
        write_json(reference_path, build_profile(validated, CONTRACT.numeric_features))
        report["reference_profile"] = f"saved {ctx.relative(reference_path)} (commit it)"
    elif not reference_path.exists():
        raise PipelineError(
            f"reference profile {ctx.relative(reference_path)} is missing, so the snapshot's "
            "distribution cannot be checked: restore it from git, or save this snapshot as the "
            "reference with --save-reference (make pipeline SAVE_REFERENCE=1) and commit it"
        )
    else:
        reference = read_json(reference_path)
        if set(reference) != set(CONTRACT.numeric_features):
            raise PipelineError(
                f"reference profile {ctx.relative(reference_path)} describes other features than "
                "the contract: save a new one with --save-reference (make pipeline "
                "SAVE_REFERENCE=1) and commit it"
            )
        drift = drift_violations(validated, reference, max_psi=ctx.config.validate_.max_psi)
        if drift:
            _fail(
                ctx,
                report,
                ContractViolation(drift, where="snapshot distribution", hint=DRIFT_HINT),
            )
        report["reference_profile"] = "compared"
    report["passed"] = True
    write_json(ctx.path("validation_report"), report)
    ctx.resolve(snapshot["path"]).with_name(UNVALIDATED).unlink(missing_ok=True)
    return {"rows": len(df), "reference": report["reference_profile"]}


def _fail(ctx: RunContext, report: dict[str, Any], error: ContractViolation) -> None:
    report["passed"] = False
    report["violations"] = [
        {"column": v.column, "rule": v.rule, "rows": v.rows} for v in error.violations
    ]
    write_json(ctx.path("validation_report"), report)
    raise error
