"""Scoring shared by training, evaluation and the gates.

Metrics of every problem type, the trivial baseline a model must beat, and the check of an
estimator's parameters.

Why in the runtime: every project scores the same way (binary, multiclass with per-class
precision, recall and PR AUC, regression) and gates against the same baseline; the project
keeps its thresholds in its config and its estimator choices in ``estimators.py``.
"""

from __future__ import annotations

__all__ = [
    "HIGHER_IS_BETTER",
    "add_baseline_gate",
    "baseline_gate",
    "baseline_reference",
    "baseline_scores",
    "check_params",
    "score",
]

import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

HIGHER_IS_BETTER = frozenset(
    {"roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "f1", "r2", "recall", "precision"}
)


def _safe(name: object) -> str:
    """A class label as MLflow accepts it inside a metric name."""
    return re.sub(r"[^\w.\- /]", "_", str(name))


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """ROC AUC and PR AUC (average precision) of one class against the rest, when defined."""
    if positive.all() or not positive.any():
        return {}
    return {
        "roc_auc": float(skm.roc_auc_score(positive, score)),
        "pr_auc": float(skm.average_precision_score(positive, score)),
    }


def _multiclass(y_true: np.ndarray, y_pred: np.ndarray, proba: Any) -> dict[str, float]:
    """Macro averages over the classes, and precision, recall and PR AUC for each class.

    ``proba`` is a DataFrame of class probabilities whose columns are the class labels. ROC and
    PR AUC are one class against the rest, averaged over the classes present in ``y_true``.
    """
    labels = list(proba.columns) if proba is not None else sorted(set(y_true) | set(y_pred))
    result = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, y_pred))
        if len(y_true)
        else float("nan"),
    }
    for name in ("precision", "recall", "f1"):
        function = getattr(skm, f"{name}_score")
        result[name] = float(
            function(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        )
    aucs: dict[str, list[float]] = {"roc_auc": [], "pr_auc": []}
    for label in labels:
        positive = y_true == label
        predicted = y_pred == label
        tag = _safe(label)
        result[f"precision.{tag}"] = float(
            skm.precision_score(positive, predicted, zero_division=0)
        )
        result[f"recall.{tag}"] = float(skm.recall_score(positive, predicted, zero_division=0))
        if proba is not None:
            for name, value in _binary_auc(positive, proba[label].to_numpy()).items():
                result[f"{name}.{tag}"] = value
                aucs[name].append(value)
    for name, values in aucs.items():
        if values:
            result[name] = float(np.mean(values))
    return result


def score(
    problem_type: str, y_true: np.ndarray, y_pred: np.ndarray, y_score: Any = None
) -> dict[str, float]:
    """The standard metrics of ``problem_type`` for one set of predictions.

    Binary classification (0/1): ``y_score`` is the probability of class 1, a 1-d array.
    Multiclass: ``y_score`` is a DataFrame of probabilities, one column per class label
    (``stages.train.predict`` gives one); the result adds per-class metrics named
    ``precision.<class>``, ``recall.<class>``, ``pr_auc.<class>``.
    """
    if problem_type == "regression":
        return {
            "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
            "mae": float(skm.mean_absolute_error(y_true, y_pred)),
            "r2": float(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
        }
    if isinstance(y_score, pd.DataFrame) or not set(np.unique(y_true)) <= {0, 1}:
        return _multiclass(y_true, y_pred, y_score)
    result = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, y_pred))
        if len(np.unique(y_true)) == 2
        else float(skm.accuracy_score(y_true, y_pred)),
        "precision": float(skm.precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(skm.recall_score(y_true, y_pred, zero_division=0)),
        "f1": float(skm.f1_score(y_true, y_pred, zero_division=0)),
        "selection_rate": float(np.mean(y_pred)),
    }
    if y_score is not None:
        result.update(_binary_auc(np.asarray(y_true) == 1, np.asarray(y_score)))
    return result


def baseline_reference(problem_type: str, y_train: np.ndarray) -> dict[str, Any]:
    """What the baseline learns from the training split: class shares, or the mean.

    A project's train stage records it with the run, so evaluation needs no training rows.
    """
    if problem_type == "regression":
        return {"mean": float(np.mean(y_train))}
    labels, counts = np.unique(y_train, return_counts=True)
    return {
        "classes": [v.item() if hasattr(v, "item") else v for v in labels],
        "shares": [float(c) / len(y_train) for c in counts],
    }


def baseline_scores(
    problem_type: str, fitted: dict[str, Any], y_true: np.ndarray
) -> dict[str, float]:
    """Metrics on ``y_true`` of ``DummyClassifier(strategy="prior")`` / ``DummyRegressor()``.

    The dummy's predictions are computed from ``fitted`` (see :func:`reference`) exactly as
    scikit-learn's would be: the most frequent class and the training shares as probabilities,
    or the training mean.
    """
    n = len(y_true)
    if problem_type == "regression":
        return score("regression", y_true, np.full(n, fitted["mean"]))
    classes, shares = list(fitted["classes"]), np.asarray(fitted["shares"])
    y_pred = np.asarray([classes[int(np.argmax(shares))]] * n, dtype=np.asarray(classes).dtype)
    proba = np.tile(shares, (n, 1))
    if len(classes) == 2 and set(classes) == {0, 1}:
        return score("classification", y_true, y_pred, proba[:, 1])
    return score("classification", y_true, y_pred, pd.DataFrame(proba, columns=classes))


def baseline_gate(
    *,
    problem_type: str,
    metric: str,
    margin: float,
    metrics: dict[str, float],
    baseline: dict[str, float],
) -> dict[str, Any]:
    """Whether the model's ``metric`` beats the baseline's by ``margin``.

    ``margin`` is absolute for metrics that grow with quality, relative for errors (RMSE, MAE:
    the model's error must be at least that fraction below the baseline's).

    Returns:
        ``{"passed", "metric", "model", "baseline", "gain", "min_gain", "reason"}``; a metric
        the baseline cannot have (say, ROC AUC on a test split with one class) passes and says so.
    """
    name = metric
    model, base = metrics.get(name), baseline.get(name)
    report: dict[str, Any] = {"metric": name, "model": model, "baseline": base, "min_gain": margin}
    if model is None or base is None or np.isnan(model) or np.isnan(base):
        return {
            **report,
            "passed": True,
            "gain": None,
            "reason": f"{name} is not defined on this test split for the model or the "
            "baseline: not compared",
        }
    if name in HIGHER_IS_BETTER:
        gain, shown = model - base, f"{model - base:+.4f}"
    else:
        gain = (base - model) / max(abs(base), 1e-12)
        shown = f"{gain:+.1%} lower error"
    passed = gain >= margin
    verdict = "beats" if passed else "does not beat"
    what = "prior class shares" if problem_type == "classification" else "training mean"
    return {
        **report,
        "passed": passed,
        "gain": gain,
        "reason": f"{name} {model:.4f} {verdict} the baseline ({what}) {base:.4f} by "
        f"min_gain_vs_baseline {margin:g} ({shown})",
    }


def add_baseline_gate(
    report: dict[str, Any],
    trained: dict[str, Any],
    y_true: np.ndarray,
    *,
    problem_type: str,
    metric: str,
    margin: float,
    objective: str,
) -> None:
    """Add the baseline gate and the tuned threshold (if any) to an evaluation ``report``.

    ``trained`` is the training run's record: ``baseline`` is what :func:`baseline_reference`
    learnt from the training split, ``threshold`` the decision threshold tuned for
    ``objective`` or ``None``. A failed gate adds its reason and blocks promotion; a record
    without a baseline (an older run) is reported, not gated.
    """
    fitted = trained.get("baseline")
    if fitted is None:
        report["baseline"] = {
            "passed": True,
            "reason": "not compared: this run records no baseline (rerun the train stage)",
        }
    else:
        scores = baseline_scores(problem_type, fitted, y_true)
        gate = baseline_gate(
            problem_type=problem_type,
            metric=metric,
            margin=margin,
            metrics=report["metrics"],
            baseline=scores,
        )
        report["baseline"] = {**gate, "metrics": scores}
        if not gate["passed"]:
            report["passed"] = False
            report["reasons"].append(f"baseline: {gate['reason']}")
    threshold = trained.get("threshold")
    report["threshold"] = (
        None if threshold is None else {"value": float(threshold), "objective": objective}
    )


def check_params(cls: type[Any], params: dict[str, Any], *, choice: str) -> str | None:
    """What is wrong with ``params`` for estimator ``cls``, naming the key, or ``None``.

    Unknown names are found through the public ``get_params``; values through scikit-learn's
    own parameter constraints (``_validate_params``: private, present since 1.2, and the check
    ``fit`` runs first), so a bad value stops a run when its config loads, not mid-fit.

    Args:
        cls: The estimator class.
        params: The configured hyper-parameters.
        choice: How the config names the estimator (for the message).
    """
    known = cls().get_params()
    unknown = sorted(set(params) - set(known))
    if unknown:
        return (
            f"{', '.join(unknown)} is not a parameter of {cls.__name__} ({choice}); its "
            f"parameters: {', '.join(sorted(known))}"
        )
    validate = getattr(cls(**params), "_validate_params", None)
    if validate is not None:
        try:
            validate()
        except (ValueError, TypeError) as error:
            return str(error)
    return None
