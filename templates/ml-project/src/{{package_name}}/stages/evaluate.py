"""Stage 6, evaluate: metrics overall and per slice, the fairness gate, the champion comparison.

Every gate that fails adds a reason to the report; ``register`` promotes only a model whose report
passed. The current champion is scored on this same test split, so the comparison is like for like.

A snapshot made of labelled production rows (``make monitor RETRAIN=1``) names its most recent
labelled window in its provenance; challenger and champion are then also compared on that
window's rows of the test split (rows the challenger never trained on), by the same
``max_drop_vs_champion``: a retrained model must not be worse where the old one decayed.

Metrics and gates use every test row. The regression plots draw one point per row, so a test
split larger than ``PLOT_ROWS`` is drawn from a seeded sample of that many rows (the report's
``plot_rows`` says how many): a million points take seconds to draw and look the same.
"""

from __future__ import annotations

__all__ = ["PLOT_ROWS", "compare_with_champion", "gates", "run"]

import time
from typing import Any

import numpy as np
import pandas as pd
from mlplat_runtime.frames import read_frame

from .. import baseline, contract
from ..config import ProjectConfig
from ..context import RunContext, read_json, require_same_snapshot, write_json
from ..metrics import HIGHER_IS_BETTER, fairness_gate, per_slice, score
from ..plots import render
from .train import predict

PLOT_ROWS = 20_000  # the most test rows a regression plot draws (a seeded sample beyond)


def gates(
    config: ProjectConfig,
    frame: pd.DataFrame,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    champion_primary: float | None,
    champion_note: str | None = None,
) -> dict[str, Any]:
    """Score predictions on ``frame`` and apply every promotion gate; pure, no I/O.

    ``champion_note`` says why an existing champion could not be compared; that blocks promotion
    unless ``evaluate.allow_incomparable_champion`` is set, so replacing a champion nobody could
    compare stays a deliberate decision.
    """
    evaluate = config.evaluate
    y_true = frame[contract.TARGET].to_numpy()
    overall = score(config.problem_type, y_true, y_pred, y_score)
    columns = tuple(dict.fromkeys(config.data.slice_columns + config.data.sensitive_columns))
    slices = per_slice(frame, columns, config.problem_type, y_true, y_pred, y_score)
    fairness = fairness_gate(
        slices,
        overall,
        columns=config.data.sensitive_columns,
        metric=evaluate.fairness.metric,
        max_gap=evaluate.fairness.max_gap,
        min_group_size=evaluate.fairness.min_group_size,
    )
    reasons = list(fairness["reasons"])
    name, value = evaluate.primary_metric, overall[evaluate.primary_metric]
    if evaluate.min_primary is not None and value < evaluate.min_primary:
        reasons.append(f"quality: {name} {value:.4f} is below min_primary {evaluate.min_primary:g}")
    if evaluate.max_primary is not None and value > evaluate.max_primary:
        reasons.append(f"quality: {name} {value:.4f} is above max_primary {evaluate.max_primary:g}")
    if champion_note is None:
        champion = compare_with_champion(
            name, value, champion_primary, evaluate.max_drop_vs_champion
        )
    else:
        champion = _incomparable(champion_note, allowed=evaluate.allow_incomparable_champion)
    if not champion["passed"]:
        reasons.append(champion["reason"])
    return {
        "passed": not reasons,
        "reasons": reasons,
        "metrics": overall,
        "slices": slices,
        "fairness": fairness,
        "champion": champion,
    }


def compare_with_champion(
    metric: str, value: float, champion: float | None, max_drop: float
) -> dict[str, Any]:
    """Whether ``value`` is no worse than the champion's ``metric`` beyond ``max_drop``."""
    if champion is None:
        return {"passed": True, "champion": None, "reason": "no champion yet"}
    drop = champion - value if metric in HIGHER_IS_BETTER else value - champion
    passed = drop <= max_drop
    return {
        "passed": passed,
        "champion": champion,
        "challenger": value,
        "reason": (
            f"champion: {metric} {value:.4f} vs champion {champion:.4f} "
            f"({'within' if passed else 'worse than'} max_drop_vs_champion {max_drop:g})"
        ),
    }


def _incomparable(note: str, *, allowed: bool) -> dict[str, Any]:
    if allowed:
        reason = f"champion: {note}; allowed by evaluate.allow_incomparable_champion"
    else:
        reason = (
            f"champion: {note}; promotion blocked: set evaluate.allow_incomparable_champion = "
            "true to replace it anyway"
        )
    return {"passed": allowed, "champion": None, "reason": reason}


def _champion_primary(
    ctx: RunContext, frame: pd.DataFrame
) -> tuple[float | None, str | None, str | None]:
    """The champion's primary metric on ``frame``, its version, and why it is missing if so.

    A champion that cannot score this data (for example after a contract change renamed a
    feature) is reported, not compared: moving ``champion`` then stays a deliberate decision.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    name = ctx.config.registry.model_name
    try:
        version = str(ctx.client.get_model_version_by_alias(name, "champion").version)
    except MlflowException:
        return None, None, None
    try:
        model = mlflow.sklearn.load_model(f"models:/{name}@champion")
        y_pred, y_score = predict(ctx.config, model, frame)
    except (MlflowException, ValueError, KeyError, AttributeError) as error:
        note = f"champion version {version} cannot score this test split ({error}): not compared"
        return None, version, note
    metrics = score(ctx.config.problem_type, frame[contract.TARGET].to_numpy(), y_pred, y_score)
    return metrics[ctx.config.evaluate.primary_metric], version, None


def _recent_window(
    ctx: RunContext, snapshot: dict[str, Any], test: pd.DataFrame, model: Any
) -> dict[str, Any] | None:
    """Challenger vs champion on the production window's recent rows that are in ``test``."""
    provenance = read_json(ctx.resolve(snapshot["provenance"]))
    window = provenance.get("production_window")
    if not window or contract.KEY is None:
        return None
    recent = pd.read_parquet(ctx.resolve(window["recent"]["path"]))
    keys = set(test[contract.KEY].astype(str))
    rows = recent[recent[contract.KEY].astype(str).isin(keys)].reset_index(drop=True)
    span = {"from": window["recent"]["from"], "to": window["recent"]["to"], "rows": len(rows)}
    metric = ctx.config.evaluate.primary_metric
    y_pred, y_score = predict(ctx.config, model, rows) if len(rows) else (None, None)
    challenger = (
        score(ctx.config.problem_type, rows[contract.TARGET].to_numpy(), y_pred, y_score).get(
            metric
        )
        if y_pred is not None
        else None
    )
    if challenger is None:
        reason = f"recent window: {metric} cannot be measured on its {len(rows)} test rows"
        return {**span, "passed": True, "reason": reason}
    champion, version, note = _champion_primary(ctx, rows)
    if note is not None:
        champion = None
    compared = compare_with_champion(
        metric, challenger, champion, ctx.config.evaluate.max_drop_vs_champion
    )
    compared.update(span, challenger=challenger, champion_version=version)
    compared["reason"] = "recent window: " + compared["reason"]
    return compared


def run(ctx: RunContext) -> dict[str, Any]:
    """Evaluate the trained model on ``test_set``; write ``evaluation`` and log it to the run."""
    import mlflow
    from mlflow.entities import Metric

    client = ctx.client  # first: it also points MLflow's global API at this project's store
    snapshot = read_json(ctx.require("snapshot"))
    trained = read_json(ctx.require("train_run"))
    test = read_frame(ctx.require("test_set"))
    require_same_snapshot(
        snapshot["data_hash"],
        {
            "test_set": test.attrs.get("data_hash"),
            "train_run": trained.get("data_hash"),
        },
    )
    model = mlflow.sklearn.load_model(trained["model_uri"])
    y_pred, y_score = predict(ctx.config, model, test)
    champion, champion_version, note = _champion_primary(ctx, test)
    report = gates(ctx.config, test, y_pred, y_score, champion, champion_note=note)
    report["champion"]["version"] = champion_version
    report.update(run_id=trained["run_id"], data_hash=trained["data_hash"], rows=len(test))
    baseline.apply(ctx.config, report, trained, test[contract.TARGET].to_numpy())
    recent = _recent_window(ctx, snapshot, test, model)
    if recent is not None:
        report["recent_window"] = recent
        if not recent["passed"]:
            report["reasons"].append(recent["reason"])
            report["passed"] = False

    out = ctx.path("evaluation").parent
    y_true, drawn = test[contract.TARGET].to_numpy(), np.arange(len(test))
    if ctx.config.problem_type == "regression" and len(test) > PLOT_ROWS:
        drawn = np.sort(np.random.default_rng(ctx.config.seed).choice(len(test), PLOT_ROWS, False))
    plots = render(
        out / "plots",
        ctx.config.problem_type,
        y_true[drawn],
        np.asarray(y_pred)[drawn],
        y_score,
        report["slices"],
    )
    report["plots"] = [str(p.relative_to(out)) for p in plots]
    report["plot_rows"] = len(drawn)
    write_json(ctx.path("evaluation"), report)

    stamp = int(time.time() * 1000)
    metrics = [Metric(f"test_{k}", v, stamp, 0) for k, v in report["metrics"].items()]
    for column, details in report["fairness"]["columns"].items():
        if details["evaluated"]:
            metrics.append(Metric(f"fairness_gap_{column}", details["gap"], stamp, 0))
    client.log_batch(trained["run_id"], metrics=metrics)
    client.log_artifacts(trained["run_id"], str(out), "evaluation")
    client.set_tag(trained["run_id"], "gates", "passed" if report["passed"] else "blocked")
    primary = ctx.config.evaluate.primary_metric
    if recent is not None and recent.get("champion") is not None:
        client.log_metric(trained["run_id"], f"recent_{primary}", recent["challenger"])
    return {
        primary: round(report["metrics"][primary], 4),
        "gates": "passed" if report["passed"] else "blocked: " + "; ".join(report["reasons"]),
    }
