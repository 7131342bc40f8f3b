"""Model server: Open Inference Protocol (V2) and MLflow /invocations, stability patterns on.

Start it with `python -m <package>.serving --help`. `http.py` is the transport, `app.py` the core,
`exchange.py` the small interface between them; the model call (`LoadedModel.predict`, compiled
to ONNX when the registered model carries it) is shared with batch scoring. MLflow is imported
only by `model.py`, at start-up and reload.
"""

from .predict import Predictions, predict_arrays
from .settings import ServeSettings

__all__ = ["Predictions", "ServeSettings", "predict_arrays"]
