"""A generated project's pipeline on 1,000,000 rows x 20 columns, against the bare estimator.

Issue 18: the pipeline (ingest, validate, split, features, train, evaluate, register with the
compile step) should stay within 1.5x the time of the same estimator's bare fit and predict on
the same table, and within 2 GB peak memory. Both sides run in the project's own environment as
separate processes; peak memory is each process's maximum resident set (``wait4``'s rusage,
which includes the processes it waited for). CPU seconds (user + system, the same rusage) are
printed beside wall seconds: on a shared 2-core machine the wall clock also measures the
neighbours, the CPU time only the work.

Both sides run with compiled bytecode, as on a user's machine after the first run: the project's
site-packages are byte-compiled once before timing, and ``PYTHONDONTWRITEBYTECODE`` is dropped
from the environment (where it is set, every process compiles each module it imports from
source, which cost the pipeline about 40 of its seconds and the bare script 25).

The table is ``tests/template/tables.py``'s ``big`` (seeded, nothing downloaded).

Run: python bench/tables.py [--rows N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "template"))

from tables import big  # noqa: E402  (the generator lives with the tests that use it)

_BARE = """
import sys, time
import pandas as pd
from sklearn.linear_model import Ridge
start = time.perf_counter()
frame = pd.read_parquet(sys.argv[1])
y = frame.pop("target").to_numpy()
X = frame.to_numpy(dtype="float64")
read = time.perf_counter()
model = Ridge(alpha=1.0).fit(X, y)
model.predict(X)
print(f"read {read - start:.2f}s fit+predict {time.perf_counter() - read:.2f}s")
"""


def measured(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds, peak resident MB and stdout of ``command`` (and its children)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{out[-3000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="build the project here and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="mlplat-bench-tables-"))
    project = work / "million"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "ML_PROJECT_"))}
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    mlplat = Path(sys.executable).parent / "mlplat"
    if not project.exists():
        subprocess.run([str(mlplat), "new", str(project), "--defaults"], check=True, env=env)
        subprocess.run(["make", "install"], cwd=project, check=True, env=env, capture_output=True)
    source = project / "data" / "raw" / "million.parquet"
    source.parent.mkdir(parents=True, exist_ok=True)
    big(rows=args.rows).to_parquet(source, index=False)
    python = str(project / ".venv" / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    subprocess.run([python, "-m", "compileall", "-q", site, "src"], cwd=project, env=env)
    contract = ["make", "contract", "SOURCE=data/raw/million.parquet", "TARGET=target", "FORCE=1"]
    contract_s, contract_cpu, contract_mb, _ = measured(contract, project, env)
    (project / "mlflow.db").unlink(missing_ok=True)
    package = project.name.replace("-", "_")
    pipeline_s, pipeline_cpu, pipeline_mb, out = measured(
        [python, "-m", f"{package}.pipeline"], project, env
    )
    bare_s, bare_cpu, bare_mb, bare_out = measured([python, "-c", _BARE, str(source)], project, env)
    print(out.strip())
    print(f"\n{args.rows:,} rows x 20 columns, Ridge(alpha=1.0), in {project}")
    print(f"{'':28}{'seconds':>10}{'CPU s':>10}{'peak MB':>10}")
    print(f"{'make contract':28}{contract_s:10.1f}{contract_cpu:10.1f}{contract_mb:10.0f}")
    print(f"{'pipeline (all stages)':28}{pipeline_s:10.1f}{pipeline_cpu:10.1f}{pipeline_mb:10.0f}")
    print(
        f"{'bare read+fit+predict':28}{bare_s:10.1f}{bare_cpu:10.1f}{bare_mb:10.0f}"
        f"   ({bare_out.strip()})"
    )
    print(
        f"{'ratio pipeline/bare':28}{pipeline_s / bare_s:10.2f}{pipeline_cpu / bare_cpu:10.2f}"
        f"{pipeline_mb / bare_mb:10.2f}"
    )
    print("anchors: issue 18 asks <= 1.5x the bare time and <= 2048 MB peak")


if __name__ == "__main__":
    main()
