"""Stage 7, register: a registry version as ``challenger``; ``champion`` only if it earned it.

A run that already has a version (``train`` reused it: same snapshot, code and config) gets no
new one: the aliases move by this evaluation and the summary says "unchanged" when nothing moved.
The model card is written beside the run's outputs, logged to the run, and linked from the version;
``model_card.html`` (self-contained, plots embedded) is written and logged beside it.

The parity gate compares the compiled model with scikit-learn on the test split, or on a seeded
sample of ``SAMPLE_ROWS`` of its rows when it is larger (the serving line of the card says how
many rows were compared), and the HTML card's plots and bootstrap intervals are drawn from the
same sample (said under its title): agreement and intervals on 20,000 rows are as telling as on
a million, at a fraction of the time. ``evaluate``'s gates and the markdown card use every row.
"""

from __future__ import annotations

__all__ = ["SAMPLE_ROWS", "run"]

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..context import RunContext, read_json, require_same_snapshot, write_json
from ..errors import PipelineError
from ..modelcard import render_card, render_html_card

if TYPE_CHECKING:
    import pandas as pd
    from mlplat_runtime.compiled import ServingArtifact

SAMPLE_ROWS = 20_000  # the most test rows parity and the HTML card use (a seeded sample beyond)


def _version_of_run(ctx: RunContext, name: str, run_id: str) -> str | None:
    """The registry version already made from ``run_id``, if any (the newest)."""
    from mlflow.exceptions import MlflowException

    try:
        versions = ctx.client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return None
    found = [int(v.version) for v in versions if v.run_id == run_id]
    return str(max(found)) if found else None


def _champion(ctx: RunContext, name: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(ctx.client.get_model_version_by_alias(name, "champion").version)
    except MlflowException:
        return None


def _new_version(ctx: RunContext, name: str, trained: dict[str, Any], tags: dict[str, str]) -> str:
    """Register the run's model (the client API: ``mlflow.register_model`` prints to stderr)."""
    from mlflow.exceptions import MlflowException

    client = ctx.client
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name)
    uri = str(trained["model_uri"])
    model_id = uri.removeprefix("models:/") if uri.startswith("models:/m-") else None
    version = client.create_model_version(
        name, source=uri, run_id=trained["run_id"], tags=tags, model_id=model_id
    )
    return str(version.version)


def _test_sample(ctx: RunContext) -> tuple[pd.DataFrame, int]:
    """The test split, or a seeded sample of ``SAMPLE_ROWS`` of its rows; and its full size."""
    import numpy as np
    from mlplat_runtime.frames import read_frame

    test = read_frame(ctx.require("test_set"))
    rows = len(test)
    if rows > SAMPLE_ROWS:
        picked = np.random.default_rng(ctx.config.seed).choice(rows, SAMPLE_ROWS, replace=False)
        test = test.iloc[np.sort(picked)]
    return test, rows


def _compile(ctx: RunContext, trained: dict[str, Any], test: pd.DataFrame) -> ServingArtifact:
    from mlplat_runtime.compiled import compile_for_serving

    # The frame, not a matrix: the model's own SelectFeatures encodes text and date features.
    return compile_for_serving(ctx.client, str(trained["model_uri"]), test)


def _serving_runtime(ctx: RunContext, name: str, version: str) -> tuple[str, str]:
    """``onnx`` or ``sklearn`` and the card's line, as recorded when the version was registered."""
    tag = str(ctx.client.get_model_version(name, version).tags.get("serving", ""))
    return tag.split(" ", 1)[0] or "unknown", tag or "not recorded"


def run(ctx: RunContext) -> dict[str, Any]:
    """Register the trained model (once per run), set aliases by the evaluation, write the card."""
    trained = read_json(ctx.require("train_run"))
    evaluation = read_json(ctx.require("evaluation"))
    snapshot = read_json(ctx.require("snapshot"))
    require_same_snapshot(
        snapshot["data_hash"],
        {
            "train_run": trained.get("data_hash"),
            "evaluation": evaluation.get("data_hash"),
        },
    )
    if evaluation["run_id"] != trained["run_id"]:
        raise PipelineError("the evaluation report is from another training run: rerun 'evaluate'")
    import mlflow

    from .train import predict

    name = ctx.config.registry.model_name
    client = ctx.client
    test, test_rows = _test_sample(ctx)  # read once: the parity gate and the HTML card
    promoted = bool(evaluation["passed"])
    gates = "passed" if promoted else "blocked"
    champion_before = _champion(ctx, name)
    version = _version_of_run(ctx, name, trained["run_id"])
    new = version is None
    if version is None:
        # Compiled for serving (ONNX) behind the parity gate on the test split: see compiled.py.
        # A run that already has a version was compiled when that version was registered.
        serving = _compile(ctx, trained, test)
        # 1 when the reference (scikit-learn) model serves because the compiled one failed
        # the parity gate: a metric to alert on, not a failed run.
        client.log_metric(
            trained["run_id"], "serving_parity_fallback", float(serving.fallback == "parity")
        )
        tags = {"data_hash": trained["data_hash"], "gates": gates, "serving": serving.tag}
        if trained.get("fingerprint"):
            tags["fingerprint"] = str(trained["fingerprint"])
        version = _new_version(ctx, name, trained, tags)
        runtime = serving.runtime
        serving_line = serving.card_line
    else:
        client.set_model_version_tag(name, version, "gates", gates)
        runtime, serving_line = _serving_runtime(ctx, name, version)
    client.set_registered_model_alias(name, "challenger", version)
    if promoted:
        client.set_registered_model_alias(name, "champion", version)

    card = render_card(
        model_name=name,
        version=version,
        promoted=promoted,
        evaluation=evaluation,
        provenance=read_json(ctx.resolve(snapshot["provenance"])),
        run=trained,
        config=ctx.config.model_dump(by_alias=True),
        serving=serving_line,
    )
    card_path = ctx.path("model_card")
    card_path.write_text(card, "utf-8")
    client.log_artifact(trained["run_id"], str(card_path))
    model = mlflow.sklearn.load_model(trained["model_uri"])
    y_pred, y_score = predict(ctx.config, model, test)
    html_path = _html_card(
        ctx, name, version, promoted, evaluation, snapshot, (test, y_pred, y_score, test_rows)
    )
    client.log_artifact(trained["run_id"], str(html_path))
    client.set_model_version_tag(
        name, version, "model_card", f"runs:/{trained['run_id']}/model_card.md"
    )
    reasons = evaluation["reasons"]
    client.update_model_version(
        name,
        version,
        description=(
            "Promoted: every gate passed." if promoted else "Blocked: " + "; ".join(reasons)
        )[:4000],
    )
    write_json(
        ctx.path("registration"),
        {
            "model_name": name,
            "data_hash": trained["data_hash"],
            "version": version,
            "new_version": new,
            "promoted": promoted,
            "reasons": reasons,
            "aliases": ["challenger", "champion"] if promoted else ["challenger"],
        },
    )
    return {
        "version": version,
        "champion": _outcome(new, version, champion_before, promoted, reasons),
        "serving": runtime,
    }


def _html_card(
    ctx: RunContext,
    name: str,
    version: str,
    promoted: bool,
    evaluation: dict[str, Any],
    snapshot: dict[str, Any],
    scored: tuple[pd.DataFrame, Any, Any, int],
) -> Path:
    """Write ``model_card.html`` beside the markdown card (the test split's plots in it).

    The HTML card's scores are a binary model's positive-class probabilities; a multiclass
    model's probability table is left out (the card then reports accuracy, per class in slices).
    """
    import numpy as np

    test, y_pred, y_score, test_rows = scored
    y_score = y_score if np.ndim(y_score) == 1 else None
    path = ctx.path("model_card").with_name("model_card.html")
    html = render_html_card(
        model_name=name,
        version=version,
        promoted=promoted,
        evaluation=evaluation,
        provenance=read_json(ctx.resolve(snapshot["provenance"])),
        test=test,
        y_pred=y_pred,
        y_score=y_score,
        config=ctx.config.model_dump(by_alias=True),
        test_rows=test_rows,
    )
    path.write_text(html, "utf-8")
    return path


def _outcome(
    new: bool, version: str, before: str | None, promoted: bool, reasons: list[str]
) -> str:
    """The summary's last word: did the champion move, and why (not)."""
    blocked = "; ".join(reasons)
    if new:
        held = f"v{before}" if before else "none"
        return f"moved to v{version}" if promoted else f"unchanged ({held}): {blocked}"
    if promoted and before == version:
        return f"unchanged: champion v{version} already trained on this snapshot"
    if promoted:
        return f"moved to v{version} (already registered, trained on this snapshot)"
    return f"unchanged: v{version} already trained on this snapshot, still blocked: {blocked}"
