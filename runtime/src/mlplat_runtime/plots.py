"""Evaluation plots people would rather look at than read; rendered headless (Agg)."""

from __future__ import annotations

__all__ = ["render"]

from pathlib import Path
from typing import Any

import numpy as np


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _slice_bars(plt: Any, slices: dict[str, Any], metric: str, out: Path) -> Path:
    columns = list(slices)
    fig, axes = plt.subplots(1, len(columns), figsize=(4 * len(columns), 3.2), squeeze=False)
    for ax, column in zip(axes[0], columns, strict=True):
        labels = list(slices[column])
        values = [slices[column][g][metric] for g in labels]
        ax.bar(range(len(labels)), values, color="#4c72b0")
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{metric} by {column}")
    fig.tight_layout()
    path = out / f"slices_{metric}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def render(
    out: Path,
    problem_type: str,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_score: Any,
    slices: dict[str, Any],
) -> list[Path]:
    """Write the plots for ``problem_type`` into ``out`` and return their paths."""
    plt = _figure()
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    if problem_type == "classification":
        from sklearn.calibration import calibration_curve
        from sklearn.metrics import confusion_matrix

        labels = sorted(set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist()))
        matrix = confusion_matrix(y_true, y_pred, labels=labels)
        side = 3.2 + 0.25 * max(0, len(labels) - 2)
        fig, ax = plt.subplots(figsize=(side + 0.4, side))
        ax.imshow(matrix, cmap="Blues")
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=8)
        ticks = list(range(len(labels)))
        ax.set_xticks(ticks, [str(v) for v in labels], rotation=30, ha="right", fontsize=8)
        ax.set_yticks(ticks, [str(v) for v in labels], fontsize=8)
        ax.set(xlabel="predicted", ylabel="actual", title="Confusion matrix")
        fig.tight_layout()
        paths.append(out / "confusion_matrix.png")
        fig.savefig(paths[-1], dpi=80)
        plt.close(fig)
        if y_score is not None and np.ndim(y_score) == 1:  # binary: the positive-class score
            observed, predicted = calibration_curve(y_true, y_score, n_bins=10)
            fig, ax = plt.subplots(figsize=(3.6, 3.2))
            ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
            ax.plot(predicted, observed, marker="o")
            ax.set(xlabel="predicted probability", ylabel="observed rate", title="Calibration")
            fig.tight_layout()
            paths.append(out / "calibration.png")
            fig.savefig(paths[-1], dpi=80)
            plt.close(fig)
        paths.append(_slice_bars(plt, slices, "recall", out))
    else:
        residuals = y_true - y_pred
        fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.2))
        axes[0].scatter(y_pred, residuals, s=8, alpha=0.6)
        axes[0].axhline(0, color="grey", linestyle="--")
        axes[0].set(xlabel="predicted", ylabel="residual", title="Residuals")
        axes[1].scatter(y_true, y_pred, s=8, alpha=0.6)
        low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
        axes[1].plot([low, high], [low, high], color="grey", linestyle="--")
        axes[1].set(xlabel="actual", ylabel="predicted", title="Predicted vs actual")
        fig.tight_layout()
        paths.append(out / "residuals.png")
        fig.savefig(paths[-1], dpi=80)
        plt.close(fig)
        paths.append(_slice_bars(plt, slices, "mae", out))
    return paths
