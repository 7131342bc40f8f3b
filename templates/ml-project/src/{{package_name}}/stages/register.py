"""Stage 7, register: a new registry version as ``challenger``; ``champion`` only if it earned it.

The model card is written beside the run's outputs, logged to the run, and linked from the version.
"""

from __future__ import annotations

__all__ = ["run"]

from typing import Any

from ..context import RunContext, read_json, require_same_snapshot, write_json
from ..errors import PipelineError
from ..modelcard import render_card


def run(ctx: RunContext) -> dict[str, Any]:
    """Register the trained model, set aliases by the evaluation, write the model card."""
    import mlflow

    trained = read_json(ctx.require("train_run", producer="train"))
    evaluation = read_json(ctx.require("evaluation", producer="evaluate"))
    snapshot = read_json(ctx.require("snapshot", producer="ingest"))
    require_same_snapshot(
        snapshot["data_hash"],
        {
            "train_run": (trained.get("data_hash"), "split"),
            "evaluation": (evaluation.get("data_hash"), "evaluate"),
        },
    )
    if evaluation["run_id"] != trained["run_id"]:
        raise PipelineError("the evaluation report is from another training run: rerun 'evaluate'")
    name = ctx.config.registry.model_name
    client = ctx.client
    # Compiled for serving (ONNX) behind the parity gate on the test split: see compiled.py.
    import pandas as pd

    from ..compiled import compile_for_serving
    from ..features import feature_matrix

    serving = compile_for_serving(
        client,
        trained["model_uri"],
        feature_matrix(pd.read_parquet(ctx.require("test_set", producer="split"))),
    )
    version = mlflow.register_model(
        trained["model_uri"],
        name,
        tags={
            "data_hash": trained["data_hash"],
            "gates": "passed" if evaluation["passed"] else "blocked",
            "serving": serving.tag,
        },
    ).version
    client.set_registered_model_alias(name, "challenger", version)
    promoted = bool(evaluation["passed"])
    if promoted:
        client.set_registered_model_alias(name, "champion", version)

    card = render_card(
        model_name=name,
        version=str(version),
        promoted=promoted,
        evaluation=evaluation,
        provenance=read_json(ctx.resolve(snapshot["provenance"])),
        run=trained,
        config=ctx.config.model_dump(by_alias=True),
    )
    card_path = ctx.path("model_card")
    card_path.write_text(card, "utf-8")
    client.log_artifact(trained["run_id"], str(card_path))
    client.set_model_version_tag(
        name, str(version), "model_card", f"runs:/{trained['run_id']}/model_card.md"
    )
    reasons = evaluation["reasons"]
    client.update_model_version(
        name,
        str(version),
        description=(
            "Promoted: every gate passed." if promoted else "Blocked: " + "; ".join(reasons)
        )[:4000],
    )
    write_json(
        ctx.path("registration"),
        {
            "model_name": name,
            "data_hash": trained["data_hash"],
            "version": str(version),
            "promoted": promoted,
            "reasons": reasons,
            "aliases": ["challenger", "champion"] if promoted else ["challenger"],
        },
    )
    return {
        "version": str(version),
        "champion": "moved" if promoted else "unchanged: " + "; ".join(reasons),
        "serving": serving.runtime,
    }
