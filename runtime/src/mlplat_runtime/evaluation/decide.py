"""The decision: ``ok``, ``warn`` or ``retrain``, with the reason in one line.

``retrain`` needs evidence, not a bad-looking number: for a live model version, the newest window
(overall, or a slice of a sensitive column) with at least ``min_labels`` labels must have an
interval whose *best* end is still worse than the reference by more than ``tolerance``. The
reference is the metric the version scored at evaluate (on its test split), per slice where the
evaluate report has that slice, else overall. A point estimate beyond the tolerance whose interval
still reaches it is only a ``warn`` ("not conclusive"), as are input drift above ``max_psi``,
label coverage below ``min_coverage`` in windows older than ``label_grace_hours``, a contract
violation rate above its maximum, and a fairness gap above ``max_fairness_gap``.

Only live versions (those that answered in the newest window) decide: a version already replaced
cannot be retrained away.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .settings import MonitorSettings
from .stats import HIGHER_IS_BETTER

Action = Literal["ok", "warn", "retrain"]


@dataclass(frozen=True, kw_only=True)
class Reference:
    """What a model version scored at evaluate: the watched metric overall and per slice.

    Build it with :func:`~.assess.reference_metrics` from the version's ``evaluation.json``.
    """

    value: float | None
    slices: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One observation behind the decision; ``shortfall`` orders findings of one level."""

    level: Action
    version: str
    window: str | None
    slice: str | None
    message: str
    shortfall: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return {
            "level": self.level,
            "version": self.version,
            "window": self.window,
            "slice": self.slice,
            "message": self.message,
        }


@dataclass(frozen=True, kw_only=True)
class Decision:
    """The action, its one-line reason, and every finding (most severe first)."""

    action: Action
    reason: str
    findings: tuple[Finding, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, as stored under ``decision`` in ``report.json``."""
        return {
            "action": self.action,
            "reason": self.reason,
            "findings": [f.as_dict() for f in self.findings],
        }


def _newest(windows: list[dict[str, Any]], pick: Any, need: int) -> tuple[str, Any] | None:
    for window in reversed(windows):
        found = pick(window)
        if found is not None and found.get("n", 0) >= need and found.get("value") is not None:
            return window["start"], found
    return None


def _quality(
    version: str,
    where: str | None,
    found: tuple[str, dict[str, Any]] | None,
    reference: float | None,
    settings: MonitorSettings,
) -> Iterator[Finding]:
    if found is None or reference is None:
        return
    start, estimate = found
    higher = settings.metric in HIGHER_IS_BETTER
    limit = reference - settings.tolerance if higher else reference + settings.tolerance
    best = estimate["high"] if higher else estimate["low"]
    value = estimate["value"]

    def worse(x: float) -> bool:
        return x < limit if higher else x > limit

    text = (
        f"version {version}{'' if where is None else ' slice ' + where}: {settings.metric} "
        f"{value:.3f} [{estimate['low']:.3f}, {estimate['high']:.3f}] on {estimate['n']} labels "
        f"in the window from {start[:16]} vs reference {reference:.3f}"
    )
    shortfall = abs(value - limit)
    if best is not None and worse(best):
        yield Finding(
            level="retrain",
            version=version,
            window=start,
            slice=where,
            message=f"{text}: worse than the tolerance {settings.tolerance:g} allows",
            shortfall=shortfall,
        )
    elif worse(value):
        yield Finding(
            level="warn",
            version=version,
            window=start,
            slice=where,
            message=f"{text}: below the tolerance, not conclusive yet (interval reaches it)",
            shortfall=shortfall,
        )


def _checks(
    version: str, data: dict[str, Any], reference: Reference | None, settings: MonitorSettings
) -> Iterator[Finding]:
    windows = data["windows"]
    metric, need = settings.metric, settings.min_labels
    overall = reference.value if reference else None
    found = _newest(windows, lambda w: w["quality"].get(metric), need)
    yield from _quality(version, None, found, overall, settings)
    columns = {c for w in windows for c in w["slices"]}
    for column in sorted(columns):
        groups = {g for w in windows for g in w["slices"].get(column, {})}
        for group in sorted(groups):

            def pick(w: dict[str, Any], c: str = column, g: str = group) -> Any:
                return w["slices"].get(c, {}).get(g, {}).get("quality", {}).get(metric)

            by_slice = reference.slices.get(column, {}) if reference else {}
            ref = by_slice.get(group, overall)
            where = f"{column}={group}"
            yield from _quality(version, where, _newest(windows, pick, need), ref, settings)
    latest = next((w for w in reversed(windows) if w["predictions"] >= need), None)
    if latest is not None:
        drifted = {
            f: v for f, v in latest["drift"].items() if v is not None and v > settings.max_psi
        }
        for feature, value in sorted(drifted.items(), key=lambda kv: -kv[1]):
            yield Finding(
                level="warn",
                version=version,
                window=latest["start"],
                slice=None,
                message=f"version {version}: input '{feature}' drifted, PSI {value:.3f} > "
                f"max_psi {settings.max_psi:g} in the window from {latest['start'][:16]}",
            )
        rate = latest["contract_violation_rate"]
        if rate is not None and rate > settings.max_contract_violation_rate:
            yield Finding(
                level="warn",
                version=version,
                window=latest["start"],
                slice=None,
                message=f"version {version}: {rate:.1%} of requests broke the contract "
                f"(max {settings.max_contract_violation_rate:.1%})",
            )
        for column, gap in latest["fairness"].items():
            limit = settings.max_fairness_gap
            if limit is not None and gap["gap"] is not None and gap["gap"] > limit:
                yield Finding(
                    level="warn",
                    version=version,
                    window=latest["start"],
                    slice=column,
                    message=f"version {version}: {metric} gap {gap['gap']:.3f} across "
                    f"'{column}' exceeds max_fairness_gap {limit:g}",
                )


def _coverage(
    version: str, windows: list[dict[str, Any]], settings: MonitorSettings, now: datetime
) -> Iterator[Finding]:
    cutoff = now.timestamp() - settings.label_grace_hours * 3600
    old = [
        w
        for w in windows
        if w["coverage"] is not None and datetime.fromisoformat(w["end"]).timestamp() <= cutoff
    ]
    low = [w for w in old if w["coverage"] < settings.min_coverage]
    if low:
        worst = min(low, key=lambda w: w["coverage"])
        yield Finding(
            level="warn",
            version=version,
            window=worst["start"],
            slice=None,
            message=f"version {version}: label coverage {worst['coverage']:.0%} in the window "
            f"from {worst['start'][:16]} (min_coverage {settings.min_coverage:.0%}, "
            f"{len(low)} window(s) below): are labels being fed?",
        )


def decide(
    report: Mapping[str, Any],
    settings: MonitorSettings,
    references: Mapping[str, Reference],
) -> Decision:
    """Decide from an :func:`~.assess.assess` report and each version's evaluate reference.

    Args:
        report: The measurements.
        settings: The thresholds.
        references: Per model version, what it scored at evaluate; a version without one is
            measured and reported but cannot trigger ``retrain`` on quality.
    """
    now = datetime.fromisoformat(report["generated_at"])
    findings: list[Finding] = []
    for version, data in report["versions"].items():
        if not data["live"]:
            continue
        findings += _checks(version, data, references.get(version), settings)
        findings += _coverage(version, data["windows"], settings, now)
    if not report["counts"].get("predictions", 1):
        findings.append(
            Finding(
                level="warn",
                version="-",
                window=None,
                slice=None,
                message="no prediction records: nothing to measure (is the server's prediction "
                "log on, with a sample rate above 0, and does the monitor read its directory?)",
            )
        )
    order = {"retrain": 0, "warn": 1, "ok": 2}
    findings.sort(key=lambda f: (order[f.level], -f.shortfall))
    if not findings:
        labelled = report["counts"]["labelled"]
        return Decision(
            action="ok",
            reason=f"ok: {labelled} labelled predictions; quality, drift and coverage within "
            "thresholds"
            + ("" if labelled >= settings.min_labels else f" (fewer than {settings.min_labels})"),
        )
    top = findings[0]
    more = len(findings) - 1
    return Decision(
        action=top.level,
        reason=top.message + (f" (+{more} more finding(s))" if more else ""),
        findings=tuple(findings),
    )


__all__ = ["Action", "Decision", "Finding", "Reference", "decide"]
