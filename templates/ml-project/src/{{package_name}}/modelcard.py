"""The model card: what a reviewer needs to decide whether to trust this model version."""

from __future__ import annotations

__all__ = ["render_card", "render_html_card"]

from typing import Any

from mlplat_runtime.card_text import MAX_ROWS, columns_section, extra_gates, table

from . import contract

_INTENDED_USE = {
    "credit": (
        "Demonstrates the pipeline on synthetic credit applications. The data is generated, so "
        "the model must not inform real lending decisions; replace `data.source` with real data "
        "and review this card again."
    ),
    "diabetes": (
        "Predicts disease progression one year after baseline from ten measurements "
        "(scikit-learn's diabetes set, 442 patients). Research and demonstration only; "
        "not for clinical use."
    ),
}


def _fairness_outcome(details: dict[str, Any]) -> list[str]:
    """Gap and result of one sensitive column; an unevaluated column says so, never "pass"."""
    if not details.get("evaluated", True):
        return ["-", "NOT EVALUATED (too few rows per group; blocks promotion)"]
    return [f"{details['gap']:.3f}", "pass" if details["passed"] else "FAIL"]


def render_card(
    *,
    model_name: str,
    version: str,
    promoted: bool,
    evaluation: dict[str, Any],
    provenance: dict[str, Any],
    run: dict[str, Any],
    config: dict[str, Any],
    serving: str = "not recorded",
) -> str:
    """Markdown for one registered version, from the artefacts of the run that produced it."""
    source = str(provenance.get("source", ""))
    use = _INTENDED_USE.get(source.removeprefix("builtin:")) or (
        f"Predicts `{contract.TARGET}` ({config['problem_type']}) from the features below, for "
        f"rows that satisfy the data contract; trained on `{source}`. Use it only for the "
        "population that source describes."
    )
    decision = "promoted to `champion`" if promoted else "kept as `challenger` (not promoted)"
    checked = "quality, baseline, champion" + (
        ", fairness"
        if evaluation["fairness"]["columns"]
        else " (no sensitive column: fairness not checked)"
    )
    reasons = "\n".join(f"- {r}" for r in evaluation["reasons"]) or f"- gates passed: {checked}"
    metric_rows = [[k, f"{v:.4f}"] for k, v in sorted(evaluation["metrics"].items())]
    slice_rows = []
    for column, by_group in evaluation["slices"].items():
        for group, values in by_group.items():
            shown = ", ".join(f"{k}={v:.3f}" for k, v in values.items() if k != "n")
            slice_rows.append([column, group, str(int(values["n"])), shown])
    fairness_rows = [
        [c, d["metric"], *_fairness_outcome(d), f"{d['max_gap']:g}"]
        for c, d in evaluation["fairness"]["columns"].items()
    ]
    packages = ", ".join(f"{k} {v}" for k, v in sorted(provenance.get("packages", {}).items()))
    code = provenance.get("code_version", {})
    sha = code.get("git_sha")
    at_ingest = f"`{code.get('version')}`" + (f" (git SHA `{sha}`)" if sha else "")
    fairness_columns = evaluation["fairness"]["columns"]
    fairness_limit = (
        "Fairness is checked for the configured sensitive columns only, as a gap in "
        + next(iter(fairness_columns.values()))["metric"]
        + "."
        if fairness_columns
        else "Fairness was not checked: no sensitive column is configured."
    )
    fairness = (
        table(fairness_rows, ["sensitive column", "metric", "gap", "result", "max gap"])
        if fairness_rows
        else "Not checked: no sensitive column is configured (`data.sensitive_columns`)."
    )
    slices = (
        table(slice_rows, ["column", "group", "rows", "metrics"])
        if slice_rows
        else "No slice columns configured (`data.slice_columns`)."
    )
    split = f"hash of `{contract.KEY}`" if contract.KEY else "hash of each row's content (no key)"
    features = ", ".join(contract.FEATURES[:MAX_ROWS]) + (
        f", ... ({len(contract.FEATURES)} in all)" if len(contract.FEATURES) > MAX_ROWS else ""
    )
    return f"""# Model card: {model_name} version {version}

Decision: {decision}.

{reasons}

## Intended use

{use}

## Data provenance

- source: `{source}`
- snapshot content hash: `{provenance.get("content_hash")}`
- rows: {provenance.get("rows")}, snapshot created {provenance.get("created_at")}
- code version at ingest: {at_ingest}; at training: `{run.get("code_version", "unknown")}`
- packages at ingest: {packages or "not recorded"}
- MLflow run: `{run["run_id"]}`, model `{run["model_uri"]}`
- features ({len(contract.FEATURES)}): {features}; target: {contract.TARGET}

{columns_section(provenance.get("columns", {}))}

## Training

- problem type: {config["problem_type"]}, estimator: {config["train"]["estimator"]}, \
seed: {config["seed"]}, params: {config["train"]["params"]}
- split: {split}, test fraction {config["split"]["test_fraction"]}
- serving: {serving}

## Metrics (test split, {evaluation["rows"]} rows)

{table(metric_rows, ["metric", "value"])}

{extra_gates(evaluation)}

## Slices

{slices}

## Fairness

{fairness}

## Champion comparison

{evaluation["champion"]["reason"]}

## Limits

- Valid only for inputs inside the data contract (`contract.py`); serving rejects the rest.
- Metrics come from one hash-based test split; small slices carry wide uncertainty.
- {fairness_limit}
"""


def render_html_card(
    *,
    model_name: str,
    version: str,
    promoted: bool,
    evaluation: dict[str, Any],
    provenance: dict[str, Any],
    test: Any,
    y_pred: Any,
    y_score: Any,
    config: dict[str, Any],
    test_rows: int | None = None,
) -> str:
    """The same version's card as one self-contained HTML page (plots embedded, no script).

    Drawn by the runtime (``mlplat_runtime.evaluation.render_model_card``) from the test split:
    ROC, precision-recall and calibration or residuals, the confusion matrix, the metric per
    slice with the fairness gap, the provenance (with the production window a retrained model
    learned from) and the contract. The markdown card stays the one to diff. ``test_rows``: the
    size of the whole test split when ``test`` is a sample of it (said under the title).
    """
    from mlplat_runtime.evaluation import render_model_card

    columns = dict.fromkeys(
        [*config["data"]["slice_columns"], *config["data"]["sensitive_columns"]]
    )
    decision = "promoted to champion" if promoted else "kept as challenger (not promoted)"
    reasons = "; ".join(evaluation["reasons"]) or "every gate passed"
    return render_model_card(
        title=f"{model_name} version {version}",
        problem_type=config["problem_type"],
        y_true=test[contract.TARGET].to_numpy(),
        y_pred=y_pred,
        scores=y_score,
        slices={c: test[c].to_numpy() for c in columns if c in test.columns},
        provenance=provenance,
        contract=contract.as_dict(),
        min_group_size=int(config["evaluate"]["fairness"]["min_group_size"]),
        notes=f"Decision: {decision} ({reasons}).{_sampled(len(test), test_rows)}",
    )


def _sampled(rows: int, of: int | None) -> str:
    if of is None or of <= rows:
        return ""
    return (
        f" Drawn from a seeded sample of {rows:,} of the {of:,} test rows; the gates and the "
        "markdown card use every row."
    )
