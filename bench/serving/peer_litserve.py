"""A LitServe API over the project's fitted pipeline (run in LitServe's venv).

`python peer_litserve.py --port P --workers N` serves `POST /predict` with a JSON body
`{"inputs": [[...], ...]}` on 127.0.0.1; BENCH_MODEL is the joblib file. Workers are LitServe's
`workers_per_device` on the CPU.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import joblib
import litserve as ls
import numpy as np


class Pipeline(ls.LitAPI):  # type: ignore[misc]
    """The fitted scikit-learn pipeline: rows in, predicted labels out."""

    def setup(self, device: str) -> None:
        self.model = joblib.load(os.environ["BENCH_MODEL"])

    # Unannotated on purpose: LitServe builds the endpoint from this signature, and a
    # `dict` annotation makes FastAPI look for `request` in the query string (422).
    def decode_request(self, request):  # type: ignore[no-untyped-def]
        return np.asarray(request["inputs"], dtype=np.float64)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(x))

    def encode_response(self, output: np.ndarray) -> dict[str, Any]:
        return {"predictions": output.tolist()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    server = ls.LitServer(Pipeline(), accelerator="cpu", workers_per_device=args.workers)
    # No access log line per request (log_level), as every other server here runs.
    server.run(host="127.0.0.1", port=args.port, log_level="warning", generate_client_file=False)
