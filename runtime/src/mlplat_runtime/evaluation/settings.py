"""The monitor's settings: windows, intervals and the thresholds of the ok/warn/retrain decision.

One frozen dataclass, built from the ``[monitor]`` table of ``config.toml`` by
:meth:`MonitorSettings.from_mapping`, which rejects unknown keys by name (with the closest known
one) and out-of-range values with the key and the allowed range, so a typo cannot silently turn
a threshold off.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from mlplat_runtime.errors import PipelineError

from .stats import CLASSIFICATION, REGRESSION


@dataclass(frozen=True, kw_only=True)
class MonitorSettings:
    """How the monitor cuts time and when it asks for retraining.

    Example (``config.toml``)::

        [monitor]
        metric = "roc_auc"
        window_hours = 24
        min_labels = 50
        tolerance = 0.05

    Attributes:
        metric: The metric the decision watches (``accuracy``, ``roc_auc``, ``brier``, ``ece``
            for classifiers; ``mae``, ``rmse`` for regressors).
        window_hours: Width of a time window, by prediction time.
        confidence: Coverage of every interval (0.5 to 0.999).
        resamples: Bootstrap resamples per interval.
        seed: Bootstrap seed (fixed: the same data gives the same report).
        min_labels: Labelled predictions a window or slice needs before it can ask for retraining.
        tolerance: How far the interval may sit beyond the reference metric before ``retrain``:
            retrain when the interval's best end is worse than ``reference - tolerance``
            (``reference + tolerance`` for an error metric).
        max_psi: Input drift (PSI of any feature in the newest window) above which to warn.
        min_coverage: Share of predictions with a label, in windows older than
            ``label_grace_hours``, below which to warn.
        label_grace_hours: How long labels usually take; younger windows are not held to
            ``min_coverage``.
        max_contract_violation_rate: Share of recorded requests that broke the contract above
            which to warn (only when records carry it).
        max_fairness_gap: Gap of ``metric`` across the slices of a sensitive column above which
            to warn; ``None`` disables the check.
        train_window_hours: How much labelled production history (by prediction time, back
            from the newest prediction) a retraining snapshot takes: after the relationship
            changed, older rows teach the old one.
    """

    metric: str = "roc_auc"
    window_hours: float = 24.0
    confidence: float = 0.95
    resamples: int = 400
    seed: int = 0
    min_labels: int = 50
    tolerance: float = 0.05
    max_psi: float = 0.2
    min_coverage: float = 0.5
    label_grace_hours: float = 72.0
    max_contract_violation_rate: float = 0.01
    max_fairness_gap: float | None = 0.1
    train_window_hours: float = 24.0 * 30

    def __post_init__(self) -> None:
        metrics = CLASSIFICATION + REGRESSION
        if self.metric not in metrics:
            raise PipelineError(
                f"monitor.metric = {self.metric!r} is not a metric the monitor computes: "
                f"use one of {', '.join(metrics)}"
            )
        _range("window_hours", self.window_hours, low=1 / 60, high=24 * 366)
        _range("confidence", self.confidence, low=0.5, high=0.999)
        _range("resamples", self.resamples, low=50, high=100_000)
        _range("min_labels", self.min_labels, low=1, high=10**9)
        _range("tolerance", self.tolerance, low=0.0, high=math.inf)
        _range("max_psi", self.max_psi, low=0.0, high=math.inf)
        _range("min_coverage", self.min_coverage, low=0.0, high=1.0)
        _range("label_grace_hours", self.label_grace_hours, low=0.0, high=math.inf)
        _range("max_contract_violation_rate", self.max_contract_violation_rate, low=0, high=1)
        _range("train_window_hours", self.train_window_hours, low=1 / 60, high=math.inf)
        if self.max_fairness_gap is not None:
            _range("max_fairness_gap", self.max_fairness_gap, low=0.0, high=math.inf)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, where: str = "monitor") -> MonitorSettings:
        """Settings from a config table; unknown keys and wrong types are named in the error.

        Raises:
            PipelineError: An unknown key (with the closest known one), a value of the wrong
                type, or a value out of range; the message names ``where.key``.
        """
        known = {f.name: f for f in fields(cls)}
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise PipelineError(
                    f"{where}.{key} is not a monitor setting{hint}: known settings are "
                    f"{', '.join(sorted(known))}"
                )
        values: dict[str, Any] = {}
        for key, value in data.items():
            default = getattr(cls, key)
            if key == "max_fairness_gap" and value is None:
                values[key] = None
            elif isinstance(default, str):
                if not isinstance(value, str):
                    raise PipelineError(f"{where}.{key} must be text, got {value!r}")
                values[key] = value
            elif isinstance(default, int) and not isinstance(default, bool):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise PipelineError(f"{where}.{key} must be a whole number, got {value!r}")
                values[key] = value
            else:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise PipelineError(f"{where}.{key} must be a number, got {value!r}")
                values[key] = float(value)
        try:
            return cls(**values)
        except PipelineError as error:
            raise PipelineError(str(error).replace("monitor.", f"{where}.", 1)) from None


def _range(name: str, value: float, *, low: float, high: float) -> None:
    if not (low <= value <= high) or math.isnan(value):
        raise PipelineError(f"monitor.{name} = {value!r} is out of range: {low:g} to {high:g}")


__all__ = ["MonitorSettings"]
