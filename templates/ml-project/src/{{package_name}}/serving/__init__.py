"""Model server: Open Inference Protocol (V2) and MLflow /invocations, stability patterns on.

Start it with `python -m <package>.serving --help`. The pure predict function used by batch
scoring lives in `predict.py`; MLflow is imported only by `model.py`, at start-up and reload.
"""

from .predict import Predictions, predict_arrays
from .settings import ServeSettings

__all__ = ["Predictions", "ServeSettings", "predict_arrays"]
