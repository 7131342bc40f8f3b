"""The model card as one self-contained HTML file, from plain inputs.

The register stage calls :func:`render_model_card` with the test split's labels, predictions and
scores, the slice columns, the data's provenance record and the contract; nothing here reads a
project file or MLflow, so the card is testable on any arrays. Plots are the ones that matter for
the task: ROC and precision-recall curves, calibration and the confusion matrix for a binary
classifier; residuals against predictions and their distribution for a regressor; the watched
metric per slice of every slice column with the fairness gap (largest minus smallest over slices
of at least ``min_group_size`` rows).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from mlplat_runtime.encoding import DEFAULT_DATE_PARTS
from mlplat_runtime.slices import groups

from .html import escape, image, new_figure, page, table
from .stats import quality


def _classification_plots(y_true: np.ndarray, y_pred: np.ndarray, score: np.ndarray | None) -> str:
    parts = []
    if score is not None and len(np.unique(y_true)) == 2:
        figure = new_figure(9, 3.2)
        roc_ax, pr_ax, cal_ax = figure.subplots(1, 3)
        fpr, tpr, _ = skm.roc_curve(y_true, score)
        roc_ax.plot(fpr, tpr)
        roc_ax.plot([0, 1], [0, 1], linestyle="--", color="#999")
        roc_ax.set(title=f"ROC (AUC {skm.auc(fpr, tpr):.3f})", xlabel="false positive rate",
                   ylabel="true positive rate")  # fmt: skip
        precision, recall, _ = skm.precision_recall_curve(y_true, score)
        pr_ax.plot(recall, precision)
        pr_ax.set(title="precision-recall", xlabel="recall", ylabel="precision")
        from sklearn.calibration import calibration_curve

        observed, predicted = calibration_curve(y_true, score, n_bins=10, strategy="quantile")
        cal_ax.plot(predicted, observed, marker="o")
        cal_ax.plot([0, 1], [0, 1], linestyle="--", color="#999")
        cal_ax.set(title="calibration", xlabel="predicted probability", ylabel="observed rate")
        parts.append(image(figure, "ROC, precision-recall and calibration curves"))
    labels = np.unique(np.concatenate([y_true, y_pred]))
    matrix = skm.confusion_matrix(y_true, y_pred, labels=labels)
    figure = new_figure(3.6, 3.2)
    ax = figure.subplots()
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        colour = "white" if count > matrix.max() / 2 else "black"
        ax.text(j, i, str(count), ha="center", va="center", color=colour)
    ax.set_xticks(range(len(labels)), [str(x) for x in labels])
    ax.set_yticks(range(len(labels)), [str(x) for x in labels])
    ax.set(title="confusion matrix", xlabel="predicted", ylabel="true")
    parts.append(image(figure, "confusion matrix"))
    return "".join(parts)


def _regression_plots(y_true: np.ndarray, y_pred: np.ndarray) -> str:
    residuals = y_true - y_pred
    figure = new_figure(9, 3.2)
    scatter, hist = figure.subplots(1, 2)
    scatter.scatter(y_pred, residuals, s=8, alpha=0.6)
    scatter.axhline(0, color="#999", linestyle="--")
    scatter.set(title="residuals vs prediction", xlabel="predicted", ylabel="true - predicted")
    hist.hist(residuals, bins=30)
    hist.set(title="residual distribution", xlabel="true - predicted", ylabel="rows")
    return image(figure, "residuals")


def _slices(
    slices: Mapping[str, Sequence[Any]],
    problem_type: str,
    metric: str,
    min_group_size: int,
    arrays: tuple[np.ndarray, np.ndarray, np.ndarray | None],
) -> str:
    y_true, y_pred, score = arrays
    parts = []
    for column, raw in slices.items():
        labels = groups(pd.Series(list(raw))).to_numpy()
        rows, values = [], {}
        for group in sorted(set(labels)):
            mask = labels == group
            q = quality(
                problem_type, y_true[mask], y_pred[mask], None if score is None else score[mask]
            )
            estimate = q.get(metric)
            value = None if estimate is None or np.isnan(estimate.value) else estimate.value
            interval = "–" if estimate is None or np.isnan(estimate.low) else (
                f"[{estimate.low:.3f}, {estimate.high:.3f}]"
            )  # fmt: skip
            rows.append([group, int(mask.sum()), value, interval])
            if value is not None and mask.sum() >= min_group_size:
                values[group] = value
        gap = max(values.values()) - min(values.values()) if len(values) >= 2 else None
        figure = new_figure(6, 2.6)
        ax = figure.subplots()
        names = [r[0] for r in rows]
        ax.barh(names, [np.nan if r[2] is None else r[2] for r in rows], color="#4a78b5")
        ax.set(title=f"{metric} per slice of '{column}'", xlabel=metric)
        gap_text = "not evaluated (fewer than two groups of min_group_size rows)"
        if gap is not None:
            gap_text = f"{gap:.3f}"
        parts.append(
            f"<h3>{escape(column)}</h3><p>fairness gap ({escape(metric)}, groups of at least "
            f"{min_group_size} rows): <strong>{escape(gap_text)}</strong></p>"
            + table(["slice", "rows", metric, "interval"], rows)
            + image(figure, f"{metric} per slice of {column}")
        )
    return "".join(parts)


def _flat(data: Mapping[str, Any], prefix: str = "") -> list[list[Any]]:
    rows: list[list[Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows += _flat(value, name + ".")
        else:
            shown = (
                value if isinstance(value, str | int | float) else json.dumps(value, default=str)
            )
            rows.append([name, shown])
    return rows


def _cell(value: Any) -> Any:
    """A contract value for a table cell: tuples and lists as text, flags as yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return value


def render_model_card(
    *,
    title: str,
    problem_type: str,
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    scores: Sequence[float] | np.ndarray | None = None,
    slices: Mapping[str, Sequence[Any]] | None = None,
    provenance: Mapping[str, Any] | None = None,
    contract: Mapping[str, Any] | None = None,
    metric: str | None = None,
    min_group_size: int = 30,
    notes: str = "",
) -> str:
    """The model card as a self-contained HTML page.

    Args:
        title: Heading, e.g. ``"diabetes-model version 4"``.
        problem_type: ``"classification"`` (binary) or ``"regression"``.
        y_true: Test labels.
        y_pred: Test predictions.
        scores: Positive-class probabilities (binary classification), or ``None``.
        slices: Per slice column, its value for every test row (aligned with ``y_true``).
        provenance: The training snapshot's provenance record (source, content hash, rows...).
        contract: ``Contract.as_dict()``: its ``columns`` become a table.
        metric: The metric per slice (default ``roc_auc`` with scores, ``accuracy`` without,
            ``mae`` for regression).
        min_group_size: Slices smaller than this are shown but left out of the fairness gap.
        notes: A paragraph of the owner's text (intended use, limits), shown under the title.
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    s = None if scores is None else np.asarray(scores, dtype="float64")
    if len(t) != len(p) or (s is not None and len(s) != len(t)):
        raise ValueError("y_true, y_pred and scores must have the same length")
    regression = problem_type == "regression"
    chosen = metric or ("mae" if regression else "roc_auc" if s is not None else "accuracy")
    overall = quality(problem_type, t, p, s)
    body = [f"<h1>{escape(title)}</h1>"]
    if notes:
        body.append(f"<p>{escape(notes)}</p>")
    body.append("<h2>Quality on the test split</h2>")
    body.append(
        table(
            ["metric", "value", "interval (95%)", "rows"],
            [
                [name, e.value, "–" if np.isnan(e.low) else f"[{e.low:.3f}, {e.high:.3f}]", e.n]
                for name, e in overall.items()
            ],
        )
    )
    if regression:
        body.append(_regression_plots(t.astype("float64"), p.astype("float64")))
    else:
        body.append(_classification_plots(t, p, s))
    if slices:
        body.append("<h2>Metrics per slice and the fairness gap</h2>")
        body.append(_slices(slices, problem_type, chosen, min_group_size, (t, p, s)))
    if provenance:
        body.append("<h2>Data provenance</h2>" + table(["field", "value"], _flat(provenance)))
    if contract:
        columns = contract.get("columns", [])
        header = ["name", "dtype", "role", "minimum", "maximum", "allowed", "nullable", "unique"]
        rows = [[_cell(c.get(h)) for h in header] + [_encoding(c)] for c in columns]
        body.append("<h2>Data contract</h2>" + table([*header, "encoding"], rows))
    return page(title, "".join(body))


def _encoding(column: dict[str, Any]) -> str:
    """How the model sees a feature: as it is, one-hot (top K + other), or its date parts."""
    if column.get("role") != "feature":
        return ""
    if column.get("dtype") == "str":
        top = column.get("max_categories")
        kept = f"top {top} values" if top else "every training value"
        return f"one-hot: {kept}, other, missing"
    if column.get("dtype") == "date":
        return "date parts: " + ", ".join(column.get("date_parts") or DEFAULT_DATE_PARTS)
    return "number"


__all__ = ["render_model_card"]
