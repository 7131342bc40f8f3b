"""Print the served model's facts as JSON; `run.py` runs it with the project's Python.

Usage: model_info.py PACKAGE EXPORT_DIR. Writes EXPORT_DIR/model.joblib (the fitted pipeline, for
the peers in `peers.py`) and times one 1-row model call, the contract check included,
compiled and through sklearn (median of 3,000 calls after 300 warm-up calls).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def median_us(fn: Callable[[], Any]) -> float:
    """Median wall time of one call of `fn`, in microseconds."""
    for _ in range(300):
        fn()
    calls = []
    for _ in range(3000):
        start = time.perf_counter()
        fn()
        calls.append(time.perf_counter() - start)
    return 1e6 * sorted(calls)[len(calls) // 2]


def main() -> None:
    """Load the champion as the server does and print what the benchmark needs."""
    import joblib
    import sklearn

    pkg, export = sys.argv[1], Path(sys.argv[2])

    def mod(name: str) -> Any:
        # The server, the compile step and MLflow's location are the runtime's (mlplat-runtime).
        if name.startswith(("serving.", "tracking")):
            return importlib.import_module(f"mlplat_runtime.{name}")
        return importlib.import_module(f"{pkg}.{name}")

    contract, config, datasets = mod("contract"), mod("config"), mod("datasets")
    resilience, model_mod = mod("serving.resilience"), mod("serving.model")
    cfg = config.load_config()
    mlflow = mod("tracking").configure()
    name = cfg.registry.model_name
    version = mlflow.MlflowClient().get_model_version_by_alias(name, "champion").version
    model = model_mod.load_model(
        f"models:/{name}/{version}",
        default_name=name,
        features=tuple(contract.FEATURES),
        key=contract.KEY or "key",
        check=mod("serving.guard").contract_check(contract.CONTRACT),
        breaker=resilience.CircuitBreaker("registry"),
        policy=resilience.RetryPolicy(attempts=1),
    )
    export.mkdir(parents=True, exist_ok=True)
    joblib.dump(model.estimator, export / "model.joblib")
    frame = datasets.load_source(cfg.data.source, root=Path.cwd(), n_rows=cfg.data.n_rows)
    rows = frame[list(contract.FEATURES)].iloc[:5].astype(float).to_numpy()
    one = rows[:1]
    predict_arrays = mod("serving.predict").predict_arrays
    facts = {
        "name": name,
        "version": version,
        "features": list(contract.FEATURES),
        "rows": rows.tolist(),
        "sklearn": sklearn.__version__,
        "runtime_package": str(Path(importlib.import_module("mlplat_runtime").__file__).parent),
        "runtime": model.runtime,
        "call_us": median_us(lambda: (model.check(one), model.predict(one))),
        "sklearn_call_us": median_us(
            lambda: (contract.check_batch(one), predict_arrays(model.estimator, one))
        ),
    }
    print(json.dumps(facts))


if __name__ == "__main__":
    main()
