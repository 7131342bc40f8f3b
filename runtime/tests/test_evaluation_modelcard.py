"""The HTML model card from plain inputs: plots, slices with the gap, provenance, contract."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mlplat_runtime.evaluation import render_model_card
from mlplat_runtime.rules import Column, Contract

RNG = np.random.default_rng(5)
CONTRACT = Contract(
    (
        Column(name="id", dtype="int", role="key", unique=True),
        Column(name="sex", dtype="str", role="attribute", allowed=("F", "M")),
        Column(name="target", dtype="float", role="target", minimum=0),
    )
)


def images(html: str) -> list[str]:
    return re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,', html)


def test_a_classifier_card_shows_curves_confusion_slices_provenance_and_contract() -> None:
    y = RNG.integers(0, 2, 300)
    score = np.clip(y * 0.4 + RNG.random(300) * 0.6, 0, 1)
    sex = np.where(RNG.random(300) < 0.9, "F", "M")  # M is a small group
    html = render_model_card(
        title="m version 2",
        problem_type="classification",
        y_true=y,
        y_pred=(score > 0.5).astype(int),
        scores=score,
        slices={"sex": sex.tolist()},
        provenance={"source": "s.csv", "code_version": {"version": "abc", "dirty": False}},
        contract=CONTRACT.as_dict(),
        min_group_size=50,
        notes="For triage only.",
    )
    assert images(html) == [
        "ROC, precision-recall and calibration curves",
        "confusion matrix",
        "roc_auc per slice of sex",
    ]
    assert "not evaluated (fewer than two groups of min_group_size rows)" in html
    assert "<td>code_version.version</td><td>abc</td>" in html
    assert "<td>F, M</td>" in html and "<td>yes</td>" in html  # allowed values, unique
    assert "For triage only." in html and "<script" not in html and "http" not in html


def test_a_regressor_card_shows_residuals_and_the_gap_in_mae() -> None:
    y = RNG.normal(50, 10, 400)
    pred = y + RNG.normal(0, 3, 400)
    html = render_model_card(
        title="r",
        problem_type="regression",
        y_true=y,
        y_pred=pred,
        slices={"age": RNG.integers(20, 80, 400).tolist()},
    )
    assert images(html) == ["residuals", "mae per slice of age"]
    gap = re.search(r"fairness gap \(mae, groups of at least 30 rows\): <strong>([0-9.]+)", html)
    assert gap and float(gap.group(1)) < 2.0  # quartile slices of a many-valued column


def test_misaligned_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        render_model_card(title="x", problem_type="regression", y_true=[1.0, 2.0], y_pred=[1.0])
