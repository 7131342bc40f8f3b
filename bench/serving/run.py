"""Serving benchmark: our server vs `mlflow models serve` vs MLServer 1.7, same model, same load.

It generates a project from templates/ml-project (Copier, defaults), installs it (`make install`),
trains and registers its model (`make pipeline`), then runs each server in turn on 127.0.0.1 and
loads it with wrk: 1-row requests over 16 connections, then an overload run (256+ connections)
counting 200s, 503s and timeouts. MLServer runs in its own virtual environment (created on first
use; `uvloop<0.22`, newer versions crash its workers) with its scikit-learn runtime on the same
fitted pipeline.

Run:  /work/main/.venv/bin/python bench/serving/run.py            (about 10 minutes)
      ... --project DIR     reuse a generated project that ran `make install` and `make pipeline`
      ... --only ours       one server; --duration S; --connections N; --overload 256,1024
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TEMPLATE = REPO / "templates" / "ml-project"
HOST = "127.0.0.1"

INFO = r"""
import json, sys
from pathlib import Path
import joblib, sklearn
from {pkg} import contract, tracking
from {pkg}.config import load_config
from {pkg}.datasets import load_source
cfg = load_config()
mlflow = tracking.configure()
import mlflow.sklearn
name = cfg.registry.model_name
version = mlflow.MlflowClient().get_model_version_by_alias(name, "champion").version
out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
joblib.dump(mlflow.sklearn.load_model(f"models:/{{name}}/{{version}}"), out / "model.joblib")
frame = load_source(cfg.data.source, root=Path.cwd(), n_rows=cfg.data.n_rows)
row = frame[list(contract.FEATURES)].iloc[0].astype(float).tolist()
import time, numpy as np
from {pkg}.serving.predict import predict_arrays
model = mlflow.sklearn.load_model(f"models:/{{name}}/{{version}}")
one = np.asarray([row])
calls = []
for _ in range(300):
    start = time.perf_counter()
    predict_arrays(model, one)
    contract.check_batch(one)
    calls.append(time.perf_counter() - start)
print(json.dumps({{"name": name, "version": version, "features": list(contract.FEATURES),
                  "row": row, "sklearn": sklearn.__version__,
                  "call_ms": 1000 * sorted(calls)[len(calls) // 2]}}))
"""


def sh(cmd: list[str], **kw: object) -> str:
    print("$", " ".join(str(c) for c in cmd), flush=True)
    done = subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)  # type: ignore[call-overload]
    return str(done.stdout)


def generate(work: Path) -> Path:
    import copier

    dest = work / "project"
    copier.run_copy(str(TEMPLATE), str(dest), defaults=True, unsafe=False, quiet=True)
    sh(["make", "install"], cwd=dest)
    sh(["make", "pipeline"], cwd=dest)
    return dest


def package_name(project: Path) -> str:
    answers = (project / ".copier-answers.yml").read_text()
    found = re.search(r"^package_name:\s*(\S+)", answers, re.M)
    if found:
        return found[1].strip("'\"")
    return next(p.name for p in (project / "src").iterdir() if (p / "serving").is_dir())


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


class Server:
    """A server process with a log file, started and stopped around one benchmark."""

    def __init__(
        self, name: str, cmd: list[str], ready: object, *, cwd: Path, env: dict[str, str], log: Path
    ) -> None:
        self.name, self.cmd, self.ready, self.cwd, self.env, self.log = (
            name,
            cmd,
            ready,
            cwd,
            env,
            log,
        )

    def __enter__(self) -> Server:
        print(f"== {self.name}: {' '.join(self.cmd)}", flush=True)
        self.handle = self.log.open("w")
        # Own process group (killed as one) but the same session: a new session would get its own
        # scheduler autogroup on Linux and be given half the CPU against wrk, skewing every result.
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=self.cwd,
            env=self.env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        deadline = time.monotonic() + 300
        while not self.ready():  # type: ignore[operator]
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not become ready; see {self.log}")
            time.sleep(0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.handle.close()


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str,
    body: str,
    *,
    deadline_ms: int | None = None,
    connections: int,
    duration: int,
    script: Path,
    timeout_s: int = 2,
    threads: int = 2,
) -> dict[str, float]:
    env = os.environ | {"BODY": body}
    if deadline_ms:
        env["DEADLINE_MS"] = str(deadline_ms)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        f"--timeout={timeout_s}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(cmd, check=True, text=True, capture_output=True, env=env).stdout
    res: dict[str, float] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])}  # type: ignore[index]
    for pct in ("50", "99"):
        res[f"p{pct}"] = _ms(re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)[1])  # type: ignore[index]
    res["non2xx"] = float(m[1]) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = float(sum(int(g) for g in errs.groups()[:3])) if errs else 0
    res["timeouts"] = float(errs[4]) if errs else 0
    res["requests"] = float(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    for status, n in re.findall(r"^STATUS (\d+) (\d+)$", out, re.M):
        res[f"s{status}"] = float(n)
    return res


def measure(
    url: str, body: str, args: argparse.Namespace, label: str, *, deadlines: bool = False
) -> dict[str, object]:
    simple = HERE / "post.lua"
    wrk(url, body, connections=args.connections, duration=3, script=simple)  # warm-up
    res = wrk(url, body, connections=args.connections, duration=args.duration, script=simple)
    print(
        f"   {label}: {res['rps']:.0f} req/s  p50 {res['p50']:.2f} ms  p99 {res['p99']:.2f} ms  "
        f"non-2xx {res['non2xx']:.0f}",
        flush=True,
    )
    overload = []
    runs = [(conns, None) for conns in args.overload]
    if deadlines and args.client_deadline_ms:  # clients that give up early: shedding shows
        runs.append((max(args.overload), args.client_deadline_ms))
    for conns, deadline in runs:
        o = wrk(
            url,
            body,
            connections=conns,
            duration=args.duration,
            script=HERE / "overload.lua",
            deadline_ms=deadline,
        )
        o["connections"] = conns
        o["deadline_ms"] = deadline or 0
        overload.append(o)
        print(
            f"   overload c={conns} deadline={deadline}: {o['rps']:.0f} req/s, "
            f"200={o.get('s200', 0):.0f} "
            f"503={o.get('s503', 0):.0f} timeouts={o['timeouts']:.0f} "
            f"p99 {o['p99']:.1f} ms",
            flush=True,
        )
    return {"server": label, **res, "overload": overload}


def bench_ours(
    py: Path,
    pkg: str,
    info: dict[str, object],
    body: str,
    workers: int,
    port: int,
    project: Path,
    env: dict[str, str],
    work: Path,
    args: argparse.Namespace,
    split: str | None,
) -> list[dict[str, object]]:
    cmd = [
        str(py),
        "-m",
        f"{pkg}.serving",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-dir",
        str(work / "predictions"),
    ]

    def ready() -> bool:
        status, text = get(f"http://{HOST}:{port}/metrics")
        found = re.findall(r'^model_server_ready\{worker="\d+"\} (\S+)$', text.decode(), re.M)
        return status == 200 and sum(float(r) for r in found) == workers

    plural = "s" if workers > 1 else ""
    out = []
    with Server("ours", cmd, ready, cwd=project, env=env, log=work / f"ours-{workers}.log"):
        url = f"http://{HOST}:{port}/v2/models/{info['name']}/infer"
        out.append(
            measure(url, body, args, f"ours (OIP, {workers} worker{plural})", deadlines=True)
        )
        if split is not None:  # the MLflow-compatible route, same body as for mlflow serve
            url = f"http://{HOST}:{port}/invocations"
            out.append(measure(url, split, args, f"ours (/invocations, {workers} worker{plural})"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="reuse this generated, trained project")
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--only", choices=["ours", "mlflow", "mlserver"], action="append")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--overload", type=lambda s: [int(x) for x in s.split(",") if x], default=[256]
    )
    parser.add_argument(
        "--workers",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=[1, 2],
        help="our server's worker processes, one run per count",
    )
    parser.add_argument(
        "--client-deadline-ms",
        type=int,
        default=20,
        help="extra overload run of ours with this X-Request-Timeout-Ms (0: none)",
    )
    parser.add_argument("--mlserver-venv", type=Path, help="reuse a venv with mlserver 1.7")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-serving-"))
    work.mkdir(parents=True, exist_ok=True)
    project = (args.project or generate(work)).resolve()
    pkg = package_name(project)
    py = project / ".venv" / "bin" / "python"
    info = json.loads(sh([str(py), "-c", INFO.format(pkg=pkg), str(work / "export")], cwd=project))
    env = os.environ | {
        "PATH": f"{project / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",  # mlflow's uvicorn
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
    }
    n = len(info["features"])
    oip = json.dumps(
        {"inputs": [{"name": "input-0", "shape": [1, n], "datatype": "FP64", "data": info["row"]}]}
    )
    split = json.dumps({"dataframe_split": {"columns": info["features"], "data": [info["row"]]}})
    only = set(args.only or ["ours", "mlflow", "mlserver"])
    results = []
    port = 18080
    for workers in args.workers if "ours" in only else []:
        port += 1
        also = split if workers == max(args.workers) else None
        results += bench_ours(py, pkg, info, oip, workers, port, project, env, work, args, also)
    if "mlflow" in only:
        port += 10
        cmd = [
            str(project / ".venv" / "bin" / "mlflow"),
            "models",
            "serve",
            "-m",
            f"models:/{info['name']}@champion",
            "--env-manager",
            "local",
            "-h",
            HOST,
            "-p",
            str(port),
        ]
        with Server(
            "mlflow",
            cmd,
            lambda: get(f"http://{HOST}:{port}/ping")[0] == 200,
            cwd=project,
            env=env,
            log=work / "mlflow.log",
        ):
            results.append(
                measure(f"http://{HOST}:{port}/invocations", split, args, "mlflow models serve")
            )
    if "mlserver" in only:
        port += 10
        venv = args.mlserver_venv or work / "mlserver-venv"
        if not (venv / "bin" / "mlserver").exists():
            sh([sys.executable, "-m", "venv", str(venv)])
            sh(
                [
                    str(venv / "bin" / "pip"),
                    "install",
                    "--quiet",
                    "mlserver>=1.7,<1.8",
                    "mlserver-sklearn>=1.7,<1.8",
                    "uvloop<0.22",
                    f"scikit-learn=={info['sklearn']}",
                ]
            )
        root = work / "mlserver"
        model_dir = root / info["name"]
        model_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(work / "export" / "model.joblib", model_dir / "model.joblib")
        (model_dir / "model-settings.json").write_text(
            json.dumps(
                {
                    "name": info["name"],
                    "implementation": "mlserver_sklearn.SKLearnModel",
                    "parameters": {"uri": "./model.joblib", "version": str(info["version"])},
                }
            )
        )
        (root / "settings.json").write_text(
            json.dumps(
                {"host": HOST, "http_port": port, "grpc_port": port + 1, "metrics_port": port + 2}
            )
        )
        menv = env | {"PYTHONPATH": str(project / "src")}  # the pipeline's own classes unpickle
        with Server(
            "mlserver",
            [str(venv / "bin" / "mlserver"), "start", str(root)],
            lambda: get(f"http://{HOST}:{port}/v2/models/{info['name']}/ready")[0] == 200,
            cwd=root,
            env=menv,
            log=work / "mlserver.log",
        ):
            url = f"http://{HOST}:{port}/v2/models/{info['name']}/infer"
            results.append(measure(url, oip, args, "MLServer 1.7 (sklearn runtime)"))
    print_table(results)
    print(
        f"model: {info['name']} v{info['version']}; one 1-row model call (transform + predict + "
        f"contract check) takes {info['call_ms']:.2f} ms, most of it fixed per call"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(f"work directory: {work}")


def print_table(results: list[dict[str, object]]) -> None:
    mine = [r for r in results if str(r["server"]).startswith("ours")]
    ours = max(mine, key=lambda r: float(r["rps"]), default=None)  # type: ignore[arg-type]
    print(f"\n1-row requests, 16 connections, wrk, {HOST}")
    print(
        f"| {'server':34} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'non-2xx':>7} "
        f"| ours: x req/s | ours: p99 / |"
    )
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 15}|{'-' * 13}|")
    for r in results:
        speed = f"{float(ours['rps']) / float(r['rps']):.1f}x" if ours else "-"  # type: ignore[arg-type]
        tail = f"{float(ours['p99']) / float(r['p99']):.2f}" if ours else "-"  # type: ignore[arg-type]
        print(
            f"| {r['server']:34} | {r['rps']:8.0f} | {r['p50']:7.2f} | {r['p99']:7.2f} "
            f"| {r['non2xx']:7.0f} | {speed:>13} | {tail:>11} |"
        )
    print("\noverload (closed loop, wrk --timeout 2s)")
    print(
        f"| {'server':34} | {'conns':>5} | {'req/s':>8} | {'200':>8} | {'503':>7} | "
        f"{'other':>6} | {'timeouts':>8} | {'p99 ms':>8} | {'deadline':>8} |"
    )
    print(
        f"|{'-' * 36}|{'-' * 7}|{'-' * 10}|{'-' * 10}|{'-' * 9}|{'-' * 8}|{'-' * 10}|{'-' * 10}"
        f"|{'-' * 10}|"
    )
    for r in results:
        for o in r["overload"]:  # type: ignore[attr-defined]
            other = sum(
                v for k, v in o.items() if re.fullmatch(r"s\d+", k) and k not in ("s200", "s503")
            )
            print(
                f"| {r['server']:34} | {o['connections']:5} | {o['rps']:8.0f} | "
                f"{o.get('s200', 0):8.0f} | {o.get('s503', 0):7.0f} | {other:6.0f} | "
                f"{o['timeouts']:8.0f} | {o['p99']:8.1f} | "
                f"{(str(o['deadline_ms']) + ' ms') if o['deadline_ms'] else 'default':>8} |"
            )


if __name__ == "__main__":
    main()
