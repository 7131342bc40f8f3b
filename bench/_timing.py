"""Shared helper: run commands alternately and report medians and ratios.

Alternating A, B, A, B... spreads the noise of a shared 2-core machine over both sides, so
the ratio is meaningful even when absolute times drift.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    """One side of a comparison: a name, a command, and a per-run setup hook."""

    name: str
    command: Callable[[int], Sequence[str]]
    setup: Callable[[int], None] = lambda run: None


def compare(cases: Sequence[Case], runs: int, cwd: str | None = None) -> dict[str, list[float]]:
    """Run every case ``runs`` times, interleaved; return wall times in seconds."""
    times: dict[str, list[float]] = {case.name: [] for case in cases}
    for run in range(runs):
        for case in cases:
            case.setup(run)
            start = time.perf_counter()
            subprocess.run(
                case.command(run),
                cwd=cwd,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            times[case.name].append(time.perf_counter() - start)
    return times


def report(title: str, times: dict[str, list[float]], anchor: str, limit: float) -> None:
    """Print a table of medians and the ratio of each case to the anchor."""
    base = statistics.median(times[anchor])
    print(f"\n{title}")
    print(f"{'case':<34}{'median ms':>10}{'min ms':>9}{'ratio':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<34}{median * 1000:>10.1f}{min(values) * 1000:>9.1f}{median / base:>8.2f}")
    worst = max(statistics.median(v) for n, v in times.items() if n != anchor) / base
    verdict = "within" if worst <= limit else "OVER"
    print(f"goal: <= {limit}x {anchor}: {verdict} ({worst:.2f}x)")
