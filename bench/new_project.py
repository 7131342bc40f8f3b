"""``mlplat new --defaults --no-git`` against ``copier copy`` of the same template.

Issue 2: within 1.5x. mlplat's first run also commits the bundled template into its cache;
that one-off cost is printed separately, then both sides run warm, alternating.

Run: python bench/new_project.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import Case, compare, report

from mlplat.resources import bundled_template_dir


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    mlplat, copier = bindir / "mlplat", bindir / "copier"
    template = bundled_template_dir()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["MLPLAT_HOME"] = str(work / "home")

        start = time.perf_counter()
        subprocess.run(
            [mlplat, "new", str(work / "cold"), "--defaults", "--no-git"],
            check=True,
            capture_output=True,
        )
        print(f"mlplat new, cold template cache: {(time.perf_counter() - start) * 1000:.0f} ms")

        def clean(run: int) -> None:
            for name in ("m", "c"):
                shutil.rmtree(work / f"{name}{run}", ignore_errors=True)

        times = compare(
            [
                Case(
                    "copier copy --defaults",
                    lambda run: [
                        str(copier),
                        "copy",
                        "--defaults",
                        "--quiet",
                        str(template),
                        str(work / f"c{run}"),
                    ],
                    setup=clean,
                ),
                Case(
                    "mlplat new --defaults --no-git",
                    lambda run: [
                        str(mlplat),
                        "new",
                        str(work / f"m{run}"),
                        "--defaults",
                        "--no-git",
                    ],
                ),
            ],
            runs=args.runs,
        )
    report(
        "mlplat new vs copier copy (same template)",
        times,
        anchor="copier copy --defaults",
        limit=1.5,
    )


if __name__ == "__main__":
    main()
