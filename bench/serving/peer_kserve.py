"""KServe's own Python model server over the project's fitted pipeline (run in KServe's venv).

The shape of KServe's `sklearnserver`: a `kserve.Model` subclass that loads the pickled pipeline
and predicts through `kserve.utils.utils.get_predict_input`/`get_predict_response`, started with
`kserve.ModelServer().start([model])`. Every flag of KServe's own CLI applies (`--http_port`,
`--workers`, `--enable_grpc`, ...); `--model_path` names the joblib file. It serves OIP V2 at
`/v2/models/<name>/infer`; with `--workers N > 1` KServe spawns N uvicorn processes.
"""

from __future__ import annotations

import argparse
from typing import Any

import joblib
import kserve
from kserve.utils.utils import get_predict_input, get_predict_response


class Pipeline(kserve.Model):  # type: ignore[misc]
    """The fitted scikit-learn pipeline, predicting labels as KServe's sklearnserver does."""

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self.path = path
        self.ready = False

    def load(self) -> bool:
        self._model = joblib.load(self.path)
        self.ready = True
        return self.ready

    def predict(self, payload: Any, headers: dict[str, str] | None = None) -> Any:
        instances = get_predict_input(payload)
        return get_predict_response(payload, self._model.predict(instances), self.name)


parser = argparse.ArgumentParser(parents=[kserve.model_server.parser])
parser.add_argument("--model_path", required=True, help="the fitted pipeline (joblib)")
args, _ = parser.parse_known_args()

if __name__ == "__main__":
    if args.configure_logging:  # as KServe's sklearnserver starts: logging before the model
        kserve.logging.configure_logging(args.log_config_file)
    model = Pipeline(args.model_name, args.model_path)
    model.load()
    kserve.ModelServer().start([model])
