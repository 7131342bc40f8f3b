"""The other servers `run.py` compares ours with, each on the project's same fitted pipeline.

- `mlflow models serve` in the project's own environment (`/invocations`, `dataframe_split`);
- MLServer 1.7 with its scikit-learn runtime (OIP V2, `parallel_workers: N`);
- KServe's own Python model server (`peer_kserve.py`, OIP V2, `--workers N`);
- BentoML (`peer_bentoml.py`, `bentoml serve`, `workers=N`);
- LitServe (`peer_litserve.py`, `workers_per_device=N`).

Each library but mlflow gets its own virtual environment, built once from PyPI and cached under
`--venv-cache` (default `${XDG_CACHE_HOME:-~/.cache}/mlplat/bench-serving`), keyed by its pins
and the project's scikit-learn version (pinned, so the pickled pipeline loads). The pipeline's
own classes come from the project's `mlplat_runtime` package, copied beside the model
(`work/pythonpath`), not installed: the peers see the model, not the project's environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proc import HOST, Server, get, sh

#: Each peer's PyPI pins (scikit-learn is added, at the project's version). pandas where the
#: library does not bring it: the pipeline's transforms (`mlplat_runtime.transforms`) import it.
PINS: dict[str, list[str]] = {
    "mlserver": ["mlserver>=1.7,<1.8", "mlserver-sklearn>=1.7,<1.8", "uvloop<0.22"],
    "kserve": ["kserve>=0.21,<0.22"],
    "bentoml": ["bentoml>=1.4.40,<1.5", "pandas>=2.1"],
    "litserve": ["litserve>=0.2.19,<0.3", "pandas>=2.1"],
}
HERE = Path(__file__).resolve().parent


def default_cache() -> Path:
    """Where the peers' environments live between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlplat" / "bench-serving"


def _size_mib(path: Path) -> float:
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 2**20


def peer_venv(peer: str, sklearn: str, cache: Path) -> tuple[Path, dict[str, Any]]:
    """The peer's virtual environment, built on first use; (path, facts about its install).

    `bench-install.json` is written last: a directory without it is an interrupted install, and
    is built again rather than taken for a cached one. Building removes the peer's environments
    of other pins, so the cache holds one per peer.
    """
    pins = [*PINS[peer], f"scikit-learn=={sklearn}"]
    key = hashlib.sha256(json.dumps([sys.version_info[:2], pins]).encode()).hexdigest()[:10]
    venv = cache / f"{peer}-{key}"
    facts_file = venv / "bench-install.json"
    if not facts_file.exists():
        for stale in cache.glob(f"{peer}-*"):  # older pins: this cache holds one per peer
            shutil.rmtree(stale, ignore_errors=True)
        cache.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        sh([sys.executable, "-m", "venv", str(venv)])
        sh([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *pins])
        seconds = time.monotonic() - start
        facts = {"pins": pins, "install_s": round(seconds, 1), "size_mib": round(_size_mib(venv))}
        facts_file.write_text(json.dumps(facts))
    return venv, json.loads(facts_file.read_text()) | {"path": str(venv)}


@dataclass(frozen=True)
class Context:
    """What every peer needs: the project, the exported model and where to put logs."""

    project: Path
    work: Path
    info: dict[str, Any]
    env: dict[str, str]
    cache: Path

    @property
    def model_file(self) -> Path:
        return self.work / "export" / "model.joblib"

    def peer_env(self) -> dict[str, str]:
        """The environment of a peer: the pipeline's classes on the path, no telemetry."""
        return self.env | {
            "PYTHONPATH": f"{self.work / 'pythonpath'}{os.pathsep}{HERE}",
            "BENCH_MODEL": str(self.model_file),
            "BENTOML_DO_NOT_TRACK": "true",
            "BENTOML_HOME": str(self.work / "bentoml-home"),
        }


def prepare(ctx: Context, peers: list[str]) -> dict[str, dict[str, Any]]:
    """Build (or find) the peers' environments and stage the pipeline's classes for them.

    The project's `mlplat_runtime` package is copied beside the model: the pickled pipeline
    names its transforms, and the peers must not see the rest of the project's environment.
    """
    dest = ctx.work / "pythonpath" / "mlplat_runtime"
    if not dest.exists():
        shutil.copytree(Path(ctx.info["runtime_package"]), dest)
    venvs = {p: peer_venv(p, ctx.info["sklearn"], ctx.cache)[1] for p in peers if p in PINS}
    for peer, facts in venvs.items():
        size, took = facts["size_mib"], facts["install_s"]
        print(f"   {peer} venv: {facts['path']} ({size} MiB, installed in {took} s)", flush=True)
    return venvs


def mlflow(ctx: Context, workers: int, port: int) -> Server:
    cmd = [str(ctx.project / ".venv" / "bin" / "mlflow"), "models", "serve", "-m"]
    cmd += [f"models:/{ctx.info['name']}@champion", "--env-manager", "local", "-h", HOST]
    cmd += ["-p", str(port), "--workers", str(workers)]
    return Server(
        "mlflow",
        cmd,
        lambda: get(f"http://{HOST}:{port}/ping")[0] == 200,
        cwd=ctx.project,
        env=ctx.env | {"UVICORN_ACCESS_LOG": "false"},  # mlflow runs the uvicorn CLI
        log=ctx.work / f"mlflow-{workers}.log",
    )


def mlserver(ctx: Context, workers: int, port: int) -> Server:
    venv, _ = peer_venv("mlserver", ctx.info["sklearn"], ctx.cache)
    root = ctx.work / f"mlserver-{workers}"
    model_dir = root / str(ctx.info["name"])
    model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(ctx.model_file, model_dir / "model.joblib")
    settings = {
        "name": ctx.info["name"],
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": str(ctx.info["version"])},
    }
    (model_dir / "model-settings.json").write_text(json.dumps(settings))
    server_settings = {
        "host": HOST,
        "http_port": port,
        "grpc_port": port + 1,
        "metrics_port": port + 2,
        "parallel_workers": workers,
        "debug": False,  # MLServer's default (True) writes an access log line per request
    }
    (root / "settings.json").write_text(json.dumps(server_settings))
    url = f"http://{HOST}:{port}/v2/models/{ctx.info['name']}/ready"
    return Server(
        "mlserver",
        [str(venv / "bin" / "mlserver"), "start", str(root)],
        lambda: get(url)[0] == 200,
        cwd=root,
        env=ctx.peer_env(),
        log=ctx.work / f"mlserver-{workers}.log",
    )


def _quiet_access(ctx: Context) -> Path:
    """A logging config for KServe's `--log_config_file`: its default, less the access log.

    uvicorn skips formatting an access line when `uvicorn.access` is above INFO.
    """
    path = ctx.work / "kserve-logging.json"
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
        "loggers": {
            "kserve": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        },
    }
    path.write_text(json.dumps(config))
    return path


def kserve(ctx: Context, workers: int, port: int) -> Server:
    venv, _ = peer_venv("kserve", ctx.info["sklearn"], ctx.cache)
    cmd = [str(venv / "bin" / "python"), str(HERE / "peer_kserve.py")]
    cmd += ["--model_name", str(ctx.info["name"]), "--model_path", str(ctx.model_file)]
    cmd += ["--http_port", str(port), "--workers", str(workers), "--enable_grpc", "false"]
    cmd += ["--enable_latency_logging", "false", "--log_config_file", str(_quiet_access(ctx))]
    url = f"http://{HOST}:{port}/v2/models/{ctx.info['name']}/ready"
    return Server(
        "kserve",
        cmd,
        lambda: get(url)[0] == 200,
        cwd=ctx.work,
        env=ctx.peer_env(),
        log=ctx.work / f"kserve-{workers}.log",
    )


def bentoml(ctx: Context, workers: int, port: int) -> Server:
    venv, _ = peer_venv("bentoml", ctx.info["sklearn"], ctx.cache)
    cmd = [str(venv / "bin" / "bentoml"), "serve", "peer_bentoml:Pipeline", "--host", HOST]
    cmd += ["--port", str(port)]
    return Server(
        "bentoml",
        cmd,
        lambda: get(f"http://{HOST}:{port}/readyz")[0] == 200,
        cwd=HERE,
        env=ctx.peer_env() | {"BENCH_WORKERS": str(workers), "BENCH_ACCESS_LOG": "false"},
        log=ctx.work / f"bentoml-{workers}.log",
    )


def litserve(ctx: Context, workers: int, port: int) -> Server:
    venv, _ = peer_venv("litserve", ctx.info["sklearn"], ctx.cache)
    cmd = [str(venv / "bin" / "python"), str(HERE / "peer_litserve.py"), "--port", str(port)]
    cmd += ["--workers", str(workers)]
    return Server(
        "litserve",
        cmd,
        lambda: get(f"http://{HOST}:{port}/health")[0] == 200,
        cwd=ctx.work,
        env=ctx.peer_env(),
        log=ctx.work / f"litserve-{workers}.log",
    )


def request(ctx: Context, peer: str, port: int, v2: str, split: str) -> tuple[str, str]:
    """The 1-row request each peer takes, (url, body): `v2` and `split` are ours."""
    base = f"http://{HOST}:{port}"
    if peer == "mlflow":
        return f"{base}/invocations", split
    if peer in ("mlserver", "kserve"):
        return f"{base}/v2/models/{ctx.info['name']}/infer", v2
    return f"{base}/predict", json.dumps({"inputs": ctx.info["rows"][:1]})


STARTERS = {
    "mlflow": mlflow,
    "mlserver": mlserver,
    "kserve": kserve,
    "bentoml": bentoml,
    "litserve": litserve,
}

__all__ = ["PINS", "STARTERS", "Context", "default_cache", "peer_venv", "prepare", "request"]
