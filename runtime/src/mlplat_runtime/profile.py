"""Distribution profiles: a histogram per feature, and the drift between two of them.

The same profile format is saved as the validation reference (``data/reference/profile.json``)
and inside every model's metadata (``reference_profile``), where serving compares live inputs
against the training data. Values outside the edges count in the outer bins.
"""

from __future__ import annotations

__all__ = ["Profile", "build_profile", "drift_violations", "fractions", "psi", "summary"]

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .errors import Violation

Profile = dict[str, dict[str, list[float]]]
_EPSILON = 1e-4


def fractions(values: np.ndarray, edges: Iterable[float]) -> np.ndarray:
    """Share of ``values`` in each bin of ``edges``; outliers count in the outer bins."""
    edges = np.asarray(list(edges), dtype="float64")
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return np.zeros(len(edges) - 1)
    inner = edges[1:-1]
    counts = np.bincount(np.searchsorted(inner, values, side="right"), minlength=len(edges) - 1)
    return np.asarray(counts / counts.sum(), dtype="float64")


def build_profile(df: pd.DataFrame, features: Iterable[str], *, bins: int = 10) -> Profile:
    """Profile ``features`` of ``df``: quantile edges (at most ``bins`` bins) and fractions."""
    profile: Profile = {}
    for name in features:
        values = df[name].to_numpy(dtype="float64")
        edges = np.unique(np.nanquantile(values, np.linspace(0, 1, bins + 1)))
        if len(edges) < 2:
            edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
        profile[name] = {
            "edges": [float(e) for e in edges],
            "fractions": [float(f) for f in fractions(values, edges)],
        }
    return profile


def psi(expected: Iterable[float], actual: Iterable[float]) -> float:
    """Population stability index between two binnings (0 = identical, > 0.2 = a real shift)."""
    e = np.clip(np.asarray(list(expected), dtype="float64"), _EPSILON, None)
    a = np.clip(np.asarray(list(actual), dtype="float64"), _EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def drift_violations(df: pd.DataFrame, reference: Profile, *, max_psi: float) -> list[Violation]:
    """Columns whose distribution moved beyond ``max_psi`` from the reference profile."""
    found = []
    for name, spec in reference.items():
        if name not in df.columns:
            found.append(
                Violation(column=name, rule="column present (reference profile)", rows=None)
            )
            continue
        actual = fractions(df[name].to_numpy(dtype="float64"), spec["edges"])
        value = psi(spec["fractions"], actual)
        if value > max_psi:
            found.append(
                Violation(
                    column=name,
                    rule=f"distribution PSI {value:.3f} above max_psi {max_psi:g} vs reference",
                    rows=None,
                )
            )
    return found


def summary(profile: Profile) -> dict[str, Any]:
    """A short, readable view of a profile (bin count per feature) for reports."""
    return {name: len(spec["fractions"]) for name, spec in profile.items()}
