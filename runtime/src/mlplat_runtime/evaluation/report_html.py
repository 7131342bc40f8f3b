"""The monitoring report a person opens: the decision, then quality and drift over time.

One self-contained HTML file (see :mod:`.html`) rendered from ``report.json`` alone, so the JSON
stays the source of truth and the page can be rebuilt from any stored report. It shows, per model
version, the watched metric per window with its confidence band, label coverage, input drift per
feature, and the metric per slice of each sensitive column over time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .html import escape, image, new_figure, page, table


def _times(windows: list[dict[str, Any]]) -> Any:
    """Window starts for matplotlib's date axis (typed ``Any``: its stubs want arrays)."""
    return [datetime.fromisoformat(w["start"]) for w in windows]


def _quality_plot(report: Mapping[str, Any]) -> str:
    metric = report["metric"]
    figure = new_figure(9, 3.4)
    axes = figure.subplots(1, 2)
    for version, data in report["versions"].items():
        windows = data["windows"]
        times = _times(windows)
        q = [w["quality"].get(metric, {}) for w in windows]
        value = [float("nan") if e.get("value") is None else e["value"] for e in q]
        low = [float("nan") if e.get("low") is None else e["low"] for e in q]
        high = [float("nan") if e.get("high") is None else e["high"] for e in q]
        (line,) = axes[0].plot(times, value, marker="o", label=f"version {version}")
        axes[0].fill_between(times, low, high, alpha=0.2, color=line.get_color())
        coverage = [float("nan") if w["coverage"] is None else w["coverage"] for w in windows]
        axes[1].plot(times, coverage, marker="o", color=line.get_color(), label=f"v{version}")
    axes[0].set_title(f"{metric} per window (band: confidence interval)")
    axes[1].set_title("label coverage per window")
    axes[1].set_ylim(0, 1.05)
    for ax in axes:
        ax.legend(fontsize=8)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return image(figure, f"{metric} and label coverage over time per version")


def _drift_plot(version: str, windows: list[dict[str, Any]], max_psi: float) -> str | None:
    features = sorted({f for w in windows for f in w["drift"]})
    if not features:
        return None
    figure = new_figure(9, 3.0)
    ax = figure.subplots()
    times = _times(windows)
    for feature in features:
        values = [w["drift"].get(feature) for w in windows]
        ax.plot(
            times, [float("nan") if v is None else v for v in values], marker=".", label=feature
        )
    ax.axhline(max_psi, color="#c62828", linestyle="--", linewidth=1, label="max_psi")
    ax.set_title(f"version {version}: input drift (PSI vs training reference)")
    ax.legend(fontsize=7, ncol=4)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return image(figure, f"input drift over time, version {version}")


def _slice_plot(version: str, windows: list[dict[str, Any]], column: str, metric: str) -> str:
    figure = new_figure(9, 3.0)
    ax = figure.subplots()
    times = _times(windows)
    groups = sorted({g for w in windows for g in w["slices"].get(column, {})})
    for group in groups:
        values = []
        for w in windows:
            estimate = w["slices"].get(column, {}).get(group, {}).get("quality", {}).get(metric)
            values.append(
                float("nan") if not estimate or estimate["value"] is None else estimate["value"]
            )
        ax.plot(times, values, marker="o", label=f"{column}={group}")
    ax.set_title(f"version {version}: {metric} per slice of '{column}'")
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return image(figure, f"{metric} per slice of {column}, version {version}")


def _version_section(version: str, data: dict[str, Any], report: Mapping[str, Any]) -> str:
    metric = report["metric"]
    windows = data["windows"]
    rows = []
    for w in windows:
        e = w["quality"].get(metric, {})
        delay = w["delay_hours"] or {}
        gaps = ", ".join(
            f"{c}: {g['gap']:.3f}" for c, g in w["fairness"].items() if g["gap"] is not None
        )
        rows.append(
            [
                w["start"][:16],
                w["predictions"],
                w["labelled"],
                w["coverage"],
                e.get("value"),
                "–" if e.get("low") is None else f"[{e['low']:.3f}, {e['high']:.3f}]",
                delay.get("median"),
                delay.get("p90"),
                gaps or "–",
            ]
        )
    parts = [
        f"<h2>Version {escape(version)} ({'live' if data['live'] else 'no longer serving'})</h2>",
        table(
            [
                "window from",
                "predictions",
                "labelled",
                "coverage",
                metric,
                "interval",
                "delay median h",
                "delay p90 h",
                "fairness gap",
            ],
            rows,
        ),
    ]
    drift = _drift_plot(version, windows, report["settings"]["max_psi"])
    if drift:
        parts.append(drift)
    for column in report["sensitive_columns"]:
        parts.append(_slice_plot(version, windows, column, metric))
    return "".join(parts)


def render_report(report: Mapping[str, Any]) -> str:
    """The monitoring report as one self-contained HTML page."""
    decision = report.get("decision", {"action": "ok", "reason": "not decided", "findings": []})
    counts = report["counts"]
    body = [
        "<h1>Model monitoring report</h1>",
        f'<p class="muted">generated {escape(report["generated_at"])}; '
        f"{escape(report['problem_type'])}; watched metric <code>{escape(report['metric'])}</code>"
        "</p>",
        f'<p><span class="badge {escape(decision["action"])}">{escape(decision["action"])}</span> '
        f"{escape(decision['reason'])}</p>",
        table(["count", "value"], [[k.replace("_", " "), v] for k, v in counts.items()]),
    ]
    if report["versions"]:
        body.append("<h2>Quality over time</h2>" + _quality_plot(report))
    for version, data in report["versions"].items():
        body.append(_version_section(version, data, report))
    if decision["findings"]:
        body.append("<h2>Findings</h2>")
        body.append(
            table(
                ["level", "version", "slice", "finding"],
                [
                    [f["level"], f["version"], f["slice"] or "–", f["message"]]
                    for f in decision["findings"]
                ],
            )
        )
    return page("Model monitoring report", "".join(body))


__all__ = ["render_report"]
