"""The model compiled for serving: the fitted pipeline as ONNX, run by ONNX Runtime.

Why: the fitted scikit-learn pipeline costs hundreds of microseconds per call whatever the batch
size (input validation, Python dispatch per step); the same graph in ONNX Runtime costs about ten.
``register`` exports the pipeline with :func:`export_onnx`, checks it against scikit-learn on the
test split with :func:`check_parity`, and attaches it to the logged model only when the two agree
(:func:`compile_for_serving`). Serving and batch scoring then run :class:`CompiledModel`; a model
that cannot be converted, or whose compiled form fails the parity gate, serves through
scikit-learn (the reference), said in the log, the model card and the run's metrics.

Everything is computed in float64 end to end, so parity is exact up to rounding: the runtime's
numpy steps (``SelectFeatures``, ``Log1pColumns``) get converters here, and so do the histogram
gradient-boosting models, whose stock skl2onnx converter emits float32 trees (thresholds rounded
to float32 send rows near a split down the other branch).
"""

from __future__ import annotations

__all__ = [
    "ONNX_FILE",
    "PARITY_FILE",
    "PROBA_TOLERANCE",
    "REGRESSION_TOLERANCE",
    "CompiledModel",
    "NotConvertible",
    "Parity",
    "ServingArtifact",
    "check_parity",
    "class_labels",
    "compile_for_serving",
    "export_onnx",
    "refuse_typed",
]

import json
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import NotConvertible
from .serving.predict import Predictions, predict_arrays
from .transforms import SelectFeatures

log = logging.getLogger(__name__)

ONNX_FILE = "serving.onnx"
PARITY_FILE = "serving-parity.json"
PROBA_TOLERANCE = 1e-6
REGRESSION_TOLERANCE = 1e-6
_INPUT = "input"
# skl2onnx 1.20 tops out at ai.onnx.ml 3; the tree converter needs 5 (TreeEnsemble with float64
# splits and leaves), so the model is converted at 3 and its ml opset raised after the checker's
# approval (the other ml operators skl2onnx emits, ArrayFeatureExtractor for one, are as in 5).
_OPSET = {"": 18, "ai.onnx.ml": 3}
ML_OPSET = 5


class CompiledModel:
    """One ONNX Runtime session on one thread: the serving form of a fitted pipeline.

    A single-threaded session per worker process: the server already runs one worker per core,
    and ONNX Runtime's own thread pool would only compete with them.

    Args:
        onnx: the serialized model from :func:`export_onnx`.
        classes: the class labels of a classifier (in probability column order), else None.
    """

    def __init__(self, onnx: bytes, *, classes: Sequence[Any] | None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._classifier = len(self._session.get_outputs()) == 2
        self.classes = list(classes) if classes is not None else None
        if self._classifier and self.classes is None:
            raise ValueError("a compiled classifier needs its class labels")

    def predict(self, features: np.ndarray) -> Predictions:
        """Predict for a float64 matrix [N, F] in the model's feature order."""
        out = self._session.run(None, {self._input: features})
        if self._classifier:
            return Predictions(predict=out[0], proba=out[1], classes=self.classes)
        return Predictions(predict=out[0].reshape(-1), proba=None, classes=None)


@dataclass(frozen=True, kw_only=True)
class Parity:
    """How far the compiled model is from scikit-learn on the same rows.

    Attributes:
        rows: rows compared.
        label_mismatches: rows whose predicted class differs (classifiers; 0 for regression).
        max_proba_diff: the largest absolute difference of a class probability.
        max_relative_diff: the largest difference of a regression output, relative to the
            sklearn value (absolute where that is below 1, so values near zero do not explode).
    """

    rows: int
    label_mismatches: int = 0
    max_proba_diff: float = 0.0
    max_relative_diff: float = 0.0

    @property
    def passed(self) -> bool:
        """Classes equal, probabilities within 1e-6, regression outputs within 1e-6 relative."""
        return (
            self.rows > 0
            and self.label_mismatches == 0
            and self.max_proba_diff <= PROBA_TOLERANCE
            and self.max_relative_diff <= REGRESSION_TOLERANCE
        )

    def describe(self) -> str:
        """One line for logs, tags and error messages."""
        return (
            f"{self.rows} rows, {self.label_mismatches} label mismatches, max |dp| "
            f"{self.max_proba_diff:.1e}, max relative diff {self.max_relative_diff:.1e}"
        )


def _diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    both_nan = np.isnan(a) & np.isnan(b)
    return np.where(both_nan, 0.0, np.abs(a - b))


def check_parity(pipeline: Any, compiled: CompiledModel, features: np.ndarray) -> Parity:
    """Compare the compiled model with the fitted pipeline on `features` (float64 [N, F])."""
    expected = predict_arrays(pipeline, features)
    got = compiled.predict(features)
    rows = int(features.shape[0])
    if expected.proba is not None:
        if got.proba is None or got.proba.shape != expected.proba.shape:
            return Parity(rows=rows, label_mismatches=rows, max_proba_diff=float("inf"))
        mismatches = int(np.sum(np.asarray(got.predict) != np.asarray(expected.predict)))
        proba = _diff(np.asarray(got.proba, np.float64), expected.proba)
        return Parity(
            rows=rows,
            label_mismatches=mismatches,
            max_proba_diff=float(proba.max(initial=0.0)),
        )
    want = np.asarray(expected.predict, dtype=np.float64)
    have = np.asarray(got.predict, dtype=np.float64).reshape(want.shape)
    relative = _diff(have, want) / np.maximum(np.abs(want), 1.0)
    return Parity(rows=rows, max_relative_diff=float(relative.max(initial=0.0)))


def class_labels(pipeline: Any) -> list[Any] | None:
    """The final estimator's class labels as plain Python values, or None for a regressor."""
    final = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    classes = getattr(final, "classes_", None)
    if classes is None:
        return None
    return [c.item() if hasattr(c, "item") else c for c in classes]


def _head(pipeline: Any) -> Any:
    step = pipeline
    while (steps := getattr(step, "steps", None)) is not None:
        step = steps[0][1]
    return step


def _model_input(pipeline: Any, features: Any) -> np.ndarray:
    """The float64 model matrix of ``features`` (a frame goes through the pipeline's select)."""
    if isinstance(features, np.ndarray):
        return features
    head = _head(pipeline)
    if isinstance(head, SelectFeatures):
        return np.asarray(head.transform(features), dtype=np.float64)
    return np.asarray(features, dtype=np.float64)


def refuse_typed(pipeline: Any) -> None:
    """Refuse, by name, a pipeline with text or date encoders: it serves through scikit-learn.

    Why not convert: the server already hands the model category codes and date seconds, so an
    ONNX graph would need exact one-hot and calendar arithmetic (civil dates from seconds) to
    match; until those converters exist with their parity tests, scikit-learn serves the model.

    Raises:
        NotConvertible: The pipeline has a ``SelectFeatures`` with text or date features.
    """
    head = _head(pipeline)
    if isinstance(head, SelectFeatures) and head.typed:
        kinds = [
            *(f"one-hot text '{name}'" for name in head.text or {}),
            *(f"date parts of '{name}'" for name in head.dates),
        ]
        raise NotConvertible(
            f"ExpandColumns ({', '.join(kinds)}) has no ONNX converter; the scikit-learn "
            "pipeline serves, with the same encoding as training"
        )


def export_onnx(pipeline: Any, n_features: int) -> bytes:
    """Export a fitted pipeline taking a float64 [N, n_features] matrix to ONNX (float64).

    Raises:
        NotConvertible: a step has no converter, or skl2onnx cannot convert it.
    """
    refuse_typed(pipeline)
    try:
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import DoubleTensorType
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise NotConvertible(f"skl2onnx is not installed ({exc})") from None
    from . import _onnx_converters

    _onnx_converters.register()
    pipeline = _onnx_converters.fold_transform_into_trees(pipeline, n_features) or pipeline
    final = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    options = {id(final): {"zipmap": False}} if hasattr(final, "predict_proba") else None
    try:
        model = convert_sklearn(
            pipeline,
            initial_types=[(_INPUT, DoubleTensorType([None, n_features]))],
            options=options,
            target_opset=_OPSET,
        )
    except NotConvertible:
        raise
    except Exception as exc:  # skl2onnx raises many types for "no converter for this"
        raise NotConvertible(f"{type(exc).__name__}: {str(exc)[:300]}") from None
    for opset in model.opset_import:
        if opset.domain == "ai.onnx.ml":
            opset.version = max(opset.version, ML_OPSET)
    try:
        import onnx

        onnx.checker.check_model(model)
    except Exception as exc:
        raise NotConvertible(f"the exported graph is not valid ONNX: {exc}") from None
    data: bytes = model.SerializeToString()
    return data


@dataclass(frozen=True, kw_only=True)
class ServingArtifact:
    """What ``register`` attached to the model for serving.

    Attributes:
        runtime: ``"onnx"`` when the compiled model is attached, else ``"sklearn"``.
        detail: the parity numbers, or why the model serves through scikit-learn.
        fallback: why the reference (scikit-learn) model serves instead of a compiled one:
            ``"parity"`` (the compiled model disagrees with it), ``"not-convertible"``, or
            ``""`` when the compiled model serves.
    """

    runtime: str
    detail: str
    fallback: str = ""

    @property
    def tag(self) -> str:
        """The registry tag value: ``onnx (parity: ...)`` or ``sklearn (...)``."""
        return f"{self.runtime} ({self.detail})"[:500]

    @property
    def card_line(self) -> str:
        """The model card's line on how this version serves."""
        if self.runtime == "onnx":
            return f"compiled to ONNX, exact against scikit-learn ({self.detail})"
        return f"scikit-learn, the reference model ({self.detail})"


def compile_for_serving(client: Any, model_uri: str, features: Any) -> ServingArtifact:
    """Export the logged model, gate it on parity with `features`, attach it to the model.

    Args:
        client: the run's MlflowClient.
        model_uri: the logged model (``models:/m-...``) as written by ``train``.
        features: the test split: its feature matrix (float64, contract order), or the frame,
            which the model's own ``SelectFeatures`` turns into that matrix.

    Returns:
        What was attached. A model that cannot be converted, or whose compiled form disagrees
        with scikit-learn on the test split (the parity gate), serves through scikit-learn:
        reported in the result (``fallback``) and the log, never an error.
    """
    import mlflow.sklearn

    pipeline = mlflow.sklearn.load_model(model_uri)
    classes = class_labels(pipeline)
    try:
        features = _model_input(pipeline, features)
        onnx = export_onnx(pipeline, int(features.shape[1]))
        compiled = CompiledModel(onnx, classes=classes)
    except NotConvertible as exc:
        log.warning("the model cannot be compiled to ONNX; it will serve through sklearn: %s", exc)
        return ServingArtifact(
            runtime="sklearn", detail=f"not convertible: {exc}", fallback="not-convertible"
        )
    parity = check_parity(pipeline, compiled, features)
    if not parity.passed:
        detail = (
            f"parity gate: the compiled model disagrees on the test split ({parity.describe()}; "
            f"allowed: no label mismatch, |dp| <= {PROBA_TOLERANCE:g}, relative <= "
            f"{REGRESSION_TOLERANCE:g}); served through scikit-learn"
        )
        log.warning(
            "serving fallback: %s. The model is registered and served as trained, through "
            "scikit-learn; nothing in the project needs changing.",
            detail,
        )
        return ServingArtifact(runtime="sklearn", detail=detail, fallback="parity")
    model_id = model_uri.removeprefix("models:/")
    if model_id == model_uri or "/" in model_id:
        return ServingArtifact(runtime="sklearn", detail=f"cannot attach to {model_uri}")
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, ONNX_FILE).write_bytes(onnx)
        Path(tmp, PARITY_FILE).write_text(json.dumps(asdict(parity) | {"passed": True}))
        client.log_model_artifacts(model_id, tmp)
    return ServingArtifact(runtime="onnx", detail=f"parity on the test split: {parity.describe()}")
