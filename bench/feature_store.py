"""The feature store's cost: the online lookup a prediction gains, and ``make install`` time.

1. Latency. A project generated with ``feature_store=feast`` runs ``make pipeline`` (which
   materialises the SQLite online store), then its model server (one worker) on 127.0.0.1.
   The same rows are requested two ways, alternately on one keep-alive connection: with their
   features in the request (no lookup) and with their keys only (the server looks them up in
   the online store). The difference is what the lookup adds to a prediction. The anchor is
   the raw ``FeatureStore.get_online_features`` call the server makes, timed in a process of
   its own, and Feast's published latencies per online store are printed beside them:
   docs/how-to-guides/online-server-performance-tuning.md in feast-dev/feast ("Online store
   selection": p50 Redis < 1 ms, PostgreSQL 3-10 ms; SQLite "local development only"; present
   from v0.66.0) and docs/how-to-guides/production-deployment-topologies.md ("Online store
   latency guidelines": p99 Redis < 5 ms, PostgreSQL < 30 ms, remote < 50 ms).
2. ``make install`` of the project with ``feature_store=none`` and with ``feast``: cold (an empty
   uv cache, no ``uv.lock``: resolve, download, install) and warm (the same cache again, from the
   ``uv.lock`` the cold run wrote), each from no ``.venv``. uv is bootstrapped once, apart.

Run: python bench/feature_store.py [--requests N] [--runs N] [--skip-install]
(the install part downloads from the package index; the server part makes no connection beyond
127.0.0.1).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import copier
from _timing import bootstrap_uv

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "ml-project"
PACKAGE = "bench_features"
PUBLISHED = (  # (store, p50, p99) as Feast's docs state them (module docstring)
    ("Redis", "< 1", "< 5"),
    ("PostgreSQL", "3-10", "< 30"),
    ("remote (HTTP feature server)", "varies", "< 50"),
)

RAW = """
import json, sys, time
from pathlib import Path
from {package}.config import load_config
from {package}.feature_store import online_fetcher
keys = json.loads(sys.argv[1])
fetch = online_fetcher(load_config(Path("config.toml")), Path.cwd().resolve())
for key in keys[:50]:
    fetch([key])  # warm: registry cache, connection
times = []
for i in range(int(sys.argv[2])):
    start = time.perf_counter()
    fetch([keys[i % len(keys)]])
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def _env() -> dict[str, str]:
    prefixes = ("MLFLOW_", "ML_PROJECT_", "PYTEST_", "ARGO_", "UV_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.pop("VIRTUAL_ENV", None)
    return env


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 1800) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        sys.exit(
            f"{' '.join(command)} failed in {cwd}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return time.perf_counter() - start


def _render(dst: Path, feature_store: str) -> Path:
    copier.run_copy(
        str(TEMPLATE),
        str(dst),
        data={"project_name": PACKAGE.replace("_", "-"), "feature_store": feature_store},
        defaults=True,
        unsafe=False,
        quiet=True,
    )
    from mlplat.scaffold.runtime import place_runtime_wheel
    from mlplat.settings import load_settings

    place_runtime_wheel(dst, load_settings())  # wheels/: the mlplat-runtime wheel uv.lock pins
    return dst


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def _start_server(project: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    server = subprocess.Popen(
        [
            ".venv/bin/python",
            "-m",
            f"{PACKAGE}.serving",
            "--port",
            "0",
            "--workers",
            "1",
            "--log-dir",
            "",
        ],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if "listening on" not in line:
        server.kill()
        sys.exit(f"the server did not start: {line}{server.stdout.read()}")
    port = int(line.split("http://", 1)[1].split()[0].rsplit(":", 1)[1])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/v2/health/ready")
            ready = conn.getresponse().status == 200
            conn.close()
            if ready:
                return server, port
        except OSError:
            pass
        time.sleep(0.2)
    server.kill()
    sys.exit("the server did not become ready within 120 s")


def _post(conn: http.client.HTTPConnection, body: bytes) -> tuple[float, int, str]:
    start = time.perf_counter()
    conn.request("POST", f"/v2/models/{PACKAGE}/infer", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    return elapsed, response.status, response.getheader("x-feature-source") or ""


def latency(work: Path, requests: int) -> None:
    """Part 1: the server with and without the lookup, and the raw call."""
    env = _env()
    project = _render(work / "latency", "feast")
    _run(["make", "install"], project, env)
    _run(["make", "pipeline"], project, env)
    rows = subprocess.run(
        [
            ".venv/bin/python",
            "-c",
            "import json, pandas as pd; from pathlib import Path; "
            f"from {PACKAGE}.config import load_config; "
            f"from {PACKAGE}.feature_store import latest_rows, open_store; "
            "c = load_config(Path('config.toml')); r = Path.cwd().resolve(); "
            "t = latest_rows(open_store(c, r), r).head(200); "
            f"from {PACKAGE}.contract import FEATURES; "
            "print(json.dumps({'keys': list(t.index), "
            "'rows': t[list(FEATURES)].astype(float).values.tolist()}))",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    sample = json.loads(rows.stdout)
    keys, values = sample["keys"], sample["rows"]
    key = "applicant_id"
    raw = subprocess.run(
        [".venv/bin/python", "-c", RAW.format(package=PACKAGE), json.dumps(keys), str(requests)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    raw_times = json.loads(raw.stdout.strip().splitlines()[-1])
    server, port = _start_server(project, env)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        with_features, keys_only = [], []
        statuses: dict[str, int] = {}
        for i in range(requests + 50):
            row = values[i % len(values)]
            by_value = json.dumps(
                {
                    "inputs": [
                        {"name": "input-0", "datatype": "FP64", "shape": [1, len(row)], "data": row}
                    ]
                }
            ).encode()
            by_key = json.dumps(
                {
                    "inputs": [
                        {
                            "name": key,
                            "datatype": "BYTES",
                            "shape": [1],
                            "data": [keys[i % len(keys)]],
                        }
                    ]
                }
            ).encode()
            a, status_a, _ = _post(conn, by_value)
            b, status_b, source = _post(conn, by_key)
            statuses[f"{status_a}"] = statuses.get(f"{status_a}", 0) + 1
            statuses[f"{status_b} {source}"] = statuses.get(f"{status_b} {source}", 0) + 1
            if i >= 50:  # after warm-up
                with_features.append(a)
                keys_only.append(b)
        conn.close()
    finally:
        server.terminate()
        server.wait(30)
    a50, a99 = _percentiles(with_features)
    b50, b99 = _percentiles(keys_only)
    r50, r99 = _percentiles(raw_times)
    print(f"\nonline features: 1 row per request, {requests} requests each, one worker (ms)")
    print(f"{'case':<52}{'p50':>8}{'p99':>8}")
    print(f"{'server, features in the request (no lookup)':<52}{a50:>8.3f}{a99:>8.3f}")
    print(f"{'server, keys only (lookup in the online store)':<52}{b50:>8.3f}{b99:>8.3f}")
    print(f"{'  what the lookup adds to a prediction':<52}{b50 - a50:>8.3f}{b99 - a99:>8.3f}")
    print(f"{'raw get_online_features, SQLite (anchor)':<52}{r50:>8.3f}{r99:>8.3f}")
    print(
        f"{'  server lookup cost / raw call':<52}{(b50 - a50) / r50:>8.2f}{(b99 - a99) / r99:>8.2f}"
    )
    print("Feast's published online-store latencies (ms):")
    for store, p50, p99 in PUBLISHED:
        print(f"{'  ' + store:<52}{p50:>8}{p99:>8}")
    print(f"answers: {statuses}")


def install(work: Path, runs: int) -> None:
    """Part 2: make install with and without the feature store, cold and warm."""
    env = _env()
    python, uv, bootstrap = bootstrap_uv(work, env)
    make = ["make", "install", f"PYTHON={python}", f"UV={uv}"]
    projects = {name: _render(work / f"install-{name}", name) for name in ("none", "feast")}
    times: dict[tuple[str, str], list[float]] = {}
    for run in range(runs):
        for name, project in projects.items():
            cache = work / f"uv-cache-{name}-{run}"
            shutil.rmtree(cache, ignore_errors=True)
            case_env = {**env, "UV_CACHE_DIR": str(cache)}
            for phase in ("cold", "warm"):
                shutil.rmtree(project / ".venv", ignore_errors=True)
                if phase == "cold":
                    (project / "uv.lock").unlink(missing_ok=True)
                command = make if phase == "cold" else [*make, "LOCKED=1"]
                times.setdefault((name, phase), []).append(_run(command, project, case_env))
            shutil.rmtree(cache, ignore_errors=True)
    sizes = {
        name: sum(f.stat().st_size for f in (p / ".venv").rglob("*") if f.is_file()) / 2**20
        for name, p in projects.items()
    }
    anchor = statistics.median(times[("none", "cold")])
    print(f"\nmake install, {runs} run(s) each, median seconds (ratio to none, cold)")
    print(f"uv bootstrap (once, not in the rows): {bootstrap:.1f} s")
    print(
        f"{'feature_store':<16}{'cold s':>8}{'ratio':>7}{'warm s':>8}{'ratio':>7}{'.venv MiB':>11}"
    )
    for name in projects:
        cold = statistics.median(times[(name, "cold")])
        warm = statistics.median(times[(name, "warm")])
        print(
            f"{name:<16}{cold:>8.1f}{cold / anchor:>7.2f}{warm:>8.1f}{warm / anchor:>7.2f}"
            f"{sizes[name]:>11.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=1, help="install runs per case")
    parser.add_argument("--skip-install", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        latency(Path(tmp), args.requests)
        if not args.skip_install:
            install(Path(tmp), args.runs)


if __name__ == "__main__":
    main()
