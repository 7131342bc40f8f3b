"""``mlplat render`` wall time against its goal (issue 5: under 5 s), per profile.

The anchor is the bare import of pulumi and pulumi_kubernetes, the floor any render pays.
Run: python bench/render.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from _timing import Case, compare

GOAL_SECONDS = 5.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    mlplat = shutil.which("mlplat") or sys.exit("mlplat is not on PATH: pip install -e .")
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "exposed.yaml"
        config.write_text("domain: ml.example.com\n", encoding="utf-8")

        def out(name: str, run: int) -> str:
            return str(Path(tmp) / f"{name}-{run}")

        times = compare(
            [
                Case(
                    "import pulumi + pulumi_kubernetes",
                    lambda run: [sys.executable, "-c", "import pulumi, pulumi_kubernetes.apps.v1"],
                ),
                Case("mlplat render (dev)", lambda run: [mlplat, "render", "-o", out("dev", run)]),
                Case(
                    "mlplat render (prod, domain)",
                    lambda run: [
                        mlplat,
                        "render",
                        "-o",
                        out("prod", run),
                        "-p",
                        "prod",
                        "-c",
                        str(config),
                    ],
                ),
            ],
            runs=args.runs,
        )
    print(f"\nmlplat render wall time ({args.runs} alternating runs)")
    print(f"{'case':<36}{'median s':>10}{'max s':>8}")
    for name, values in times.items():
        print(f"{name:<36}{statistics.median(values):>10.2f}{max(values):>8.2f}")
    worst = max(max(v) for n, v in times.items() if n.startswith("mlplat"))
    verdict = "within" if worst < GOAL_SECONDS else "OVER"
    print(f"goal: every render < {GOAL_SECONDS:.0f} s: {verdict} (slowest {worst:.2f} s)")


if __name__ == "__main__":
    main()
