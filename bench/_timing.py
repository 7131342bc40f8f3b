"""Shared helpers: run commands alternately and report medians and ratios; bootstrap uv.

Alternating A, B, A, B... spreads the noise of a shared 2-core machine over both sides, so
the ratio is meaningful even when absolute times drift.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: The uv the install benchmarks bootstrap, as ``make install`` does when uv is not on PATH.
UV_VERSION = "0.13.8"


def bootstrap_uv(work: Path, env: dict[str, str]) -> tuple[str, Path, float]:
    """A fresh venv under ``work`` with uv in it, and ``env`` without any other uv on PATH.

    Why: the benchmarks time ``make install`` with a known uv, not whatever the machine has;
    the bootstrap itself is timed apart (it is paid once per machine, not per install).

    Returns:
        The Python ``make install`` should use, the uv executable, the bootstrap's seconds.
    """
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if not (Path(p) / "uv").exists()
    )
    python = (
        shutil.which(f"python{sys.version_info.major}.{sys.version_info.minor}") or sys.executable
    )
    start = time.perf_counter()
    subprocess.run([python, "-m", "venv", str(work / "uv")], check=True)
    subprocess.run(
        [str(work / "uv/bin/python"), "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"],
        check=True,
        env={**env, "PIP_CACHE_DIR": str(work / "bootstrap-cache")},
    )
    return python, work / "uv/bin/uv", time.perf_counter() - start


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
