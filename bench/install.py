"""``make install`` of a generated project: pip (the template's recipe before uv) against uv.

Issue 9: pip took 1.5 to 2.5 minutes and left no lock. Each case starts from no ``.venv``:

- cold: an empty package cache (a fresh ``PIP_CACHE_DIR`` / ``UV_CACHE_DIR``): every wheel is
  downloaded, as on a new machine or a CI runner without a cache;
- warm: the same cache again (the second ``make install`` on a machine, a CI cache hit).

``uv, first install`` has no ``uv.lock`` yet (it resolves and writes it); ``uv, from uv.lock`` is
``make install LOCKED=1`` (CI's ``--locked``). pip installs the same extras (``.[dev,argo]``) with
the recipe the Makefile had before (``python -m venv`` + ``pip install -e``). uv itself is
bootstrapped once before timing (printed apart), as ``make install`` does when uv is not on PATH.
Cases alternate, so the shared network and CPUs drift over all of them alike.

Run: python bench/install.py [--runs N]   (downloads from the package index: minutes per run)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import copier
from _timing import bootstrap_uv

from mlplat.scaffold.runtime import place_runtime_wheel
from mlplat.settings import load_settings

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "ml-project"
PIP_BEFORE = (
    "python -m venv .venv && .venv/bin/python -m pip install --quiet "
    '--disable-pip-version-check -e ".[dev,argo]"'
)


@dataclass(frozen=True, kw_only=True)
class Case:
    """One way to install, timed cold and warm."""

    name: str
    command: Callable[[Path], list[str]]
    cache_env: str
    keep_lock: bool
    warm: bool = True


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(
            f"{' '.join(command)} failed in {cwd}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project = work / "project"
        copier.run_copy(str(TEMPLATE), str(project), defaults=True, unsafe=False, quiet=True)
        place_runtime_wheel(project, load_settings())  # wheels/: the runtime wheel uv.lock pins
        env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_CACHE_DIR"}}
        python, uv_path, bootstrap = bootstrap_uv(work, env)
        uv = str(uv_path)
        make = ["make", "install", f"PYTHON={python}", f"UV={uv}"]
        cases = [
            Case(
                name="pip (before)",
                command=lambda _: [
                    "sh",
                    "-c",
                    PIP_BEFORE.replace("python -m venv", f"{python} -m venv"),
                ],
                cache_env="PIP_CACHE_DIR",
                keep_lock=False,
            ),
            Case(
                name="uv, first install (no uv.lock)",
                command=lambda _: make,
                cache_env="UV_CACHE_DIR",
                keep_lock=False,
                warm=False,
            ),
            Case(
                name="uv, from uv.lock (LOCKED=1)",
                command=lambda _: [*make, "LOCKED=1"],
                cache_env="UV_CACHE_DIR",
                keep_lock=True,
            ),
        ]
        lock = work / "uv.lock"
        times: dict[tuple[str, str], list[float]] = {}
        for run in range(args.runs):
            for case in cases:
                cache = work / f"cache-{case.name[:3]}-{run}"
                shutil.rmtree(cache, ignore_errors=True)
                case_env = {**env, case.cache_env: str(cache)}
                for phase in ("cold", "warm") if case.warm else ("cold",):
                    shutil.rmtree(project / ".venv", ignore_errors=True)
                    (project / "uv.lock").unlink(missing_ok=True)
                    if case.keep_lock:
                        shutil.copy(lock, project / "uv.lock")
                    seconds = _timed(case.command(project), project, case_env)
                    times.setdefault((case.name, phase), []).append(seconds)
                if not case.keep_lock and (project / "uv.lock").exists():
                    shutil.copy(project / "uv.lock", lock)  # the lock the next case installs from
                shutil.rmtree(cache, ignore_errors=True)

    anchor = statistics.median(times[("pip (before)", "cold")])
    print(f"\nmake install, {args.runs} run(s) each, median seconds (ratio to pip cold)")
    print(f"uv bootstrap (pip install uv, once, not in the rows below): {bootstrap:.1f} s\n")
    print(f"{'case':<34}{'cold s':>9}{'ratio':>8}{'warm s':>9}{'ratio':>8}")
    for case in cases:
        cold = statistics.median(times[(case.name, "cold")])
        row = f"{case.name:<34}{cold:>9.1f}{cold / anchor:>8.2f}"
        if case.warm:
            warm = statistics.median(times[(case.name, "warm")])
            row += f"{warm:>9.1f}{warm / anchor:>8.2f}"
        print(row)


if __name__ == "__main__":
    main()
