"""A BentoML service over the project's fitted pipeline (run in BentoML's venv).

`bentoml serve peer_bentoml:Pipeline --port P` serves `POST /predict` with a JSON body
`{"inputs": [[...], ...]}` (rows in the model's feature order). BENCH_MODEL is the joblib file;
BENCH_WORKERS the worker processes (`@bentoml.service(workers=...)`, BentoML's own setting).
"""

from __future__ import annotations

import os

import bentoml
import joblib
import numpy as np


@bentoml.service(
    workers=int(os.environ.get("BENCH_WORKERS", "1")),
    # BentoML's access log (on by default) writes a line per request; every server here runs
    # without one unless BENCH_ACCESS_LOG says otherwise.
    logging={"access": {"enabled": os.environ.get("BENCH_ACCESS_LOG", "false") == "true"}},
)
class Pipeline:
    """The fitted scikit-learn pipeline: rows in, predicted labels out."""

    def __init__(self) -> None:
        self.model = joblib.load(os.environ["BENCH_MODEL"])

    @bentoml.api
    def predict(self, inputs: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(inputs))
