"""What a generated project carries: lines of src/, modules and import cycles, beside the anchors.

Renders the bundled template (default and feast) and the shipped 0.2.0 release from the history
bundle, and prints each next to what projects people like to live in hold. No timing: these are
counts (`wc -l` lines of every .py file under src/).

    python bench/project_size.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import copier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.template.imports import source_shape  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "templates" / "ml-project"
HISTORY = ROOT / "templates" / "history" / "ml-project.bundle"
ANCHORS = {
    "Kedro spaceflights starter": 368,
    "cookiecutter-data-science v2": 180,
    "Databricks MLOps Stacks": 2100,
}


def _render(src: str, dest: Path, data: dict[str, str], ref: str | None = None) -> Path:
    copier.run_copy(src, str(dest), data=data, defaults=True, quiet=True, vcs_ref=ref)
    return next(p for p in (dest / "src").iterdir() if p.is_dir())


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "history"
        subprocess.run(["git", "clone", "-q", str(HISTORY), str(old)], check=True)
        tags = subprocess.run(
            ["git", "tag"], cwd=old, capture_output=True, text=True, check=True
        ).stdout.split()
        rows = []
        for ref in sorted(tags):
            for label, data in (("default", {}), ("feast", {"feature_store": "feast"})):
                src = _render(str(old), Path(tmp) / f"{ref}-{label}", data, ref)
                rows.append((f"{ref} {label}", source_shape(src)))
        for label, data in (("default", {}), ("feast", {"feature_store": "feast"})):
            src = _render(str(TEMPLATE), Path(tmp) / f"now-{label}", data)
            rows.append((f"this checkout {label}", source_shape(src)))
        runtime = source_shape(ROOT / "runtime" / "src" / "mlplat_runtime")
    print(f"{'project src/':32} {'lines':>6} {'modules':>8} {'cycles':>7}")
    for label, shape in rows:
        print(f"{label:32} {shape.lines:6d} {shape.modules:8d} {len(shape.cycles):7d}")
        for cycle in shape.cycles:
            print(f"{'':34}cycle: {' <-> '.join(cycle)}")
    print(
        f"{'mlplat-runtime (the library)':32} {runtime.lines:6d} {runtime.modules:8d} "
        f"{len(runtime.cycles):7d}"
    )
    for cycle in runtime.cycles:
        print(f"{'':34}cycle: {' <-> '.join(cycle)}")
    print("anchors (lines the user's project holds):")
    for name, lines in ANCHORS.items():
        print(f"  {name:30} {lines:6d}")


if __name__ == "__main__":
    main()
