"""The parity gate: a compiled model that disagrees with scikit-learn is not served, and not an
error either. The reference (scikit-learn) model serves, and the log, the model card line and
the run's metric say so; a compiled model that agrees is attached to the logged model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlplat_runtime import compiled
from mlplat_runtime.transforms import Log1pColumns, SelectFeatures

RNG = np.random.default_rng(7)
X = RNG.normal(size=(400, 3))
Y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)


def fitted(y: np.ndarray) -> Pipeline:
    transform = Pipeline(
        [
            ("select", SelectFeatures(("a", "b", "c"))),
            ("log1p", Log1pColumns(())),
            ("scale", StandardScaler()),
        ]
    )
    return Pipeline([("features", transform), ("model", LogisticRegression())]).fit(X, y)


class Client:
    """The run's MlflowClient, as far as the compile step uses it."""

    def __init__(self) -> None:
        self.attached: list[set[str]] = []

    def log_model_artifacts(self, model_id: str, directory: str) -> None:
        self.attached.append({p.name for p in Path(directory).iterdir()})


@pytest.fixture
def reference(monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    """The logged model the compile step loads (mlflow.sklearn.load_model, without a store)."""
    import mlflow.sklearn

    model = fitted(Y)
    monkeypatch.setattr(mlflow.sklearn, "load_model", lambda uri: model)
    return model


def test_an_exact_compiled_model_is_attached(reference: Pipeline) -> None:
    client = Client()
    artifact = compiled.compile_for_serving(client, "models:/m-1", X)
    assert artifact.runtime == "onnx" and artifact.fallback == ""
    assert client.attached == [{compiled.ONNX_FILE, compiled.PARITY_FILE}]
    assert artifact.card_line.startswith("compiled to ONNX, exact against scikit-learn")


def test_a_compiled_model_that_disagrees_serves_the_reference_instead(
    reference: Pipeline, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A compiled graph that is not the reference: another model's export (labels flipped).
    other = compiled.export_onnx(fitted(1 - Y), 3)

    def export(pipeline: Any, n_features: int) -> bytes:
        return other

    monkeypatch.setattr(compiled, "export_onnx", export)
    client = Client()
    with caplog.at_level(logging.WARNING, logger="mlplat_runtime.compiled"):
        artifact = compiled.compile_for_serving(client, "models:/m-1", X)
    assert artifact.runtime == "sklearn" and artifact.fallback == "parity"
    assert client.attached == [], "nothing compiled is attached to the model"
    assert "label mismatch" in artifact.detail and "served through scikit-learn" in artifact.detail
    assert artifact.tag.startswith("sklearn (parity gate:")
    assert artifact.card_line.startswith("scikit-learn, the reference model (parity gate:")
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("serving fallback: parity gate:")
    assert "nothing in the project needs changing" in line
    assert "converter" not in line, "no advice to edit converters"


def test_a_model_without_converter_serves_the_reference(
    reference: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    def export(pipeline: Any, n_features: int) -> bytes:
        raise compiled.NotConvertible("no converter for MyStep")

    monkeypatch.setattr(compiled, "export_onnx", export)
    artifact = compiled.compile_for_serving(Client(), "models:/m-1", X)
    assert (artifact.runtime, artifact.fallback) == ("sklearn", "not-convertible")
    assert "MyStep" in artifact.detail
